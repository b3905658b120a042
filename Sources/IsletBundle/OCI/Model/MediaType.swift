/// The media types of OCI and Docker v2 images that islet reads, writes and pushes.
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    /// Docker schema 1: refused, it carries no content-addressed config and registries dropped it.
    public static let dockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json"
    public static let dockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"

    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    /// The OCI 1.1 empty descriptor's type: the config of an artifact that has none.
    public static let ociEmpty = "application/vnd.oci.empty.v1+json"

    /// The Accept header of every manifest request: all four types islet understands.
    public static let manifestAccept = [ociIndex, ociManifest, dockerManifestList, dockerManifest].joined(
        separator: ", ")

    public static func isIndex(_ type: String) -> Bool { type == ociIndex || type == dockerManifestList }
    public static func isImageManifest(_ type: String) -> Bool { type == ociManifest || type == dockerManifest }
    public static func isManifest(_ type: String) -> Bool { isIndex(type) || isImageManifest(type) }
}
