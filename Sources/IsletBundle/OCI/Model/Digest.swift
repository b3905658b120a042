import Foundation

/// A content digest, `sha256:<64 lowercase hex>`: the only algorithm registries and layouts use in practice,
/// and the one the bundle manifest records. Anything else is refused where it is read, naming it.
public struct Digest: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The 64 lowercase hex characters.
    public let hex: String

    public init(_ text: String) throws {
        guard text.hasPrefix("sha256:") else {
            throw OCIError.invalidDigest(text, reason: "only sha256 digests ('sha256:<64 hex>') are supported")
        }
        try self.init(sha256Hex: String(text.dropFirst(7)), original: text)
    }

    public init(sha256Hex hex: String) throws {
        try self.init(sha256Hex: hex, original: "sha256:" + hex)
    }

    private init(sha256Hex hex: String, original: String) throws {
        let valid =
            hex.utf8.count == 64 && hex.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        guard valid else { throw OCIError.invalidDigest(original, reason: "expected 64 lowercase hex characters") }
        self.hex = hex
    }

    /// The digest of `bytes`.
    public static func of(_ bytes: [UInt8]) -> Digest {
        var stream = SHA256Stream()
        stream.update(bytes)
        return Digest(verifiedHex: stream.hexDigest())
    }

    /// For hex that comes straight from the hasher.
    init(verifiedHex: String) { hex = verifiedHex }

    public var description: String { "sha256:" + hex }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "\(error)"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
