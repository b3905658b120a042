import Foundation

/// Where apply takes the bytes of file artifacts from: the bundle the operator carried in.
public protocol ArtifactSource: Sendable {
    /// A readable local file holding the blob with this sha256 (hex), or nil when the source lacks it.
    func localFile(sha256: String) throws -> String?
}

/// A folder of blobs by digest, `DIR/HEX` (a bundle's `oci/blobs/sha256`).
public struct BlobFolder: ArtifactSource {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public func localFile(sha256: String) throws -> String? {
        guard isSHA256Hex(sha256) else { return nil }
        let path = directory + "/" + sha256
        return FileManager.default.isReadableFile(atPath: path) ? path : nil
    }
}
