import Foundation

/// `bundle.json`: what an air-gap bundle holds and for what it was made.
///
/// One writer (`bundle create`) and several readers (`verify`, `list`, `plan --bundle`) share this model, so the
/// file is written in one canonical form (the schema's key order, 2-space indent, slashes unescaped) and read
/// strictly: a key islet does not know, a malformed digest or a path that climbs out of the bundle is refused
/// with the field named, because a bundle is carried across a trust boundary and read on the far side.
public struct BundleManifest: Sendable, Equatable {
    public static let fileName = "bundle.json"
    public static let apiVersion = "islet/v1"
    public static let kind = "Bundle"

    /// When the bundle was made; written to the second, in UTC.
    public var createdAt: Date
    public var islet: IsletBinary
    public var inventory: InventoryDigest
    public var stacks: StacksTree
    /// The node architectures the bundle serves (`amd64`, `arm64`).
    public var architectures: [String]
    public var files: [File]
    public var images: [Image]
    /// Every blob under `oci/blobs`, images' and files' alike; written sorted by digest.
    public var blobs: [Blob]

    public init(
        createdAt: Date, islet: IsletBinary, inventory: InventoryDigest, stacks: StacksTree,
        architectures: [String], files: [File], images: [Image], blobs: [Blob]
    ) {
        self.createdAt = createdAt
        self.islet = islet
        self.inventory = inventory
        self.stacks = stacks
        self.architectures = architectures
        self.files = files
        self.images = images
        self.blobs = blobs
    }

    /// The islet binary that made the bundle, so the closed site runs the same version.
    public struct IsletBinary: Sendable, Equatable {
        public var version: String
        /// Relative to the bundle's root, normally `bin/islet`.
        public var path: String
        public var sha256: String
        public var size: Int64

        public init(version: String, path: String = "bin/islet", sha256: String, size: Int64) {
            self.version = version
            self.path = path
            self.sha256 = sha256
            self.size = size
        }
    }

    /// The sha256 of the inventory file's bytes the bundle was made from.
    public struct InventoryDigest: Sendable, Equatable {
        public var sha256: String

        public init(sha256: String) { self.sha256 = sha256 }
    }

    /// The stacks the bundle was made for, copied in; `sha256` is `StacksTreeDigest`'s digest of that folder.
    public struct StacksTree: Sendable, Equatable {
        /// Relative to the bundle's root, normally `stacks`.
        public var path: String
        public var sha256: String

        public init(path: String = "stacks", sha256: String) {
            self.path = path
            self.sha256 = sha256
        }
    }

    /// A downloaded file, stored as the blob of its sha256 so it can be pushed and fetched by digest.
    public struct File: Sendable, Equatable {
        public var name: String
        public var stack: String
        public var version: String
        /// The architecture it is built for; nil for a file every architecture shares.
        public var arch: String?
        public var url: String
        public var sha256: String
        public var size: Int64
        /// The member to take out of the downloaded archive, or nil when the file is used as downloaded.
        public var extract: String?
        /// False when the stack declares no sha256 for this version and `--allow-unpinned` took what it got.
        public var pinned: Bool
        /// Set when `--replace NAME=FILE` put a local file in place of the declared download.
        public var replaced: Replacement?

        public init(
            name: String, stack: String, version: String, arch: String?, url: String, sha256: String, size: Int64,
            extract: String? = nil, pinned: Bool = true, replaced: Replacement? = nil
        ) {
            self.name = name
            self.stack = stack
            self.version = version
            self.arch = arch
            self.url = url
            self.sha256 = sha256
            self.size = size
            self.extract = extract
            self.pinned = pinned
            self.replaced = replaced
        }

        /// `sha256:<hex>`: the blob that holds this file.
        public var blobDigest: String { BundleManifest.Blob.prefix + sha256 }

        public struct Replacement: Sendable, Equatable {
            /// The local path given to `--replace`, as the operator wrote it.
            public var source: String

            public init(source: String) { self.source = source }
        }
    }

    /// A container image, stored in the bundle's OCI layout under its upstream reference.
    public struct Image: Sendable, Equatable {
        public var name: String
        public var stack: String
        public var version: String
        /// The upstream reference, e.g. `quay.io/argoproj/argocd:v3.4.4`; also its ref.name in `oci/index.json`.
        public var reference: String
        /// `sha256:<hex>` of the manifest or index the reference resolved to.
        public var digest: String
        public var mediaType: String
        /// The platforms present in the bundle, e.g. `linux/amd64`.
        public var platforms: [String]
        public var pinned: Bool

        public init(
            name: String, stack: String, version: String, reference: String, digest: String, mediaType: String,
            platforms: [String], pinned: Bool = true
        ) {
            self.name = name
            self.stack = stack
            self.version = version
            self.reference = reference
            self.digest = digest
            self.mediaType = mediaType
            self.platforms = platforms
            self.pinned = pinned
        }
    }

    /// One content-addressed blob under `oci/blobs/sha256/`.
    public struct Blob: Sendable, Equatable {
        public static let prefix = "sha256:"

        /// `sha256:<hex>`.
        public var digest: String
        public var size: Int64

        public init(digest: String, size: Int64) {
            self.digest = digest
            self.size = size
        }

        /// The 64 hex digits after `sha256:`.
        public var hex: String { String(digest.dropFirst(Self.prefix.count)) }

        /// Where the blob lives, relative to the bundle's root.
        public var path: String { Self.path(ofDigest: digest) }

        /// `oci/blobs/sha256/<hex>` for a `sha256:<hex>` digest.
        public static func path(ofDigest digest: String) -> String {
            "oci/blobs/sha256/" + digest.dropFirst(prefix.count)
        }
    }
}

// MARK: - Reading and writing

extension BundleManifest {
    /// The canonical bytes of `bundle.json`: keys in schema order, 2-space indent, slashes unescaped, blobs sorted
    /// by digest, a final newline.
    public func encoded() -> Data {
        var text = ""
        OrderedJSON.write(json, into: &text, indent: 0)
        return Data((text + "\n").utf8)
    }

    /// Reads and checks `bundle.json`.
    /// - Parameter file: how to name the file in errors (its path, or `FILE.tar:bundle.json`).
    /// - Throws: `BundleManifestError` naming the file, the field and what was expected.
    public static func decode(_ data: Data, file: String = fileName) throws -> BundleManifest {
        do {
            return try JSONDecoder().decode(BundleManifest.self, from: data)
        } catch let error as ManifestFieldError {
            throw BundleManifestError(file: file, field: JSONDocument.path(error.codingPath), problem: error.problem)
        } catch {
            throw BundleManifestError(file: file, field: nil, problem: JSONDocument.describe(error))
        }
    }

    private var json: OrderedJSON {
        .object([
            ("apiVersion", .string(Self.apiVersion)),
            ("kind", .string(Self.kind)),
            ("createdAt", .string(Self.timestamp(createdAt))),
            (
                "islet",
                .object([
                    ("version", .string(islet.version)), ("path", .string(islet.path)),
                    ("sha256", .string(islet.sha256)), ("size", .integer(islet.size)),
                ])
            ),
            ("inventory", .object([("sha256", .string(inventory.sha256))])),
            ("stacks", .object([("path", .string(stacks.path)), ("sha256", .string(stacks.sha256))])),
            ("architectures", .array(architectures.map(OrderedJSON.string))),
            ("files", .array(files.map(\.json))),
            ("images", .array(images.map(\.json))),
            (
                "blobs",
                .array(
                    blobs.sorted { $0.digest.utf8.lexicographicallyPrecedes($1.digest.utf8) }.map {
                        .object([("digest", .string($0.digest)), ("size", .integer($0.size))])
                    })
            ),
        ])
    }

    /// `2026-12-02T08:40:00Z`: RFC 3339 in UTC, whole seconds.
    public static func timestamp(_ date: Date) -> String {
        var format = Date.ISO8601FormatStyle()
        format.timeZone = TimeZone(identifier: "UTC")!
        return Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)).formatted(format)
    }
}

extension BundleManifest.File {
    fileprivate var json: OrderedJSON {
        .object([
            ("name", .string(name)), ("stack", .string(stack)), ("version", .string(version)),
            ("arch", arch.map(OrderedJSON.string) ?? .null), ("url", .string(url)), ("sha256", .string(sha256)),
            ("size", .integer(size)), ("extract", extract.map(OrderedJSON.string) ?? .null),
            ("pinned", .bool(pinned)),
            ("replaced", replaced.map { .object([("source", .string($0.source))]) } ?? .null),
        ])
    }
}

extension BundleManifest.Image {
    fileprivate var json: OrderedJSON {
        .object([
            ("name", .string(name)), ("stack", .string(stack)), ("version", .string(version)),
            ("reference", .string(reference)), ("digest", .string(digest)), ("mediaType", .string(mediaType)),
            ("platforms", .array(platforms.map(OrderedJSON.string))), ("pinned", .bool(pinned)),
        ])
    }
}

/// `bundle.json` is not what islet expects: which file, which field, and what was expected.
public struct BundleManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// The field's path (`files[2].sha256`), or nil when the document as a whole is wrong.
    public var field: String?
    public var problem: String

    public init(file: String, field: String?, problem: String) {
        self.file = file
        self.field = field
        self.problem = problem
    }

    public var description: String {
        if let field { return "\(file): field '\(field)': \(problem)" }
        return "\(file): \(problem)"
    }
}

// MARK: - Strict decoding

extension BundleManifest: Decodable {
    private enum Key: String, CodingKey, CaseIterable {
        case apiVersion, kind, createdAt, islet, inventory, stacks, architectures, files, images, blobs
    }

    public init(from decoder: Decoder) throws {
        let container = try strictContainer(decoder, Key.self)
        let apiVersion = try container.decode(String.self, forKey: .apiVersion)
        guard apiVersion == Self.apiVersion else {
            throw ManifestFieldError(
                container.codingPath + [Key.apiVersion],
                "is '\(apiVersion)'; expected '\(Self.apiVersion)' (a bundle made by another islet version?)")
        }
        let kind = try container.decode(String.self, forKey: .kind)
        guard kind == Self.kind else {
            throw ManifestFieldError(container.codingPath + [Key.kind], "is '\(kind)'; expected '\(Self.kind)'")
        }
        let created = try container.decode(String.self, forKey: .createdAt)
        guard let date = try? Date.ISO8601FormatStyle().parse(created) else {
            throw ManifestFieldError(
                container.codingPath + [Key.createdAt],
                "is '\(created)'; expected a UTC time such as 2026-12-02T08:40:00Z")
        }
        createdAt = date
        islet = try container.decode(IsletBinary.self, forKey: .islet)
        inventory = try container.decode(InventoryDigest.self, forKey: .inventory)
        stacks = try container.decode(StacksTree.self, forKey: .stacks)
        architectures = try container.decode([String].self, forKey: .architectures)
        for (index, arch) in architectures.enumerated() where arch.isEmpty {
            throw ManifestFieldError(
                container.codingPath + [Key.architectures, IndexKey(index)], "is empty; expected e.g. amd64")
        }
        files = try container.decode([File].self, forKey: .files)
        images = try container.decode([Image].self, forKey: .images)
        blobs = try container.decode([Blob].self, forKey: .blobs)
        var seen: Set<String> = []
        for (index, blob) in blobs.enumerated() where !seen.insert(blob.digest).inserted {
            throw ManifestFieldError(
                container.codingPath + [Key.blobs, IndexKey(index)],
                "lists \(blob.digest) a second time; expected every blob once")
        }
    }
}

extension BundleManifest.IsletBinary: Decodable {
    private enum Key: String, CodingKey, CaseIterable { case version, path, sha256, size }

    public init(from decoder: Decoder) throws {
        let container = try strictContainer(decoder, Key.self)
        version = try container.decode(String.self, forKey: .version)
        path = try decodeRelativePath(container, .path)
        sha256 = try decodeHex(container, .sha256)
        size = try decodeSize(container, .size)
    }
}

extension BundleManifest.InventoryDigest: Decodable {
    private enum Key: String, CodingKey, CaseIterable { case sha256 }

    public init(from decoder: Decoder) throws {
        sha256 = try decodeHex(try strictContainer(decoder, Key.self), .sha256)
    }
}

extension BundleManifest.StacksTree: Decodable {
    private enum Key: String, CodingKey, CaseIterable { case path, sha256 }

    public init(from decoder: Decoder) throws {
        let container = try strictContainer(decoder, Key.self)
        path = try decodeRelativePath(container, .path)
        sha256 = try decodeHex(container, .sha256)
    }
}

extension BundleManifest.File: Decodable {
    private enum Key: String, CodingKey, CaseIterable {
        case name, stack, version, arch, url, sha256, size, extract, pinned, replaced
    }

    public init(from decoder: Decoder) throws {
        let container = try strictContainer(decoder, Key.self)
        name = try decodeName(container, .name)
        stack = try decodeName(container, .stack)
        version = try decodeName(container, .version)
        arch = try container.decodeIfPresent(String.self, forKey: .arch)
        url = try container.decode(String.self, forKey: .url)
        sha256 = try decodeHex(container, .sha256)
        size = try decodeSize(container, .size)
        extract =
            try container.decodeIfPresent(String.self, forKey: .extract) == nil
            ? nil : decodeRelativePath(container, .extract)
        pinned = try container.decode(Bool.self, forKey: .pinned)
        replaced = try container.decodeIfPresent(Replacement.self, forKey: .replaced)
    }
}

extension BundleManifest.File.Replacement: Decodable {
    private enum Key: String, CodingKey, CaseIterable { case source }

    public init(from decoder: Decoder) throws {
        source = try strictContainer(decoder, Key.self).decode(String.self, forKey: .source)
    }
}

extension BundleManifest.Image: Decodable {
    private enum Key: String, CodingKey, CaseIterable {
        case name, stack, version, reference, digest, mediaType, platforms, pinned
    }

    public init(from decoder: Decoder) throws {
        let container = try strictContainer(decoder, Key.self)
        name = try decodeName(container, .name)
        stack = try decodeName(container, .stack)
        version = try decodeName(container, .version)
        reference = try decodeName(container, .reference)
        digest = try decodeDigest(container, .digest)
        mediaType = try decodeName(container, .mediaType)
        platforms = try container.decode([String].self, forKey: .platforms)
        pinned = try container.decode(Bool.self, forKey: .pinned)
    }
}

extension BundleManifest.Blob: Decodable {
    private enum Key: String, CodingKey, CaseIterable { case digest, size }

    public init(from decoder: Decoder) throws {
        let container = try strictContainer(decoder, Key.self)
        digest = try decodeDigest(container, .digest)
        size = try decodeSize(container, .size)
    }
}

/// A field that parsed as JSON but breaks the schema; turned into `BundleManifestError` by `decode`.
struct ManifestFieldError: Error {
    var codingPath: [CodingKey]
    var problem: String

    init(_ codingPath: [CodingKey], _ problem: String) {
        self.codingPath = codingPath
        self.problem = problem
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

private struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

/// A keyed container that refuses keys the schema does not have, naming the first such key (a typo such as
/// `sha265` would otherwise be read as a missing digest somewhere else).
private func strictContainer<K: CodingKey & CaseIterable & RawRepresentable>(_ decoder: Decoder, _: K.Type) throws
    -> KeyedDecodingContainer<K> where K.RawValue == String
{
    let known = K.allCases.map(\.rawValue)
    let all = try decoder.container(keyedBy: AnyKey.self)
    let unknown = all.allKeys.map(\.stringValue).filter { !known.contains($0) }.sorted()
    if let key = unknown.first {
        let hint = nearest(to: key, in: known).map { " (did you mean '\($0)'?)" } ?? ""
        throw ManifestFieldError(
            decoder.codingPath + [AnyKey(stringValue: key)],
            "unknown key\(hint); expected only \(humanList(known.map { "'\($0)'" }, conjunction: "and"))")
    }
    return try decoder.container(keyedBy: K.self)
}

private func decodeName<K: CodingKey>(_ container: KeyedDecodingContainer<K>, _ key: K) throws -> String {
    let value = try container.decode(String.self, forKey: key)
    guard !value.isEmpty else { throw ManifestFieldError(container.codingPath + [key], "is empty") }
    return value
}

/// 64 lowercase hex digits, as sha256sum prints them.
private func decodeHex<K: CodingKey>(_ container: KeyedDecodingContainer<K>, _ key: K) throws -> String {
    let value = try container.decode(String.self, forKey: key)
    guard BundleManifest.isSHA256Hex(value) else {
        throw ManifestFieldError(
            container.codingPath + [key], "is '\(value)'; expected a sha256 of 64 lowercase hex digits")
    }
    return value
}

/// `sha256:` and 64 lowercase hex digits, as OCI writes digests.
private func decodeDigest<K: CodingKey>(_ container: KeyedDecodingContainer<K>, _ key: K) throws -> String {
    let value = try container.decode(String.self, forKey: key)
    let prefix = BundleManifest.Blob.prefix
    guard value.hasPrefix(prefix), BundleManifest.isSHA256Hex(String(value.dropFirst(prefix.count))) else {
        throw ManifestFieldError(
            container.codingPath + [key], "is '\(value)'; expected 'sha256:' and 64 lowercase hex digits")
    }
    return value
}

private func decodeSize<K: CodingKey>(_ container: KeyedDecodingContainer<K>, _ key: K) throws -> Int64 {
    let value = try container.decode(Int64.self, forKey: key)
    guard value >= 0 else {
        throw ManifestFieldError(container.codingPath + [key], "is \(value); expected a size of 0 bytes or more")
    }
    return value
}

/// A path inside the bundle (or inside an archive): relative, and never climbing out with `..`.
private func decodeRelativePath<K: CodingKey>(_ container: KeyedDecodingContainer<K>, _ key: K) throws -> String {
    let path = try container.decode(String.self, forKey: key)
    guard BundleManifest.isContainedRelativePath(path) else {
        throw ManifestFieldError(
            container.codingPath + [key], "is '\(path)'; expected a relative path without '..' components")
    }
    return path
}

extension BundleManifest {
    /// True for 64 lowercase hex digits.
    public static func isSHA256Hex(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// True for a non-empty relative path none of whose components is `..`: it stays inside the folder it is
    /// relative to.
    public static func isContainedRelativePath(_ path: String) -> Bool {
        !path.isEmpty && !path.hasPrefix("/") && !path.split(separator: "/").contains("..")
    }
}

// MARK: - Canonical JSON

/// JSON with its keys in the order given: Foundation's encoder either sorts keys or leaves their order
/// unspecified, and prints `"key" : value`.
private indirect enum OrderedJSON {
    case string(String)
    case integer(Int64)
    case bool(Bool)
    case null
    case array([OrderedJSON])
    case object([(String, OrderedJSON)])

    static func write(_ value: OrderedJSON, into text: inout String, indent: Int) {
        let inner = String(repeating: " ", count: indent + 2)
        switch value {
        case .string(let string): text += jsonQuoted(string)
        case .integer(let number): text += String(number)
        case .bool(let flag): text += flag ? "true" : "false"
        case .null: text += "null"
        case .array(let items):
            guard !items.isEmpty else {
                text += "[]"
                return
            }
            text += "[\n"
            for (index, item) in items.enumerated() {
                text += inner
                write(item, into: &text, indent: indent + 2)
                text += index == items.count - 1 ? "\n" : ",\n"
            }
            text += String(repeating: " ", count: indent) + "]"
        case .object(let members):
            guard !members.isEmpty else {
                text += "{}"
                return
            }
            text += "{\n"
            for (index, (key, item)) in members.enumerated() {
                text += inner
                text += jsonQuoted(key)
                text += ": "
                write(item, into: &text, indent: indent + 2)
                text += index == members.count - 1 ? "\n" : ",\n"
            }
            text += String(repeating: " ", count: indent) + "}"
        }
    }
}
