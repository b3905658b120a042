import Crypto
import Foundation

/// One file to put on a node: what, where, and how to make repeating it cheap.
///
/// The bytes go to `DESTINATION.partial`, which is renamed over the destination once complete, so the
/// destination is always either its old content or the whole new one. With `expectedSHA256`, a destination
/// that already has that digest is left alone (nothing is sent), and what is sent is hashed on the way: a
/// source that does not match is refused and nothing is put in place. With `resume`, a `.partial` left by
/// a broken upload is continued from its size, when its bytes equal the start of the source.
public struct Upload: Sendable {
    public enum Source: Sendable {
        /// A local file, streamed: never held in memory whole.
        case file(String)
        case bytes([UInt8])
    }

    public enum Destination: Sendable, Hashable {
        /// A file of this name in the session's private staging directory (on real nodes
        /// `~/.islet/staging` of the login user), for a node script to put in place.
        case staging(String)
        /// An absolute path on the node that the login user may write; root-only destinations are a node
        /// script's job (upload to staging, then `install` it).
        case path(String)
    }

    public var source: Source
    public var destination: Destination
    /// Permission bits of the file, set exactly (not filtered by a umask).
    public var mode: Int32
    /// Lower-case hex sha256 the source must have.
    public var expectedSHA256: String?
    /// Continue a `.partial` left by an earlier upload to the same destination.
    public var resume: Bool
    /// Called as bytes are acknowledged by the node, on the transport's thread: keep it short.
    public var progress: (@Sendable (UploadProgress) -> Void)?

    public init(
        _ source: Source, to destination: Destination, mode: Int32 = 0o600, expectedSHA256: String? = nil,
        resume: Bool = false, progress: (@Sendable (UploadProgress) -> Void)? = nil
    ) {
        self.source = source
        self.destination = destination
        self.mode = mode
        self.expectedSHA256 = expectedSHA256?.lowercased()
        self.resume = resume
        self.progress = progress
    }

    /// Whether the node must be asked about the destination and its `.partial` before sending; the bytes
    /// sent are then hashed too (to check them, or to compare a partial's prefix).
    public var needsProbe: Bool { expectedSHA256 != nil || resume }
}

/// How far an upload is: `completed` of `total` bytes are in the destination's `.partial` (a resumed
/// upload starts at the size it resumed from).
public struct UploadProgress: Sendable, Equatable {
    public var completed: Int64
    public var total: Int64

    public init(completed: Int64, total: Int64) {
        self.completed = completed
        self.total = total
    }
}

/// What an upload did.
public struct UploadResult: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// The destination already had the expected sha256: nothing was sent (its mode was set).
        case alreadyPresent
        /// `sent` bytes were sent, from the start.
        case uploaded(sent: Int64)
        /// An earlier `.partial` of `from` bytes matched the source; `sent` more bytes completed it.
        case resumed(from: Int64, sent: Int64)
    }

    /// The file's path as the node's scripts see it.
    public var path: String
    public var outcome: Outcome

    public init(path: String, outcome: Outcome) {
        self.path = path
        self.outcome = outcome
    }

    /// Bytes that crossed the link for this upload.
    public var bytesSent: Int64 {
        switch outcome {
        case .alreadyPresent: 0
        case .uploaded(let sent), .resumed(_, let sent): sent
        }
    }
}

/// Why an upload was refused, whatever the transport.
public enum UploadError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The source's bytes do not have the digest the caller declared; nothing was put in place.
    case checksumMismatch(node: String, source: String, destination: String, expected: String, actual: String)
    /// `.path` needs an absolute path.
    case relativeDestination(node: String, path: String)
    /// The local source cannot be read.
    case unreadableSource(node: String, path: String, reason: String)
    /// The node's answer about the destination could not be understood.
    case unexpectedProbe(node: String, destination: String, output: String)

    public var description: String {
        switch self {
        case .checksumMismatch(let node, let source, let destination, let expected, let actual):
            return
                "node \(node): upload of \(source) to \(destination) refused: its sha256 is \(actual), expected \(expected); nothing was put in place"
        case .relativeDestination(let node, let path):
            return "node \(node): upload destination '\(path)' is not an absolute path"
        case .unreadableSource(let node, let path, let reason):
            return "node \(node): cannot read the upload source \(path): \(reason)"
        case .unexpectedProbe(let node, let destination, let output):
            return "node \(node): could not read the state of \(destination) on the node: \(output)"
        }
    }
}

/// Reads an upload's source front to back, hashing what it reads when asked to. Both transports stream
/// through it, so a file is never in memory whole and its digest costs no second pass.
public final class UploadSourceReader {
    /// For messages: the file's path, or "N bytes".
    public let name: String
    public let size: Int64
    private let node: String
    private let bytes: [UInt8]?
    private let descriptor: Int32
    private var position: Int64 = 0
    private var hasher: SHA256?

    public init(_ source: Upload.Source, node: String, hashing: Bool) throws {
        self.node = node
        hasher = hashing ? SHA256() : nil
        switch source {
        case .bytes(let bytes):
            self.bytes = bytes
            descriptor = -1
            size = Int64(bytes.count)
            name = "\(bytes.count) bytes"
        case .file(let path):
            bytes = nil
            name = path
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw UploadError.unreadableSource(node: node, path: path, reason: String(cString: strerror(errno)))
            }
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                close(fd)
                throw UploadError.unreadableSource(node: node, path: path, reason: "not a regular file")
            }
            descriptor = fd
            size = Int64(info.st_size)
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Bytes read so far.
    public var offset: Int64 { position }

    /// Reads the next bytes into `buffer`; 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let count: Int
        if let bytes {
            count = min(buffer.count, bytes.count - Int(position))
            bytes.withUnsafeBytes { source in
                base.copyMemory(from: source.baseAddress! + Int(position), byteCount: count)
            }
        } else {
            var n: Int
            repeat { n = Foundation.read(descriptor, base, buffer.count) } while n < 0 && errno == EINTR
            guard n >= 0 else {
                throw UploadError.unreadableSource(node: node, path: name, reason: String(cString: strerror(errno)))
            }
            count = n
        }
        if count > 0 {
            hasher?.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            position += Int64(count)
        }
        return count
    }

    /// Reads (and hashes) the first `length` bytes, which must not have been read yet, and returns their
    /// sha256; reading then goes on after them. Fails if the source is shorter.
    public func digestOfPrefix(_ length: Int64) throws -> String {
        precondition(position == 0 && hasher != nil, "digestOfPrefix needs a fresh, hashing reader")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while position < length {
            let want = Int(min(Int64(buffer.count), length - position))
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
            guard n > 0 else {
                throw UploadError.unreadableSource(node: node, path: name, reason: "shorter than \(length) bytes")
            }
        }
        return digestSoFar
    }

    /// Back to the start, hash included.
    public func rewind() throws {
        if bytes == nil, lseek(descriptor, 0, SEEK_SET) != 0 {
            throw UploadError.unreadableSource(node: node, path: name, reason: String(cString: strerror(errno)))
        }
        position = 0
        if hasher != nil { hasher = SHA256() }
    }

    /// sha256 of everything read so far (hex); empty when not hashing.
    public var digestSoFar: String {
        guard let hasher else { return "" }
        let copy = hasher
        return copy.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// The node's answer about an upload's destination: one exec of `sha256sum` and `stat` before sending.
public struct UploadProbe: Sendable, Equatable {
    public struct Existing: Sendable, Equatable {
        public var sha256: String
        public var mode: Int32
    }

    public struct Partial: Sendable, Equatable {
        public var size: Int64
        public var sha256: String
    }

    /// The destination, when it is a regular file.
    public var existing: Existing?
    /// `DESTINATION.partial`, when it is a regular file.
    public var partial: Partial?

    public init(existing: Existing? = nil, partial: Partial? = nil) {
        self.existing = existing
        self.partial = partial
    }

    /// The POSIX sh that asks: lines `existing MODE SHA256` and `partial SIZE SHA256`, each only when the
    /// file is there and the upload needs it.
    public static func script(for path: String, upload: Upload) -> String {
        let quoted = ShellQuoting.quote(path)
        var lines = ["f=\(quoted)"]
        if upload.expectedSHA256 != nil {
            lines.append(
                #"if [ -f "$f" ]; then h=$(sha256sum < "$f") && echo "existing $(stat -c %a -- "$f") ${h%% *}"; fi"#)
        }
        if upload.resume {
            lines.append(
                #"if [ -f "$f.partial" ]; then h=$(sha256sum < "$f.partial") && echo "partial $(stat -c %s -- "$f.partial") ${h%% *}"; fi"#
            )
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads the script's output; nil when it is not what the script prints.
    public static func parse(_ output: String) -> UploadProbe? {
        var probe = UploadProbe()
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[2].count == 64 else { return nil }
            switch fields[0] {
            case "existing":
                guard let mode = Int32(fields[1], radix: 8) else { return nil }
                probe.existing = Existing(sha256: String(fields[2]), mode: mode)
            case "partial":
                guard let size = Int64(fields[1]) else { return nil }
                probe.partial = Partial(size: size, sha256: String(fields[2]))
            default: return nil
            }
        }
        return probe
    }

    /// Where sending starts: the size of a `.partial` whose bytes equal the start of the source, else 0.
    /// Reads (and hashes) that prefix of `reader`.
    public func resumeOffset(for upload: Upload, reader: UploadSourceReader) throws -> Int64 {
        guard upload.resume, let partial, partial.size > 0, partial.size <= reader.size else { return 0 }
        if try reader.digestOfPrefix(partial.size) == partial.sha256 { return partial.size }
        // Another file's partial: it is overwritten from the start.
        try reader.rewind()
        return 0
    }
}
