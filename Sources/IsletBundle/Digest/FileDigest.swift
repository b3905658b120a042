import Crypto
import Foundation

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

    /// Adds everything from `descriptor`'s position to its end, read in 1 MiB blocks; `path` names it in errors.
    public mutating func update(readingFrom descriptor: Int32, path: String) throws {
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
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
        hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

public enum FileDigest {
    /// The size and hex sha256 of the file at `path`, read in 1 MiB blocks.
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
