import Foundation
import Testing

@testable import IsletCore

@Suite struct StacksTreeDigestTests {
    /// A tree whose bytewise order differs from a walk's and from a case-blind sort (`Z` < `a-b` < `a/b`), with a
    /// symbolic link and an empty folder that do not count. The expected digest was computed by hand with
    /// `find . -type f | sed 's|^\./||' | LC_ALL=C sort | while read f; do sha256sum "$f"; done | sha256sum`.
    @Test func digestOfAFolderMatchesSha256sumOfItsSortedFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("islet-stacks-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/a", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/empty", withIntermediateDirectories: true)
        try Data("abc".utf8).write(to: URL(fileURLWithPath: folder + "/a/b"))
        try Data().write(to: URL(fileURLWithPath: folder + "/a-b"))
        try Data("x\n".utf8).write(to: URL(fileURLWithPath: folder + "/Z"))
        try FileManager.default.createSymbolicLink(atPath: folder + "/link", withDestinationPath: "Z")
        let expected = "18c37441e3fbb74fd672c94122d8074fb9d358f3b2cbc0115ee35361fea95bff"
        #expect(try StacksTreeDigest.digest(ofFolderAt: folder) == expected)
        let entries = try StacksTreeDigest.entries(ofFolderAt: folder)
        #expect(Set(entries.map(\.path)) == ["a/b", "a-b", "Z"])
        #expect(StacksTreeDigest.digest(of: entries.reversed()) == expected)
        try Data("y\n".utf8).write(to: URL(fileURLWithPath: folder + "/Z"))
        #expect(try StacksTreeDigest.digest(ofFolderAt: folder) != expected)
    }

    @Test func aMissingFolderIsNamed() {
        #expect(throws: FolderTreeError(path: "/nonexistent/stacks", problem: "no such folder")) {
            try StacksTreeDigest.digest(ofFolderAt: "/nonexistent/stacks")
        }
    }
}
