import Foundation

/// What the inventory needs from the bundle: each file by version and architecture, each image by version,
/// with the digests the stacks pin. Only artifacts that a step placed on some node reads are needed, for the
/// architectures of those nodes. Built once per run from the desired graph.
public struct ArtifactNeeds: Sendable {
    public struct File: Sendable, Hashable {
        public var artifact: FileArtifact
        public var version: String
        /// nil for a file every architecture shares.
        public var arch: Architecture?
        public var url: String
        /// The pinned sha256; nil for a version the stack does not pin (only with `allowUnpinned`).
        public var sha256: String?
        public var extract: String?

        public var id: ArtifactID { artifact.id }
        /// How people name it: `kubernetes/kubeadm 1.36.4 amd64`.
        public var label: String { "\(artifact.id) \(version)" + (arch.map { " \($0.rawValue)" } ?? "") }
    }

    public struct Image: Sendable, Hashable {
        public var artifact: ImageArtifact
        /// nil for an image whose reference is fixed.
        public var version: String?
        /// The upstream reference, version filled in.
        public var reference: String
        /// The pinned digest, when the stack gives one.
        public var digest: String?
        /// Whether the stack pins this version (a fixed reference is pinned).
        public var pinned: Bool
        public var platforms: [Architecture]

        public var id: ArtifactID { artifact.id }
        public var label: String { "\(artifact.id) \(reference)" }
    }

    public private(set) var files: [File] = []
    public private(set) var images: [Image] = []
    /// The file each node reads, by artifact.
    private var fileByNode: [String: [ArtifactID: String]] = [:]
    /// Where each file is in `files`, by its label: `files` is the one copy a bundle's digests update.
    private var fileIndex: [String: Int] = [:]

    /// The file `node` reads as `id`.
    private func file(_ id: ArtifactID, on node: String) -> File? {
        fileByNode[node]?[id].flatMap { fileIndex[$0] }.map { files[$0] }
    }
    private var imageByID: [ArtifactID: Image] = [:]

    public init() {}

    /// - Parameters:
    ///   - allowUnpinned: accept versions the stacks do not pin (`bundle create --allow-unpinned`); they are
    ///     needed without a digest.
    ///   - extraArchitectures: architectures to collect besides the nodes' (`bundle create --arch`).
    /// - Throws: `ValidationFailure` naming each version or architecture no stack pins, at the artifact.
    public init(graph: DesiredGraph, allowUnpinned: Bool = false, extraArchitectures: [Architecture] = []) throws {
        let catalog = graph.catalog
        var declaredFiles: [ArtifactID: FileArtifact] = [:]
        var declaredImages: [ArtifactID: ImageArtifact] = [:]
        for stack in catalog.stacks {
            for file in stack.artifacts.files { declaredFiles[file.id] = file }
            for image in stack.artifacts.images { declaredImages[image.id] = image }
        }
        // Which artifacts are read on which nodes.
        var readers: [ArtifactID: Set<String>] = [:]
        for instance in graph.instances {
            guard let step = catalog.step(instance.step) else { continue }
            for input in step.inputs {
                if case .artifact(let id) = input.reference { readers[id, default: []].insert(instance.node) }
            }
        }
        let sink = DiagnosticSink()
        var filesByKey: [String: File] = [:]
        for (id, nodes) in readers.sorted(by: { $0.key < $1.key }) {
            let archs = Set(nodes.compactMap { graph.node(named: $0)?.arch }).union(extraArchitectures)
            if let file = declaredFiles[id] {
                guard let version = Self.version(of: file.version, in: graph.inventory) else {
                    sink.report(
                        file.location, "artifact '\(id)': its version \(file.version) is not set in the inventory")
                    continue
                }
                guard file.sha256[version] != nil || allowUnpinned else {
                    sink.report(
                        file.location, Self.unpinned(id, version: version, from: file.version, pins: file.sha256.keys))
                    continue
                }
                let needed: [Architecture?] = file.isArchitectureIndependent ? [nil] : archs.sorted().map { $0 }
                var byArch: [Architecture?: File] = [:]
                for arch in needed {
                    var digest =
                        arch.map { file.pinnedDigest(version: version, arch: $0) } ?? file.sha256[version]?["any"]
                    if digest == FileArtifact.unpublished { digest = nil }
                    if digest == nil && file.sha256[version] != nil && !allowUnpinned
                        && !file.isUnpublished(version: version, arch: arch)
                    {
                        let pinned = file.sha256[version]!.keys.sorted()
                        sink.report(
                            file.location,
                            "artifact '\(id)' \(version) is not pinned for \(arch?.rawValue ?? "any architecture") (nodes of that architecture read it); pinned: \(humanList(pinned, conjunction: "and")); expected a sha256 for it"
                        )
                        continue
                    }
                    let need = File(
                        artifact: file, version: version, arch: arch,
                        url: fillArtifactTemplate(file.url, version: version, arch: arch),
                        sha256: digest,
                        extract: file.extract.map { fillArtifactTemplate($0, version: version, arch: arch) })
                    byArch[arch] = need
                    filesByKey[need.label] = need
                }
                for node in nodes {
                    guard let arch = graph.node(named: node)?.arch else { continue }
                    if let need = byArch[file.isArchitectureIndependent ? nil : arch] {
                        fileByNode[node, default: [:]][id] = need.label
                    }
                }
            } else if let image = declaredImages[id] {
                var version: String?
                if let source = image.version {
                    guard let value = Self.version(of: source, in: graph.inventory) else {
                        sink.report(
                            image.location, "artifact '\(id)': its version \(source) is not set in the inventory")
                        continue
                    }
                    guard image.pins[value] != nil || allowUnpinned else {
                        sink.report(
                            image.location, Self.unpinned(id, version: value, from: source, pins: image.pins.keys))
                        continue
                    }
                    version = value
                }
                let key = version ?? ""
                let need = Image(
                    artifact: image, version: version,
                    reference: fillArtifactTemplate(image.reference, version: version ?? "", arch: nil),
                    digest: image.pins[key] ?? nil, pinned: image.pins[key] != nil, platforms: archs.sorted())
                imageByID[id] = need
                images.append(need)
            }
        }
        try sink.throwIfAny()
        files = filesByKey.values.sorted { $0.label < $1.label }
        fileIndex = Dictionary(uniqueKeysWithValues: files.enumerated().map { ($1.label, $0) })
    }

    /// What a bundle put in place of pinned downloads, and what it holds unpinned: plan says so plainly.
    public private(set) var replaced: [String] = []
    public private(set) var unpinned: [String] = []

    /// Takes each artifact's digest from the bundle (replaced and unpinned files carry their own) and checks
    /// that the bundle holds everything needed, for the nodes' architectures.
    /// - Throws: `BundleMismatch` naming each artifact the bundle lacks or holds differently.
    public mutating func resolve(against manifest: BundleManifest) throws {
        var problems: [String] = []
        let blobs = Set(manifest.blobs.map(\.digest))
        for index in files.indices {
            let need = files[index]
            let held = manifest.files.first {
                $0.stack == need.id.stack && $0.name == need.id.name && $0.version == need.version
                    && $0.arch == need.arch?.rawValue
            }
            guard let held else {
                let others = manifest.files.filter { $0.stack == need.id.stack && $0.name == need.id.name }
                    .map { "\($0.version)" + ($0.arch.map { " \($0)" } ?? "") }
                problems.append(
                    "the bundle lacks \(need.label)"
                        + (others.isEmpty ? "" : " (it holds \(humanList(others.sorted(), conjunction: "and")))"))
                continue
            }
            if let pinned = need.sha256, pinned != held.sha256, held.replaced == nil {
                problems.append("the bundle's \(need.label) has sha256 \(held.sha256), but the stack pins \(pinned)")
                continue
            }
            if !blobs.contains(held.blobDigest) {
                problems.append("the bundle lists \(need.label) but not its blob \(held.blobDigest)")
                continue
            }
            files[index].sha256 = held.sha256
            if let replacement = held.replaced { replaced.append("\(need.label) (from \(replacement.source))") }
            if !held.pinned { unpinned.append(need.label) }
        }
        for need in images {
            guard
                let held = manifest.images.first(where: {
                    $0.stack == need.id.stack && $0.name == need.id.name && $0.reference == need.reference
                })
            else {
                problems.append("the bundle lacks image \(need.reference) (\(need.id))")
                continue
            }
            let missing = need.platforms.map { "linux/\($0.rawValue)" }.filter { !held.platforms.contains($0) }
            if !missing.isEmpty {
                problems.append(
                    "the bundle's image \(need.reference) lacks platform(s) \(missing.joined(separator: ", ")) (it has \(held.platforms.joined(separator: ", ")))"
                )
            }
            if let pinned = need.digest, pinned != held.digest {
                problems.append("the bundle's image \(need.reference) is \(held.digest), but the stack pins \(pinned)")
            }
            if !held.pinned { unpinned.append(need.label) }
        }
        if !problems.isEmpty { throw BundleMismatch(problems: problems) }
        // A file or image still without a digest was asked for unpinned and the bundle does not hold it.
    }

    /// The value of an `artifacts.X` input on `node`: a file's content-addressed path there, an image's
    /// upstream reference (nodes resolve upstream names through the internal registry), pinned by digest
    /// when the stack gives one.
    public func inputValue(_ id: ArtifactID, node: String) -> String? {
        if let file = file(id, on: node) {
            return file.sha256.map { digest in
                file.extract.map { Self.nodePath(sha256: digest, member: $0) } ?? Self.nodePath(sha256: digest)
            }
        }
        if let image = imageByID[id] { return image.digest.map { "\(image.reference)@\($0)" } ?? image.reference }
        return nil
    }

    /// The file artifacts `step` reads on `node`, with their digests (unpinned ones without a digest are left
    /// out: they cannot be delivered without a bundle that recorded one).
    func files(readBy step: Step, on node: String) -> [(sha256: String, label: String, extract: String?)] {
        step.inputs.compactMap { input in
            guard case .artifact(let id) = input.reference, let file = file(id, on: node), let digest = file.sha256
            else { return nil }
            return (digest, file.label, file.extract)
        }
    }

    /// The upstream references of the images `step` reads.
    func images(readBy step: Step) -> [String] {
        step.inputs.compactMap { input in
            guard case .artifact(let id) = input.reference else { return nil }
            return imageByID[id]?.reference
        }
    }

    /// Where a file artifact lives on a node: by its digest, so a new build is a new path (and a new
    /// fingerprint for every step that reads it).
    public static func nodePath(sha256: String) -> String { "\(nodeDirectory)/\(sha256)" }

    /// The folder of file artifacts on every node.
    public static let nodeDirectory = "/var/lib/islet/artifacts/sha256"

    /// Where a member taken out of an archive artifact lives on a node: beside the archive, by its digest.
    public static func nodePath(sha256: String, member: String) -> String {
        nodePath(sha256: sha256) + ".d/" + member
    }

    static func version(of source: ArtifactVersion, in inventory: Inventory) -> String? {
        switch source {
        case .literal(let value): return value
        case .inventory(.cluster(let field)): return inventory.cluster.fields[field]
        case .inventory(.setting(let key)):
            guard let value = inventory.settings[key], case .string(let text) = value, !text.isEmpty else { return nil }
            return text
        case .inventory: return nil
        }
    }

    private static func unpinned(
        _ id: ArtifactID, version: String, from source: ArtifactVersion, pins: some Collection<String>
    ) -> String {
        let pinned = pins.sorted()
        return "artifact '\(id)': version \(version) (from \(source)) is not pinned by stack '\(id.stack)'; pinned: "
            + (pinned.isEmpty ? "none" : humanList(pinned, conjunction: "and"))
            + "; expected a pinned version, or `islet bundle create --allow-unpinned` to fetch it and record the digest it gets"
    }
}

/// The bundle does not hold what this plan needs, or holds it differently.
public struct BundleMismatch: Error, CustomStringConvertible, Equatable {
    public var problems: [String]

    public var description: String {
        "the bundle does not match what these stacks and this inventory need:\n"
            + problems.map { "  - \($0)" }.joined(separator: "\n")
            + "\nexpected a bundle made from them (islet bundle create -i INVENTORY)"
    }
}
