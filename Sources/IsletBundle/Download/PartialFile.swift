import Foundation

/// The `.partial` file of one download and the sha256 of exactly the bytes it holds, kept from attempt
/// to attempt so that what is on disk is hashed once per run, not once per retry.
final class PartialFile {
    let path: String
    /// The digest of the bytes on disk; nil until hashed, or when a failed write left them unknown.
    private var digest: SHA256Stream?
    /// Bytes found on disk when this run first opened the file, until a restart throws them away.
    private var resumedBytes: Int64?

    init(path: String) {
        self.path = path
    }

    struct Outcome {
        var sha256: String
        var size: Int64
        var resumedBytes: Int64
    }

    /// A local file problem: not worth a retry.
    struct FileError: Error, CustomStringConvertible {
        var path: String
        var problem: String
        var description: String { "\(path): \(problem)" }

        init(path: String, _ what: String, errno code: Int32) {
            self.path = path
            problem = "\(what): \(String(cString: strerror(code)))"
        }
    }

    var sizeOnDisk: Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    func remove() {
        unlink(path)
        digest = nil
        resumedBytes = nil
    }

    /// One attempt: continues the file from its current size (or from the start when the server will not
    /// resume) until the server has sent everything.
    func continueDownload(
        _ url: String, client: HTTPClient, headers: [(name: String, value: String)],
        progress: (DownloadProgress) -> Void
    ) throws -> Outcome {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileError(path: path, "cannot open", errno: errno) }
        defer { close(descriptor) }
        // Two downloads into one file would interleave their bytes.
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            throw FileError(path: path, "another download is writing it", errno: errno)
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw FileError(path: path, "cannot stat", errno: errno) }
        let size = Int64(info.st_size)
        if resumedBytes == nil { resumedBytes = size }
        if digest?.count != size {
            var stream = SHA256Stream()
            do {
                try stream.update(readingFrom: descriptor, path: path)
            } catch FileDigestError.unreadable(_, let code) {
                throw FileError(path: path, "cannot read", errno: code)
            }
            digest = stream
        }

        var total: Int64?
        var onDisk = size
        // Hashing overlaps receiving and writing; joined below whatever happens, so that `digest` again
        // describes the bytes on disk when the next attempt resumes.
        var hasher: OverlappedHasher?
        defer { if let hasher { finish(hasher) } }
        let request = HTTPRequest(url: url, headers: headers, resumeFrom: size > 0 ? size : nil)
        _ = try client.send(
            request,
            onHead: { head in
                switch head.status {
                case 206:
                    let range = ContentRange(head.header("content-range"))
                    guard let range, range.first == size else {
                        try restart(descriptor)
                        throw DownloadSetback.unusableRange(asked: size, answer: head.header("content-range"))
                    }
                    total = range.total
                case 200:
                    if size > 0 { try restart(descriptor) }
                    total = head.contentLength
                case 416 where size > 0:
                    // Asked for bytes past the end: the partial may be whole already (cut before the rename).
                    guard let range = ContentRange(head.header("content-range")), range.total == size else {
                        try restart(descriptor)
                        throw DownloadSetback.unusableRange(asked: size, answer: head.header("content-range"))
                    }
                    total = size
                default:
                    throw HTTPStatusError(request, head)
                }
                guard lseek(descriptor, 0, SEEK_END) >= 0 else {
                    throw FileError(path: path, "cannot seek", errno: errno)
                }
                onDisk = digest?.count ?? 0
                progress(DownloadProgress(bytes: onDisk, total: total))
            },
            receive: { chunk in
                try write(chunk, to: descriptor)
                if hasher == nil { hasher = OverlappedHasher(continuing: digest ?? SHA256Stream()) }
                hasher!.feed(chunk)
                onDisk += Int64(chunk.count)
                progress(DownloadProgress(bytes: onDisk, total: total))
            })
        if let started = hasher {
            hasher = nil
            finish(started)
        }
        guard let digest else { throw FileError(path: path, "cannot hash", errno: EIO) }
        if let total, digest.count != total {
            throw DownloadSetback.incomplete(expected: total, received: digest.count)
        }
        return Outcome(sha256: digest.hexDigest(), size: digest.count, resumedBytes: resumedBytes ?? 0)
    }

    /// Waits for the hasher; its digest stands for the file unless a failed write left the file unknown.
    private func finish(_ hasher: OverlappedHasher) {
        let stream = hasher.finish()
        if digest != nil { digest = stream }
    }

    /// Empties the file: the server sends everything again.
    private func restart(_ descriptor: Int32) throws {
        guard ftruncate(descriptor, 0) == 0 else { throw FileError(path: path, "cannot truncate", errno: errno) }
        digest = SHA256Stream()
        resumedBytes = 0
    }

    private func write(_ chunk: UnsafeRawBufferPointer, to descriptor: Int32) throws {
        var offset = 0
        while offset < chunk.count {
            let written = Foundation.write(descriptor, chunk.baseAddress! + offset, chunk.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                let code = errno
                digest = nil  // part of the chunk may be on disk: hash the file again before resuming
                throw FileError(path: path, "cannot write", errno: code)
            }
            offset += written
        }
    }
}

/// A download attempt that went wrong in a way the next attempt can fix.
enum DownloadSetback: RetryableError, CustomStringConvertible {
    /// A 206 or 416 that does not fit the range asked for; the partial was emptied to start over.
    case unusableRange(asked: Int64, answer: String?)
    /// The connection ended cleanly but before the announced size.
    case incomplete(expected: Int64, received: Int64)

    var retryAdvice: RetryAdvice { .backoff }

    var description: String {
        switch self {
        case .unusableRange(let asked, let answer):
            return "asked for bytes from \(asked), the server answered Content-Range \(answer ?? "(none)")"
        case .incomplete(let expected, let received):
            return "the body ended after \(received) of \(expected) bytes"
        }
    }
}

/// `Content-Range: bytes FIRST-LAST/TOTAL`, or `bytes */TOTAL` in a 416.
struct ContentRange: Equatable {
    var first: Int64?
    var total: Int64?

    init?(_ header: String?) {
        guard let header, header.hasPrefix("bytes ") else { return nil }
        let spec = header.dropFirst("bytes ".count)
        let parts = spec.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        total = Int64(parts[1])
        if parts[0] == "*" {
            first = nil
        } else {
            guard let start = parts[0].split(separator: "-").first.flatMap({ Int64($0) }) else { return nil }
            first = start
        }
    }
}
