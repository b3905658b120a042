import Foundation

/// An OCI image manifest or a Docker v2 schema 2 manifest: one platform's config and layers.
public struct ImageManifest: Sendable, Codable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(
        mediaType: String = MediaType.ociManifest, artifactType: String? = nil, config: Descriptor,
        layers: [Descriptor], annotations: [String: String]? = nil
    ) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.artifactType = artifactType
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }

    /// The config and the layers: every blob the manifest needs.
    public var blobs: [Descriptor] { [config] + layers }
}

/// An OCI image index or a Docker manifest list: one manifest per platform.
public struct ImageIndex: Sendable, Codable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
    public var annotations: [String: String]?
}

/// A manifest as read from a registry or a layout: its exact bytes (its digest is theirs) and what they say.
public struct Manifest: Sendable {
    public enum Content: Sendable {
        case image(ImageManifest)
        case index(ImageIndex)
    }

    public let bytes: [UInt8]
    public let mediaType: String
    public let content: Content

    public var descriptor: Descriptor { Descriptor(mediaType: mediaType, bytes: bytes) }

    /// Parses `bytes` read from `source` (a URL or a file, named in errors). The media type is the one in
    /// the document, else `contentType` (the registry's Content-Type), else guessed from the fields.
    /// - Throws: `OCIError.unsupportedManifest` for Docker schema 1 and unknown types, `.malformed` for JSON
    ///   that is not a manifest.
    public init(bytes: [UInt8], contentType: String? = nil, source: String) throws {
        struct Head: Decodable {
            var schemaVersion: Int?
            var mediaType: String?
            var manifests: [IgnoredElement]?
            var config: IgnoredElement?
        }
        struct IgnoredElement: Decodable {}
        let data = Data(bytes)
        let head: Head
        do {
            head = try JSONDecoder().decode(Head.self, from: data)
        } catch {
            throw OCIError.malformed(source: source, reason: "not a JSON manifest (\(Self.summary(error)))")
        }
        let declaredType = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
        if head.schemaVersion == 1 || declaredType == MediaType.dockerSchema1
            || declaredType == MediaType.dockerSchema1Signed
        {
            throw OCIError.unsupportedManifest(
                source: source, mediaType: declaredType ?? MediaType.dockerSchema1,
                reason: "Docker schema 1 is deprecated and has no content-addressed config; "
                    + "ask the publisher for a schema 2 or OCI image")
        }
        var type = head.mediaType ?? declaredType ?? ""
        if !MediaType.isManifest(type) {
            if head.mediaType == nil && head.manifests != nil {
                type = MediaType.ociIndex
            } else if head.mediaType == nil && head.config != nil {
                type = MediaType.ociManifest
            } else {
                throw OCIError.unsupportedManifest(
                    source: source, mediaType: type.isEmpty ? "(none)" : type,
                    reason: "expected an OCI or Docker v2 manifest or index")
            }
        }
        do {
            if MediaType.isIndex(type) {
                content = .index(try JSONDecoder().decode(ImageIndex.self, from: data))
            } else {
                content = .image(try JSONDecoder().decode(ImageManifest.self, from: data))
            }
        } catch {
            throw OCIError.malformed(source: source, reason: "not a valid \(type) (\(Self.summary(error)))")
        }
        self.bytes = bytes
        self.mediaType = type
    }

    /// Reads a manifest from bytes that must have `expected`'s digest and size.
    public init(bytes: [UInt8], expected: Descriptor, source: String) throws {
        let actual = Digest.of(bytes)
        guard actual == expected.digest else {
            throw OCIError.digestMismatch(source: source, expected: expected.digest, actual: actual)
        }
        try self.init(bytes: bytes, contentType: expected.mediaType.isEmpty ? nil : expected.mediaType, source: source)
    }

    /// The index with only the entries `keep` accepts, every other field as it was, as new bytes (and so
    /// a new digest). Keys are sorted so that trimming the same index the same way gives the same digest.
    public func trimmed(keeping keep: (Descriptor) -> Bool) throws -> Manifest {
        guard case .index(let index) = content,
            var object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let entries = object["manifests"] as? [Any], entries.count == index.manifests.count
        else {
            throw OCIError.malformed(source: "index \(descriptor.digest)", reason: "cannot be trimmed")
        }
        object["manifests"] = zip(entries, index.manifests).filter { keep($0.1) }.map(\.0)
        if object["mediaType"] == nil { object["mediaType"] = mediaType }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return try Manifest(bytes: [UInt8](data), contentType: mediaType, source: "trimmed index")
    }

    static func summary(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "'\(path)': \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}

/// The platform fields of an image config: where a single-platform image says what it runs on.
struct ConfigPlatform: Decodable {
    var os: String?
    var architecture: String?
    var variant: String?

    var platform: Platform? {
        guard let os, let architecture else { return nil }
        return Platform(os: os, architecture: architecture, variant: variant)
    }
}
