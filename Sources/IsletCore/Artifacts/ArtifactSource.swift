import Foundation

/// Where apply takes the bytes of file artifacts from: the bundle the operator carried in.
public protocol ArtifactSource: Sendable {
    /// A readable local file holding the blob with this sha256 (hex), or nil when the source lacks it.
    func localFile(sha256: String) throws -> String?

    /// Pushes the image the source holds under `reference` (upstream, as a stack names it) into the registry
    /// at `registry` (`host:port`, plain HTTP), under its internal name: the upstream host as the first path
    /// element. Only blobs the registry lacks are sent.
    /// - Returns: one line for the log (what was sent).
    func pushImage(reference: String, to registry: String) throws -> String
}

/// A folder of blobs by digest, `DIR/HEX` (a bundle's `oci/blobs/sha256`).
public struct BlobFolder: ArtifactSource {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public func localFile(sha256: String) throws -> String? {
        guard BundleManifest.isSHA256Hex(sha256) else { return nil }
        let path = directory + "/" + sha256
        return FileManager.default.isReadableFile(atPath: path) ? path : nil
    }

    public func pushImage(reference: String, to registry: String) throws -> String {
        throw ArtifactDeliveryError.noImages(reference: reference)
    }
}
