import Foundation
import Testing

@testable import IsletBundle

@Suite struct FileDigestTests {
    /// Known answers: the empty file and "abc" (FIPS 180-2), and a file larger than one read block.
    @Test func digestsMatchKnownAnswersAndSpanReadBlocks() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("islet-digest-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data().write(to: URL(fileURLWithPath: path))
        #expect(
            try FileDigest.sha256(ofFileAt: path).digest
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        try Data("abc".utf8).write(to: URL(fileURLWithPath: path))
        #expect(
            try FileDigest.sha256(ofFileAt: path).digest
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // 3 MiB + 5 bytes of "a": the same digest whether hashed whole or in blocks.
        let large = [UInt8](repeating: 0x61, count: 3 << 20 + 5)
        try Data(large).write(to: URL(fileURLWithPath: path))
        var whole = SHA256Stream()
        whole.update(large)
        let result = try FileDigest.sha256(ofFileAt: path)
        #expect(result.digest == whole.hexDigest())
        #expect(result.size == Int64(large.count))
    }

    @Test func aMissingFileNamesItself() {
        #expect(throws: FileDigestError.unreadable(path: "/nonexistent/islet", errno: ENOENT)) {
            try FileDigest.sha256(ofFileAt: "/nonexistent/islet")
        }
    }
}
