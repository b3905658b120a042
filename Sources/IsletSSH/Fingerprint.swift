import Crypto
import Foundation

/// Host and user key fingerprints in the form `ssh-keygen -l` prints.
enum Fingerprint {
    /// `SHA256:` followed by unpadded base64 of the SHA-256 of the key blob.
    static func sha256(ofKeyBlob blob: [UInt8]) -> String {
        let encoded = Data(SHA256.hash(data: blob)).base64EncodedString()
        return "SHA256:" + encoded.replacingOccurrences(of: "=", with: "")
    }

    /// The key type an SSH public key blob starts with (`ssh-ed25519`, …).
    static func keyType(ofKeyBlob blob: [UInt8]) -> String? {
        var reader = SSHWireReader(blob)
        return reader.readString().flatMap { String(bytes: $0, encoding: .utf8) }
    }
}

/// Reads the big-endian length-prefixed fields of the SSH wire format.
struct SSHWireReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func readUInt32() -> UInt32? {
        guard offset + 4 <= bytes.count else { return nil }
        defer { offset += 4 }
        return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func readString() -> [UInt8]? {
        guard let length = readUInt32().map(Int.init), length <= bytes.count - offset else { return nil }
        defer { offset += length }
        return Array(bytes[offset..<offset + length])
    }

    mutating func skip(_ count: Int) -> Bool {
        guard count <= bytes.count - offset else { return false }
        offset += count
        return true
    }
}
