import Foundation

/// A downloaded file (kubeadm, a chart) as an OCI artifact in the internal registry, so that nodes fetch it
/// over the LAN by digest (`GET /v2/islet/files/blobs/sha256:<hex>`) instead of over the operator's link.
///
/// The file is the single layer of a tiny OCI 1.1 artifact manifest (`artifactType`
/// `application/vnd.islet.file.v1`, the empty config), tagged `<name>-<version>-<arch>` in one repository:
/// a blob no manifest references would be removed by the registry's garbage collection.
public enum FileArtifact {
    public static let artifactType = "application/vnd.islet.file.v1"
    /// The internal repository that holds every file artifact.
    public static let repository = "islet/files"
    public static let layerMediaType = "application/octet-stream"
    /// The OCI empty descriptor's content, `{}`.
    static let emptyConfig: [UInt8] = Array("{}".utf8)

    /// The tag of a file: `<name>-<version>-<arch>`, with characters a tag cannot hold turned into `_`.
    /// - Throws: `.invalidReference` when it is longer than a tag may be (128).
    public static func tag(name: String, version: String, arch: String) throws -> String {
        let raw = "\(name)-\(version)-\(arch)"
        var tag = String(
            raw.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") ? $0 : "_" })
        if tag.first == "." || tag.first == "-" { tag = "_" + tag.dropFirst() }
        guard (1...128).contains(tag.utf8.count) else {
            throw OCIError.invalidReference(raw, reason: "a file artifact's tag must be 1 to 128 characters")
        }
        return tag
    }

    /// The artifact manifest of `file` (its digest and size), named `name` in the title annotation.
    public static func manifest(for file: Descriptor, name: String, version: String, arch: String) -> [UInt8] {
        var layer = Descriptor(mediaType: layerMediaType, digest: file.digest, size: file.size)
        layer.annotations = [Annotation.title: name]
        let manifest = ImageManifest(
            artifactType: artifactType,
            config: Descriptor(mediaType: MediaType.ociEmpty, bytes: emptyConfig),
            layers: [layer],
            annotations: ["io.islet.file.name": name, "io.islet.file.version": version, "io.islet.file.arch": arch])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try! encoder.encode(manifest))
    }
}

/// What pushing a file artifact did.
public struct FileArtifactPush: Sendable, Equatable {
    /// `registry/islet/files:<tag>`.
    public let reference: ImageReference
    public let manifestDigest: Digest
    /// Whether the file's bytes were sent (false: the registry had the blob).
    public let fileSent: Bool
}

extension RegistryClient {
    /// Pushes the file blob `file` of the layout to `registry` as a file artifact tagged
    /// `<name>-<version>-<arch>`: the blob (only if missing), the empty config, the manifest.
    public func pushFile(
        _ file: Descriptor, name: String, version: String, arch: String, from layout: ImageLayout,
        to registry: String
    ) throws -> FileArtifactPush {
        let tag = try FileArtifact.tag(name: name, version: version, arch: arch)
        let target = try ImageReference(registry: registry, repository: FileArtifact.repository, tag: tag, digest: nil)
        let sent = try pushBlob(file, from: layout, to: registry, repository: FileArtifact.repository)
        let location = location(registry: registry, repository: FileArtifact.repository)
        let config = Descriptor(mediaType: MediaType.ociEmpty, bytes: FileArtifact.emptyConfig)
        _ = try upload(.bytes(FileArtifact.emptyConfig), as: config, to: location)
        let bytes = FileArtifact.manifest(for: file, name: name, version: version, arch: arch)
        let manifest = Descriptor(mediaType: MediaType.ociManifest, bytes: bytes)
        _ = try putManifest(bytes, as: manifest, tagOrDigest: tag, at: location)
        return FileArtifactPush(reference: target, manifestDigest: manifest.digest, fileSent: sent)
    }
}
