import Foundation

/// Everything under a folder, by path relative to it, without following symbolic links: what a stacks digest
/// hashes, what a bundle folder holds, what an archive of it contains.
public enum FolderTree {
    public struct Entry: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            case directory
            case file
            /// A symbolic link, device, socket or pipe.
            case other
        }

        /// Relative to the folder, `/`-separated.
        public var path: String
        public var kind: Kind
        /// The size of a regular file; 0 for anything else.
        public var size: Int64
        /// The permission bits.
        public var mode: Int
    }

    /// Every entry under `folder`, folders before their contents, in no particular order otherwise.
    /// - Throws: `FolderTreeError` naming the folder or entry that could not be read.
    public static func entries(under folder: String) throws -> [Entry] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FolderTreeError(path: folder, problem: "no such folder")
        }
        var entries: [Entry] = []
        var pending = [""]
        while let relative = pending.popLast() {
            let absolute = relative.isEmpty ? folder : folder + "/" + relative
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: absolute)
            } catch {
                throw FolderTreeError(path: absolute, problem: "cannot list the folder")
            }
            for name in names {
                let path = relative.isEmpty ? name : relative + "/" + name
                var status = stat()
                guard lstat(folder + "/" + path, &status) == 0 else {
                    throw FolderTreeError(path: folder + "/" + path, problem: String(cString: strerror(errno)))
                }
                let kind: Entry.Kind
                switch status.st_mode & S_IFMT {
                case S_IFDIR:
                    kind = .directory
                    pending.append(path)
                case S_IFREG: kind = .file
                default: kind = .other
                }
                entries.append(
                    Entry(
                        path: path, kind: kind, size: kind == .file ? Int64(status.st_size) : 0,
                        mode: Int(status.st_mode & 0o7777)))
            }
        }
        return entries
    }
}

/// A folder that could not be read, naming it.
public struct FolderTreeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var problem: String

    public var description: String { "\(path): \(problem)" }
}
