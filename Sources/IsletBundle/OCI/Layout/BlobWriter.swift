import Foundation

/// Streams one blob into a layout: bytes go to a hidden partial file beside the blobs while they are hashed,
/// and only a blob whose size and digest match what was expected is renamed into place. So a blob file in
/// the layout is always complete and correct, and an interrupted or corrupt transfer leaves nothing behind.
public final class BlobWriter {
    public let expected: Descriptor
    /// What the bytes come from (a URL or a file), named in errors.
    public let source: String
    private let layout: ImageLayout
    private let partialPath: String
    private var fileDescriptor: Int32
    private var hasher = SHA256Stream()
    private var received: Int64 = 0

    init(layout: ImageLayout, expected: Descriptor, source: String) throws {
        self.layout = layout
        self.expected = expected
        self.source = source
        var template = Array("\(layout.blobDirectory)/.partial-\(getpid())-XXXXXX".utf8CString)
        fileDescriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fileDescriptor >= 0 else {
            throw OCIError.io(
                path: layout.blobDirectory, reason: "cannot create a file (\(String(cString: strerror(errno))))")
        }
        partialPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        fchmod(fileDescriptor, 0o644)
    }

    deinit { discard() }

    /// Bytes received so far.
    public var count: Int64 { received }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard fileDescriptor >= 0 else { return }
        received += Int64(bytes.count)
        guard received <= expected.size else {
            throw OCIError.sizeMismatch(source: source, expected: expected.size, actual: received)
        }
        hasher.update(bytes)
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw OCIError.io(path: partialPath, reason: "cannot write (\(String(cString: strerror(errno))))")
            }
            offset += written
        }
    }

    /// Checks size and digest, makes the bytes durable and moves them to the blob's path.
    /// - Throws: `.sizeMismatch` or `.digestMismatch` naming the source (the partial file is removed).
    public func commit() throws {
        guard received == expected.size else {
            discard()
            throw OCIError.sizeMismatch(source: source, expected: expected.size, actual: received)
        }
        let actual = Digest(verifiedHex: hasher.hexDigest())
        guard actual == expected.digest else {
            discard()
            throw OCIError.digestMismatch(source: source, expected: expected.digest, actual: actual)
        }
        guard fsync(fileDescriptor) == 0, rename(partialPath, layout.blobPath(actual)) == 0 else {
            let reason = String(cString: strerror(errno))
            discard()
            throw OCIError.io(path: layout.blobPath(actual), reason: "cannot store (\(reason))")
        }
        // Renamed: the partial name is free again and may be another writer's by now; never unlink it.
        close(fileDescriptor)
        fileDescriptor = -1
    }

    /// Drops whatever was written (a failed or retried transfer).
    public func discard() {
        guard fileDescriptor >= 0 else { return }
        close(fileDescriptor)
        fileDescriptor = -1
        unlink(partialPath)
    }

    /// Starts over, for a transfer retried after it failed part-way.
    public func reset() throws {
        guard fileDescriptor >= 0, ftruncate(fileDescriptor, 0) == 0, lseek(fileDescriptor, 0, SEEK_SET) == 0 else {
            throw OCIError.io(path: partialPath, reason: "cannot truncate (\(String(cString: strerror(errno))))")
        }
        hasher = SHA256Stream()
        received = 0
    }
}
