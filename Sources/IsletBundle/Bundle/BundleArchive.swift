import Foundation
import IsletCore

/// Writes a bundle folder as one POSIX tar archive, or as numbered parts of one for removable media.
///
/// The archive is deterministic: `bundle.json` first, so a reader meets the manifest before anything else,
/// then every folder and file sorted by path bytewise; owner 0:0, mode 0755 for folders and executables and
/// 0644 otherwise, and every time set to the bundle's `createdAt`. The same folder always gives the same bytes.
///
/// Parts are `FILE.tar.000`, `FILE.tar.001`, … (more digits past 1000 parts), each exactly `partSize` bytes
/// but the last, cut wherever the size falls: `cat FILE.tar.* > FILE.tar` reassembles the archive, and islet
/// reads the parts directly (`islet bundle verify FILE.tar.000`, or `FILE.tar` when only its parts exist).
public enum BundleArchive {
    /// Writes `folder` to `path`, or to `path.000`, `path.001`, … of `partSize` bytes each.
    ///
    /// Data streams from each file to the archive in large blocks, never whole files in memory. Parts are
    /// written under temporary names, flushed to the device, then renamed, so an interrupted run leaves no
    /// part that looks complete; parts of an earlier, longer split of the same name are removed.
    /// - Returns: the paths written, in order.
    /// - Throws: `BundleArchiveError` naming the file that could not be read or written, or the member that
    ///   is neither a file nor a folder.
    @discardableResult
    public static func write(folder: String, to path: String, partSize: Int64? = nil) throws -> [String] {
        if let partSize, partSize < 1 { throw BundleArchiveError.badPartSize("\(partSize)") }
        let manifestPath = folder + "/" + BundleManifest.fileName
        guard let manifestData = FileManager.default.contents(atPath: manifestPath) else {
            throw BundleArchiveError.notABundle(folder)
        }
        let manifest = try BundleManifest.decode(manifestData, file: manifestPath)
        let time = Int64(manifest.createdAt.timeIntervalSince1970.rounded(.down))
        let entries = try members(of: folder, modificationTime: time)
        let total = entries.reduce(Int64(2 * TarFormat.blockSize)) {
            $0 + Int64(TarFormat.headerBlocks(for: $1).count) + $1.size + Int64(TarFormat.padding($1.size))
        }
        let paths = partPaths(for: path, totalSize: total, partSize: partSize)
        let output = PartedOutput(paths: paths, partSize: partSize ?? total)
        do {
            let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
            defer { block.deallocate() }
            for entry in entries {
                try TarFormat.headerBlocks(for: entry).withUnsafeBytes { try output.write($0) }
                guard entry.type == .regular else { continue }
                try copy(folder + "/" + entry.path, size: entry.size, to: output, through: block)
                try zeros[0..<TarFormat.padding(entry.size)].withUnsafeBytes { try output.write($0) }
            }
            try zeros.withUnsafeBytes { try output.write($0) }
            try output.finish()
        } catch {
            output.discard()
            throw error
        }
        if partSize != nil { removeStaleParts(of: path, beyond: paths.count) }
        return paths
    }

    /// `4G`, `700M`, `1500K`, `4GiB` or a number of bytes: sizes in powers of 1024, as `split -b` reads them.
    /// - Throws: `BundleArchiveError.badPartSize` for anything else, or a size under one tar block (512 bytes).
    public static func partSize(_ text: String) throws -> Int64 {
        var digits = text.trimmingCharacters(in: .whitespaces).uppercased()
        for suffix in ["IB", "B"] where digits.hasSuffix(suffix) && digits.count > suffix.count {
            digits.removeLast(suffix.count)
            break
        }
        let shifts: [Character: Int64] = ["K": 10, "M": 20, "G": 30, "T": 40]
        var shift: Int64 = 0
        if let last = digits.last, let value = shifts[last] {
            shift = value
            digits.removeLast()
        }
        guard let number = Int64(digits), number > 0, number <= Int64.max >> shift,
            number << shift >= Int64(TarFormat.blockSize)
        else { throw BundleArchiveError.badPartSize(text) }
        return number << shift
    }

    /// The names of the parts for an archive of `totalSize` bytes: `path` alone when not split.
    static func partPaths(for path: String, totalSize: Int64, partSize: Int64?) -> [String] {
        guard let partSize else { return [path] }
        let count = Int(max(1, (totalSize + partSize - 1) / partSize))
        let width = max(3, String(count - 1).count)
        return (0..<count).map { path + "." + ArchiveParts.zeroPadded($0, width: width) }
    }

    /// Padding and the end-of-archive marker.
    private static let zeros = [UInt8](repeating: 0, count: 2 * 512)

    /// Every folder and regular file under `folder`, `bundle.json` first, then by path bytewise.
    private static func members(of folder: String, modificationTime: Int64) throws -> [TarFormat.Entry] {
        let entries = try FolderTree.entries(under: folder).map { entry -> TarFormat.Entry in
            switch entry.kind {
            case .directory:
                return .init(
                    path: entry.path, type: .directory, mode: 0o755, size: 0, modificationTime: modificationTime)
            case .file:
                return .init(
                    path: entry.path, type: .regular, mode: entry.mode & 0o111 != 0 ? 0o755 : 0o644, size: entry.size,
                    modificationTime: modificationTime)
            case .other:
                throw BundleArchiveError.notAFileOrFolder(folder + "/" + entry.path)
            }
        }
        return entries.sorted { a, b in
            if a.path == BundleManifest.fileName || b.path == BundleManifest.fileName {
                return a.path == BundleManifest.fileName && b.path != BundleManifest.fileName
            }
            return a.path.utf8.lexicographicallyPrecedes(b.path.utf8)
        }
    }

    private static func copy(
        _ path: String, size: Int64, to output: PartedOutput, through block: UnsafeMutableRawBufferPointer
    ) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw BundleArchiveError.unreadable(path: path, errno: errno) }
        defer { close(descriptor) }
        var remaining = size
        while remaining > 0 {
            let count = read(descriptor, block.baseAddress, Int(min(Int64(block.count), remaining)))
            if count < 0 {
                if errno == EINTR { continue }
                throw BundleArchiveError.unreadable(path: path, errno: errno)
            }
            if count == 0 { throw BundleArchiveError.changed(path: path, expected: size, read: size - remaining) }
            try output.write(UnsafeRawBufferPointer(rebasing: block[0..<count]))
            remaining -= Int64(count)
        }
        var extra: UInt8 = 0
        if read(descriptor, &extra, 1) == 1 {
            throw BundleArchiveError.changed(path: path, expected: size, read: size + 1)
        }
    }

    /// Removes `path.NNN` numbered `count` and above: left by an earlier split into more parts, they would be
    /// read as part of this archive.
    private static func removeStaleParts(of path: String, beyond count: Int) {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in names {
            guard let part = ArchiveParts.partNumber(of: name), part.base == url.lastPathComponent,
                part.number >= count
            else { continue }
            try? FileManager.default.removeItem(atPath: folder + "/" + name)
        }
    }
}

/// A byte stream cut into files of `partSize` bytes, written under temporary names until `finish`.
private final class PartedOutput {
    private let paths: [String]
    private let partSize: Int64
    private var index = -1
    private var descriptor: Int32 = -1
    private var writtenInPart: Int64 = 0

    init(paths: [String], partSize: Int64) {
        self.paths = paths
        self.partSize = partSize
    }

    private func temporary(_ index: Int) -> String { paths[index] + ".partial" }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            if descriptor < 0 || writtenInPart == partSize { try nextPart() }
            let wanted = Int(min(Int64(bytes.count - offset), partSize - writtenInPart))
            let count = Glibc.write(descriptor, bytes.baseAddress! + offset, wanted)
            if count < 0 {
                if errno == EINTR { continue }
                throw BundleArchiveError.unwritable(path: paths[index], errno: errno)
            }
            offset += count
            writtenInPart += Int64(count)
        }
    }

    private func nextPart() throws {
        if descriptor >= 0 { try closePart() }
        index += 1
        guard index < paths.count else {
            throw BundleArchiveError.unwritable(path: paths[paths.count - 1], errno: EFBIG)
        }
        descriptor = open(temporary(index), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw BundleArchiveError.unwritable(path: paths[index], errno: errno) }
        writtenInPart = 0
    }

    /// Flushes the part to the device (removable media is unplugged right after) and closes it.
    private func closePart() throws {
        let failed = fsync(descriptor) != 0
        let code = errno
        close(descriptor)
        descriptor = -1
        if failed { throw BundleArchiveError.unwritable(path: paths[index], errno: code) }
    }

    func finish() throws {
        if descriptor >= 0 { try closePart() }
        for part in 0...index where rename(temporary(part), paths[part]) != 0 {
            throw BundleArchiveError.unwritable(path: paths[part], errno: errno)
        }
    }

    func discard() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        for part in 0..<paths.count { unlink(temporary(part)) }
    }
}

/// Writing an archive failed, naming the file and what was expected.
public enum BundleArchiveError: Error, Sendable, Equatable, CustomStringConvertible {
    case notABundle(String)
    case unreadable(path: String, errno: Int32)
    case unwritable(path: String, errno: Int32)
    case notAFileOrFolder(String)
    case changed(path: String, expected: Int64, read: Int64)
    case badPartSize(String)

    public var description: String {
        switch self {
        case .notABundle(let folder):
            return "\(folder): not a bundle folder; expected \(BundleManifest.fileName) in it"
        case .unreadable(let path, let code): return "\(path): cannot read (\(String(cString: strerror(code))))"
        case .unwritable(let path, let code): return "\(path): cannot write (\(String(cString: strerror(code))))"
        case .notAFileOrFolder(let path):
            return "\(path): not a regular file or folder; a bundle holds only files and folders"
        case .changed(let path, let expected, let read):
            return "\(path): changed while being archived (\(expected) bytes expected, \(read) read)"
        case .badPartSize(let text):
            return "part size '\(text)': expected a size of 512 bytes or more such as 4G, 700M or 1500K"
        }
    }
}
