import Foundation

/// Where apply takes the bytes of file artifacts from: the bundle the operator carried in.
public protocol ArtifactSource: Sendable {
    /// A readable local file holding the blob with this sha256 (hex), or nil when the source lacks it.
    func localFile(sha256: String) throws -> String?

    /// Pushes the image the source holds under `reference` (upstream, as a stack names it) into the registry
    /// at `store`, under its internal name: the upstream host as the first path element. Only blobs the
    /// registry lacks are sent.
    /// - Returns: one line for the log (what was sent).
    func pushImage(reference: String, to store: StoreEndpoint) throws -> String
}

/// Where islet reaches the artifact store's registry from the operator's machine.
public struct StoreEndpoint: Sendable, Equatable {
    /// `host:port` as the store's certificate names it (the store node's address).
    public var authority: String
    /// `host:port` where this machine connects to it: a port forward to the store node.
    public var connectAddress: String
    /// The PEM certificate of the authority to trust for HTTPS; nil: plain HTTP to `connectAddress`.
    public var certificateAuthority: String?
    /// The user the store asks for; nil: none.
    public var credentials: Credentials? = nil

    public struct Credentials: Sendable, Equatable {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    public init(authority: String, connectAddress: String, certificateAuthority: String?) {
        self.authority = authority
        self.connectAddress = connectAddress
        self.certificateAuthority = certificateAuthority
    }
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

    public func pushImage(reference: String, to store: StoreEndpoint) throws -> String {
        throw ArtifactDeliveryError.noImages(reference: reference)
    }
}
