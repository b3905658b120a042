import Crypto
import Foundation
import IsletCore

/// sha256 of files and streams, read in large blocks: a bundle holds gigabytes, so nothing is ever held whole.
public struct SHA256Stream {
    private var hasher = SHA256()
    public private(set) var count: Int64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
        count += Int64(bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Adds everything from `descriptor`'s position to its end, read in `FileDigest.readBlock`s; `path` names it
    /// in errors.
    public mutating func update(readingFrom descriptor: Int32, path: String) throws {
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: FileDigest.readBlock, alignment: 64)
        defer { block.deallocate() }
        while true {
            let count = read(descriptor, block.baseAddress, block.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw FileDigestError.unreadable(path: path, errno: errno)
            }
            if count == 0 { return }
            update(UnsafeRawBufferPointer(rebasing: block[0..<count]))
        }
    }

    /// The lowercase hex digest of everything seen so far.
    public func hexDigest() -> String {
        lowercaseHex(hasher.finalize())
    }
}

public enum FileDigest {
    /// 128 KiB per read: large enough that sha256, not system calls, is the cost, and small enough that the
    /// block the kernel copies in is still in the L2 cache when sha256 reads it. Measured on 345 MiB in page
    /// cache, one core: 1 MiB blocks took 10% more CPU than openssl, 128 KiB the same as openssl (BENCHMARKS.md).
    public static let readBlock = 128 << 10

    /// The size and hex sha256 of the file at `path`, read in `readBlock`s.
    public static func sha256(ofFileAt path: String) throws -> (digest: String, size: Int64) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileDigestError.unreadable(path: path, errno: errno) }
        defer { close(descriptor) }
        var stream = SHA256Stream()
        try stream.update(readingFrom: descriptor, path: path)
        return (stream.hexDigest(), stream.count)
    }
}

public enum FileDigestError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .unreadable(let path, let code): return "\(path): cannot read (\(String(cString: strerror(code))))"
        }
    }
}
