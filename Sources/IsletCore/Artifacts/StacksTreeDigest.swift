import Foundation

/// One digest for a whole stacks folder, recorded in `bundle.json` and compared by `plan --bundle` and
/// `bundle verify`.
///
/// The sha256 of the lines `<sha256 of file>  <path relative to the folder>\n` (what `sha256sum` prints) of every
/// regular file, sorted by path bytewise: the same tree gives the same digest on any machine and whether read
/// from a folder or from a tar, and `find . -type f | sort | xargs sha256sum` reproduces it by hand. Symbolic
/// links and empty folders do not count: stacks are made of regular files.
public enum StacksTreeDigest {
    /// A regular file of the tree: its path relative to the stacks folder and its hex sha256.
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var sha256: String

        public init(path: String, sha256: String) {
            self.path = path
            self.sha256 = sha256
        }
    }

    /// The tree's digest from its files' digests, in any order.
    public static func digest(of entries: [Entry]) -> String {
        let sorted = entries.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        var lines = Data()
        for entry in sorted { lines.append(contentsOf: Array("\(entry.sha256)  \(entry.path)\n".utf8)) }
        return sha256Hex(lines)
    }

    /// The digest of the stacks folder at `folder`.
    /// - Throws: `FolderTreeError` naming a file or folder that cannot be read.
    public static func digest(ofFolderAt folder: String) throws -> String {
        try digest(of: entries(ofFolderAt: folder))
    }

    /// Every regular file under `folder` with its sha256. Stack files are small, so each is mapped and hashed
    /// whole.
    /// - Throws: `FolderTreeError` naming a file or folder that cannot be read.
    public static func entries(ofFolderAt folder: String) throws -> [Entry] {
        try FolderTree.entries(under: folder).filter { $0.kind == .file }.map { file in
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file.path), options: .alwaysMapped)
            } catch {
                throw FolderTreeError(path: folder + "/" + file.path, problem: "cannot read the file")
            }
            return Entry(path: file.path, sha256: sha256Hex(data))
        }
    }
}
