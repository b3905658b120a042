/// A reference to content by media type, digest and size, as manifests, indexes and index.json hold them.
public struct Descriptor: Hashable, Sendable, Codable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var platform: Platform?
    public var annotations: [String: String]?
    public var artifactType: String?
    public var urls: [String]?

    public init(
        mediaType: String, digest: Digest, size: Int64, platform: Platform? = nil,
        annotations: [String: String]? = nil, artifactType: String? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.annotations = annotations
        self.artifactType = artifactType
    }

    /// The descriptor of `bytes` stored as `mediaType`.
    public init(mediaType: String, bytes: [UInt8]) {
        self.init(mediaType: mediaType, digest: .of(bytes), size: Int64(bytes.count))
    }
}

/// Annotation keys islet reads or writes.
public enum Annotation {
    /// The OCI layout's name of an image: islet sets it to the upstream reference, as skopeo looks it up.
    public static let refName = "org.opencontainers.image.ref.name"
    public static let title = "org.opencontainers.image.title"
    /// The digest the upstream tag resolved to, when islet stored a trimmed index in its place.
    public static let upstreamDigest = "io.islet.image.upstream-digest"
    /// The platforms present in the layout for this image, comma-separated.
    public static let platforms = "io.islet.image.platforms"
}
