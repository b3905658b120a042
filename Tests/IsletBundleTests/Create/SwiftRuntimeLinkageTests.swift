import Foundation
import Testing

@testable import IsletBundle

@Suite struct SwiftRuntimeLinkageTests {
    @Test func findsTheSharedRuntimeAmongTheMappedFiles() {
        let maps = """
            55d0c0a00000-55d0c0a01000 r--p 00000000 fd:01 1234   /usr/local/bin/islet
            7f1c2a000000-7f1c2a200000 r--p 00000000 fd:01 5678   /opt/my swift/usr/lib/swift/linux/libswiftCore.so
            7f1c2b000000-7f1c2b100000 r-xp 00000000 fd:01 9012   /lib/x86_64-linux-gnu/libssh2.so.1
            7ffd6a1f0000-7ffd6a211000 rw-p 00000000 00:00 0      [stack]
            """
        #expect(SwiftRuntimeLinkage.sharedRuntimeFolder(maps: maps) == "/opt/my swift/usr/lib/swift/linux")
    }

    @Test func aBinaryWithTheRuntimeLinkedInMapsNoRuntimeLibrary() {
        let maps = """
            55d0c0a00000-55d0c0a01000 r--p 00000000 fd:01 1234   /usr/local/bin/islet
            7f1c2b000000-7f1c2b100000 r-xp 00000000 fd:01 9012   /lib/x86_64-linux-gnu/libssh2.so.1
            7f1c2c000000-7f1c2c100000 r-xp 00000000 fd:01 9013   /lib/x86_64-linux-gnu/libswiftCore.so.backup
            """
        #expect(SwiftRuntimeLinkage.sharedRuntimeFolder(maps: maps) == nil)
        #expect(SwiftRuntimeLinkage.sharedRuntimeFolder(maps: nil) == nil)
    }

    /// Test bundles always load the runtime as a shared library: the live answer names the folder it is in.
    @Test func theTestProcessLoadsTheSharedRuntime() throws {
        let folder = try #require(SwiftRuntimeLinkage.sharedRuntimeFolder())
        #expect(FileManager.default.fileExists(atPath: folder + "/libswiftCore.so"))
    }
}
