import Foundation
import IsletCore

/// One entry of a bundle: a path relative to the bundle's root and what is there.
public struct BundleMember: Sendable, Equatable {
    /// A file, a folder, or anything else (a symbolic link, a device), which a bundle never holds.
    public typealias Kind = FolderTree.Entry.Kind

    public var path: String
    public var kind: Kind
    /// The size the folder's file has, or the tar header records.
    public var size: Int64
    /// The bytes actually present: less than `size` when the archive ends inside this member.
    public var available: Int64
    /// Where the member's data starts in the archive's stream (0 in a folder).
    var offset: Int64
}

/// A bundle opened for reading: a folder, one tar archive, or the numbered parts of one.
///
/// An archive is indexed once (each member's path, size and data offset) and then read in place, member by
/// member and from several threads at once: verifying or listing a bundle never extracts it.
public final class BundleSource: Sendable {
    public enum Form: Sendable, Equatable {
        case folder
        case archive
        /// A split archive and its number of parts.
        case parts(Int)
    }

    /// The path as the user gave it.
    public let location: String
    public let form: Form
    /// Every member by its path relative to the bundle's root (`bundle.json`, `oci/blobs/sha256/…`).
    public let members: [String: BundleMember]
    /// What is wrong with the archive as a whole (it ends early, a member appears twice), in words.
    public let archiveProblems: [String]
    private let folder: String?
    private let archive: ArchiveParts?

    /// Opens `path`: a folder, a tar file, a part `FILE.tar.NNN`, or `FILE.tar` when only its parts exist.
    /// - Throws: `BundleSourceError` naming the path when it is none of these or cannot be read.
    public init(opening path: String) throws {
        location = path
        var status = stat()
        if stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR {
            form = .folder
            folder = path
            archive = nil
            members = try Self.walk(path)
            archiveProblems = []
            return
        }
        let partPaths = try ArchiveParts.parts(named: path)
        if partPaths == nil && stat(path, &status) != 0 { throw BundleSourceError.unreadable(path: path, errno: errno) }
        let parts = try ArchiveParts(paths: partPaths ?? [path])
        form = partPaths == nil ? .archive : .parts(parts.paths.count)
        folder = nil
        archive = parts
        (members, archiveProblems) = try TarIndex.read(parts, name: path)
    }

    /// How to name a member in messages: `DIR/path` or `FILE.tar:path`.
    public func describe(_ path: String) -> String {
        folder != nil ? location + "/" + path : location + ":" + path
    }

    /// The whole content of a small member (a JSON document).
    /// - Throws: `BundleSourceError` when it is missing, not a file, larger than `limit` or unreadable.
    public func contents(of path: String, limit: Int64 = 64 << 20) throws -> Data {
        guard let member = members[path], member.kind == .file else {
            throw BundleSourceError.missingMember(describe(path))
        }
        guard member.size <= limit else {
            throw BundleSourceError.tooLarge(describe(path), size: member.size, limit: limit)
        }
        if let folder {
            guard let data = FileManager.default.contents(atPath: folder + "/" + path) else {
                throw BundleSourceError.unreadable(path: describe(path), errno: errno)
            }
            return data
        }
        var data = Data(count: Int(member.available))
        let count = try data.withUnsafeMutableBytes { try archive!.read(at: member.offset, into: $0) }
        return data.prefix(count)
    }

    /// Streams `member` through sha256, `FileDigest.readBlock` at a time.
    /// - Returns: the hex digest and the number of bytes read (less than `size` when truncated).
    public func sha256(of member: BundleMember) throws -> (digest: String, size: Int64) {
        if let folder {
            do {
                return try FileDigest.sha256(ofFileAt: folder + "/" + member.path)
            } catch let error as FileDigestError {
                throw BundleSourceError.unreadable(path: describe(member.path), errno: error.errno)
            }
        }
        var stream = SHA256Stream()
        try forEachBlock(of: member) { stream.update($0) }
        return (stream.hexDigest(), stream.count)
    }

    /// Copies a member's bytes to `path` in large blocks (never whole in memory).
    public func copy(_ member: BundleMember, to path: String) throws {
        if let folder {
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(atPath: folder + "/" + member.path, toPath: path)
            return
        }
        guard FileManager.default.createFile(atPath: path + ".partial", contents: nil),
            let output = FileHandle(forWritingAtPath: path + ".partial")
        else { throw BundleSourceError.unreadable(path: path, errno: errno) }
        defer { try? output.close() }
        try forEachBlock(of: member) { try output.write(contentsOf: Data($0)) }
        guard rename(path + ".partial", path) == 0 else { throw BundleSourceError.unreadable(path: path, errno: errno) }
    }

    /// Reads an archive member in `FileDigest.readBlock` pieces (less than its size when the archive is truncated).
    private func forEachBlock(of member: BundleMember, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: FileDigest.readBlock, alignment: 64)
        defer { block.deallocate() }
        var position = member.offset
        let end = member.offset + member.available
        while position < end {
            let wanted = UnsafeMutableRawBufferPointer(
                rebasing: block[0..<Int(min(Int64(block.count), end - position))])
            let count = try archive!.read(at: position, into: wanted)
            if count == 0 { break }
            try body(UnsafeRawBufferPointer(rebasing: block[0..<count]))
            position += Int64(count)
        }
    }

    /// Every entry under `root`, by path relative to it, without following symbolic links.
    private static func walk(_ root: String) throws -> [String: BundleMember] {
        var members: [String: BundleMember] = [:]
        for entry in try FolderTree.entries(under: root) {
            members[entry.path] = BundleMember(
                path: entry.path, kind: entry.kind, size: entry.size, available: entry.size, offset: 0)
        }
        return members
    }
}

/// Reads a tar archive's headers, skipping over member data, into an index of members.
private enum TarIndex {
    static func read(_ archive: ArchiveParts, name: String) throws -> (
        [String: BundleMember], [String]
    ) {
        var members: [String: BundleMember] = [:]
        var problems: [String] = []
        var position: Int64 = 0
        var pax: [String: String] = [:]
        var longName: String?
        var ended = false
        let header = UnsafeMutableRawBufferPointer.allocate(byteCount: TarFormat.blockSize, alignment: 8)
        defer { header.deallocate() }
        while true {
            let count = try archive.read(at: position, into: header)
            if count == 0 { break }
            guard count == TarFormat.blockSize else {
                problems.append("the archive ends inside a header at byte \(position): truncated or a part missing")
                break
            }
            let parsed: TarFormat.ParsedHeader?
            do {
                parsed = try TarFormat.parseHeader(UnsafeRawBufferPointer(header))
            } catch {
                if position == 0 { throw BundleSourceError.notAnArchive(name) }
                throw BundleSourceError.malformedArchive(name, offset: position, problem: "\(error)")
            }
            guard let parsed else {
                ended = true
                break
            }
            let dataStart = position + Int64(TarFormat.blockSize)
            var size = parsed.size
            if let paxSize = pax["size"] {
                guard let value = Int64(paxSize), value >= 0 else {
                    throw BundleSourceError.malformedArchive(
                        name, offset: position, problem: "pax size '\(paxSize)' is not a size")
                }
                size = value
            }
            let available = max(0, min(size, archive.totalSize - dataStart))
            position = dataStart + size + Int64(TarFormat.padding(size))
            switch parsed.typeFlag {
            case UInt8(ascii: "x"), UInt8(ascii: "L"):
                guard size <= 1 << 20 else {
                    throw BundleSourceError.malformedArchive(
                        name, offset: dataStart, problem: "an extended header of \(size) bytes")
                }
                var data = [UInt8](repeating: 0, count: Int(size))
                let read = try data.withUnsafeMutableBytes { try archive.read(at: dataStart, into: $0) }
                guard read == size else { continue }
                if parsed.typeFlag == UInt8(ascii: "x") {
                    pax = TarFormat.parsePax(data)
                } else {
                    longName = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
                }
                continue
            case UInt8(ascii: "g"), UInt8(ascii: "K"):
                continue
            default:
                break
            }
            let path = normalized(pax["path"] ?? longName ?? parsed.name)
            pax = [:]
            longName = nil
            if path.isEmpty || path == "." { continue }
            let kind: BundleMember.Kind
            switch parsed.typeFlag {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = .file
            case UInt8(ascii: "5"): kind = .directory
            default: kind = .other
            }
            if members[path] != nil { problems.append("\(path) appears twice in the archive") }
            members[path] = BundleMember(
                path: path, kind: kind, size: kind == .file ? size : 0, available: kind == .file ? available : 0,
                offset: dataStart)
            if available < size {
                problems.append("the archive ends inside \(path): truncated or a part missing")
                break
            }
        }
        if !ended && problems.isEmpty {
            problems.append("the archive has no end-of-archive blocks: truncated or a part missing")
        }
        return (rooted(members), problems)
    }

    /// `./a/b/` → `a/b`.
    static func normalized(_ name: String) -> String {
        var path = Substring(name)
        while path.hasPrefix("./") { path = path.dropFirst(2) }
        while path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }

    /// An archive made with `tar -cf FILE.tar DIR` has its bundle one folder down: read it from there.
    static func rooted(_ members: [String: BundleMember]) -> [String: BundleMember] {
        guard members[BundleManifest.fileName] == nil else { return members }
        let tops = members.keys.filter {
            $0.hasSuffix("/" + BundleManifest.fileName) && $0.split(separator: "/").count == 2
        }
        guard tops.count == 1, let top = tops.first?.split(separator: "/").first.map(String.init) else {
            return members
        }
        var rebased: [String: BundleMember] = [:]
        for (path, member) in members where path != top {
            var moved = member
            if path.hasPrefix(top + "/") { moved.path = String(path.dropFirst(top.count + 1)) }
            rebased[moved.path] = moved
        }
        return rebased
    }
}

/// A bundle that cannot be opened or read, naming the path.
public enum BundleSourceError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, errno: Int32)
    case notAnArchive(String)
    case malformedArchive(String, offset: Int64, problem: String)
    case missingPart(path: String)
    case missingMember(String)
    case tooLarge(String, size: Int64, limit: Int64)

    public var description: String {
        switch self {
        case .unreadable(let path, let code):
            return "\(path): cannot read (\(String(cString: strerror(code))))"
        case .notAnArchive(let path):
            return "\(path): not a bundle: expected a bundle folder, a tar archive of one, or its numbered parts"
        case .malformedArchive(let path, let offset, let problem):
            return "\(path): malformed tar archive at byte \(offset): \(problem)"
        case .missingPart(let path):
            return "\(path): no such part; expected every part of the split archive, numbered from 000 without gaps"
        case .missingMember(let path):
            return "\(path): no such file in the bundle"
        case .tooLarge(let path, let size, let limit):
            return "\(path): \(size) bytes; expected at most \(limit) for this document"
        }
    }
}

extension FileDigestError {
    var errno: Int32 {
        switch self {
        case .unreadable(_, let code): return code
        }
    }
}
