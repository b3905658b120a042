import Foundation

@testable import IsletBundle

/// Real test images, written as an OCI image layout by hand (files and sha256, not islet's ImageLayout, so
/// the code under test is checked against an independent writer) and seeded into a registry with skopeo.
struct TestImages {
    struct Blob: Hashable {
        let mediaType: String
        let digest: String
        let size: Int
    }

    /// One built image: its root (index, list or manifest) and, per platform, its manifest and blobs.
    struct Image {
        let root: Blob
        let manifests: [String: Blob]
        let configs: [String: Blob]
        let layers: [String: [Blob]]
        /// The layer every platform shares.
        let sharedLayer: Blob?

        func blobs(of platform: String) -> [Blob] { [manifests[platform]!, configs[platform]!] + layers[platform]! }
    }

    enum Style {
        case oci
        case docker

        var index: String {
            self == .oci
                ? "application/vnd.oci.image.index.v1+json"
                : "application/vnd.docker.distribution.manifest.list.v2+json"
        }
        var manifest: String {
            self == .oci
                ? "application/vnd.oci.image.manifest.v1+json" : "application/vnd.docker.distribution.manifest.v2+json"
        }
        var config: String {
            self == .oci ? "application/vnd.oci.image.config.v1+json" : "application/vnd.docker.container.image.v1+json"
        }
        var layer: String {
            self == .oci
                ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.docker.image.rootfs.diff.tar.gzip"
        }
    }

    /// The OCI layout the images are written to (`skopeo copy oci:<layout>:<name>` reads them).
    let layout: String
    private var entries: [String] = []

    init(layout: String) throws {
        self.layout = layout
        try FileManager.default.createDirectory(atPath: "\(layout)/blobs/sha256", withIntermediateDirectories: true)
        try #"{"imageLayoutVersion":"1.0.0"}"#.write(toFile: "\(layout)/oci-layout", atomically: true, encoding: .utf8)
        try writeIndex()
    }

    /// An image for `platforms` (`linux/amd64` …) named `name` in the layout: one gzip tar layer shared by
    /// all, one of each platform's own, a config per platform; an index (or Docker list) when
    /// `asIndex`, else the single platform's manifest. `salt` makes the layers differ between images.
    mutating func build(
        name: String, platforms: [String], style: Style, asIndex: Bool = true, salt: String = "",
        layerBytes: Int = 4096,
        noiseBytes: Int = 0
    ) throws -> Image {
        let shared = try layer(files: ["etc/islet-base": Array("shared base layer \(salt)\n".utf8)], style: style)
        var manifests: [String: Blob] = [:]
        var configs: [String: Blob] = [:]
        var layers: [String: [Blob]] = [:]
        var entries: [String] = []
        for platform in platforms {
            let parts = platform.split(separator: "/").map(String.init)
            var filler = [UInt8](repeating: 0, count: layerBytes)
            for index in filler.indices {
                filler[index] = UInt8(truncatingIfNeeded: index &* 31 &+ platform.utf8.count)
            }
            // Noise does not compress: a layer of noiseBytes stays that large in the registry.
            let noise = (0..<noiseBytes).map { _ in UInt8.random(in: 0...255) }
            let own = try layer(
                files: [
                    "platform": Array("\(platform) \(salt)\n".utf8), "filler": filler.map { $0 % 26 + 97 },
                    "noise": noise,
                ],
                style: style)
            let imageLayers = [shared.blob, own.blob]
            let variant = parts.count > 2 ? ",\"variant\":\"\(parts[2])\"" : ""
            let config = try write(
                Array(
                    """
                    {"architecture":"\(parts[1])","os":"\(parts[0])"\(variant),"config":{"Env":["PATH=/bin"]},\
                    "rootfs":{"type":"layers","diff_ids":["sha256:\(shared.diffID)","sha256:\(own.diffID)"]}}
                    """.utf8), mediaType: style.config)
            let manifest = try write(
                Array(
                    """
                    {"schemaVersion":2,"mediaType":"\(style.manifest)",\
                    "config":\(json(config)),"layers":[\(imageLayers.map(json).joined(separator: ","))]}
                    """.utf8), mediaType: style.manifest)
            manifests[platform] = manifest
            configs[platform] = config
            layers[platform] = imageLayers
            let platformJSON = "{\"architecture\":\"\(parts[1])\",\"os\":\"\(parts[0])\"\(variant)}"
            entries.append(
                "{\"mediaType\":\"\(manifest.mediaType)\",\"digest\":\"\(manifest.digest)\",\"size\":\(manifest.size),"
                    + "\"platform\":\(platformJSON)}")
        }
        let root: Blob
        if asIndex {
            root = try write(
                Array(
                    "{\"schemaVersion\":2,\"mediaType\":\"\(style.index)\",\"manifests\":[\(entries.joined(separator: ","))]}"
                        .utf8),
                mediaType: style.index)
        } else {
            root = manifests[platforms[0]]!
        }
        self.entries.append(
            "{\"mediaType\":\"\(root.mediaType)\",\"digest\":\"\(root.digest)\",\"size\":\(root.size),"
                + "\"annotations\":{\"org.opencontainers.image.ref.name\":\"\(name)\"}}")
        try writeIndex()
        return Image(
            root: root, manifests: manifests, configs: configs, layers: layers,
            sharedLayer: platforms.count > 1 ? shared.blob : nil)
    }

    /// Pushes an image with curl, blob by blob and manifest by manifest (the registry API by hand): skopeo
    /// reads only OCI types from a layout, so Docker-typed images are seeded this way.
    func seedWithCurl(_ image: Image, to host: String, repository: String, tag: String) throws {
        let base = "http://\(host)/v2/\(repository)"
        let blobs = Set(image.configs.values).union(image.layers.values.flatMap { $0 })
        for blob in blobs {
            let started = try toolOutput(["/usr/bin/curl", "-sfi", "-X", "POST", "\(base)/blobs/uploads/"])
            guard let line = started.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("location:") })
            else { throw ToolFailed(command: ["curl", "POST"], status: -1, output: started) }
            let location = line.dropFirst("location:".count).trimmingCharacters(in: .whitespaces)
            try toolOutput([
                "/usr/bin/curl", "-sf", "-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary",
                "@\(layout)/blobs/sha256/\(blob.digest.dropFirst(7))", "\(location)&digest=\(blob.digest)",
            ])
        }
        for manifest in image.manifests.values.sorted(by: { $0.digest < $1.digest }) + [image.root] {
            let target = manifest.digest == image.root.digest ? tag : manifest.digest
            try toolOutput([
                "/usr/bin/curl", "-sf", "-X", "PUT", "-H", "Content-Type: \(manifest.mediaType)", "--data-binary",
                "@\(layout)/blobs/sha256/\(manifest.digest.dropFirst(7))", "\(base)/manifests/\(target)",
            ])
        }
    }

    /// Copies the image `name` of the layout to `destination` (`host/repo:tag`) over plain HTTP.
    func seed(_ name: String, to destination: String, credentials: String? = nil) throws {
        var arguments = ["copy", "--all", "--preserve-digests", "--dest-tls-verify=false"]
        if let credentials { arguments += ["--dest-creds", credentials] }
        try skopeo(arguments + ["oci:\(layout):\(name)", "docker://\(destination)"])
    }

    private func json(_ blob: Blob) -> String {
        "{\"mediaType\":\"\(blob.mediaType)\",\"digest\":\"\(blob.digest)\",\"size\":\(blob.size)}"
    }

    /// A gzip tar of `files`, made by tar and gzip; its diff ID is the digest of the uncompressed tar.
    private func layer(files: [String: [UInt8]], style: Style) throws -> (blob: Blob, diffID: String) {
        let scratch = try makeScratchDirectory("islet-layer")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let root = "\(scratch)/root"
        for (path, content) in files {
            let file = "\(root)/\(path)"
            try FileManager.default.createDirectory(
                atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(content).write(to: URL(fileURLWithPath: file))
        }
        try toolOutput([
            "/bin/tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-cf",
            "\(scratch)/layer.tar", "-C", root, ".",
        ])
        let tar = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(scratch)/layer.tar")))
        try toolOutput(["/bin/gzip", "-n", "\(scratch)/layer.tar"])
        let gzip = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(scratch)/layer.tar.gz")))
        return (try write(gzip, mediaType: style.layer), hex(tar))
    }

    private func write(_ bytes: [UInt8], mediaType: String) throws -> Blob {
        let digest = hex(bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: "\(layout)/blobs/sha256/\(digest)"))
        return Blob(mediaType: mediaType, digest: "sha256:\(digest)", size: bytes.count)
    }

    private func writeIndex() throws {
        let text = """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\(entries.joined(separator: ","))]}
            """
        try text.write(toFile: "\(layout)/index.json", atomically: true, encoding: .utf8)
    }
}

func hex(_ bytes: [UInt8]) -> String { Digest.of(bytes).hex }
