import Crypto
import Foundation
import IsletCore

/// A small but complete bundle folder, built the way `bundle create` lays one out: blobs by digest under
/// `oci/blobs/sha256`, two file artifacts (one replaced and unpinned), one image (an index naming two
/// platforms of which only linux/amd64 is kept, its manifest, config and two layers), `bin/islet`, a stacks
/// tree and `bundle.json`. Contents are pseudo-random but fixed, so sizes and digests are the same every run.
public struct TestBundle {
    public let folder: String
    public let manifest: BundleManifest
    /// `sha256:<hex>` of each piece, for tests that damage one.
    public let toolDigest: String
    public let chartDigest: String
    public let indexDigest: String
    public let manifestDigest: String
    public let configDigest: String
    public let layerDigests: [String]
    public static let reference = "registry.example/demo/app:1.0"

    /// Builds the bundle in `folder` (created if needed).
    public init(in folder: String) throws {
        self.folder = folder
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: folder + "/oci/blobs/sha256", withIntermediateDirectories: true)
        try fileManager.createDirectory(atPath: folder + "/bin", withIntermediateDirectories: true)
        try fileManager.createDirectory(atPath: folder + "/stacks/demo/scripts", withIntermediateDirectories: true)

        var blobs: [BundleManifest.Blob] = []
        func store(_ bytes: [UInt8]) throws -> String {
            let digest = "sha256:" + Self.hex(bytes)
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/" + BundleManifest.Blob.path(ofDigest: digest)))
            blobs.append(.init(digest: digest, size: Int64(bytes.count)))
            return digest
        }
        func descriptor(_ mediaType: String, _ digest: String, _ size: Int, platform: String? = nil) -> String {
            let platformJSON = platform.map { ",\"platform\":{\"architecture\":\"\($0)\",\"os\":\"linux\"}" } ?? ""
            return "{\"mediaType\":\"\(mediaType)\",\"digest\":\"\(digest)\",\"size\":\(size)\(platformJSON)}"
        }

        let tool = Self.bytes(count: (1 << 20) + 5, seed: 1)
        let chart = Self.bytes(count: 2000, seed: 2)
        toolDigest = try store(tool)
        chartDigest = try store(chart)
        let layers = [Self.bytes(count: (3 << 20) + 123, seed: 3), Self.bytes(count: 10 << 10, seed: 4)]
        layerDigests = try layers.map(store)
        let config = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.utf8)
        configDigest = try store(config)
        let layerType = "application/vnd.oci.image.layer.v1.tar+gzip"
        let imageManifest = Array(
            ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":"
                + descriptor("application/vnd.oci.image.config.v1+json", configDigest, config.count)
                + ",\"layers\":["
                + zip(layerDigests, layers).map { descriptor(layerType, $0, $1.count) }.joined(separator: ",")
                + "]}").utf8)
        manifestDigest = try store(imageManifest)
        let manifestType = "application/vnd.oci.image.manifest.v1+json"
        let absentArm64 = "sha256:" + String(repeating: "0", count: 64)
        let index = Array(
            ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
                + descriptor(manifestType, manifestDigest, imageManifest.count, platform: "amd64") + ","
                + descriptor(manifestType, absentArm64, 1234, platform: "arm64") + "]}").utf8)
        indexDigest = try store(index)
        let indexType = "application/vnd.oci.image.index.v1+json"
        try Data(
            ("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"\(indexType)\",\"digest\":\"\(indexDigest)\","
                + "\"size\":\(index.count),\"annotations\":{\"org.opencontainers.image.ref.name\":\"\(Self.reference)\"}}]}")
                .utf8
        ).write(to: URL(fileURLWithPath: folder + "/oci/index.json"))
        try Data(#"{"imageLayoutVersion": "1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: folder + "/oci/oci-layout"))

        let islet = Self.bytes(count: 200 << 10, seed: 5)
        try Data(islet).write(to: URL(fileURLWithPath: folder + "/bin/islet"))
        chmod(folder + "/bin/islet", 0o755)
        try Data("name: demo\nsteps: []\n".utf8).write(to: URL(fileURLWithPath: folder + "/stacks/demo/stack.yaml"))
        try Data("#!/bin/sh\ntrue\n".utf8).write(to: URL(fileURLWithPath: folder + "/stacks/demo/scripts/run.sh"))
        chmod(folder + "/stacks/demo/scripts/run.sh", 0o755)

        manifest = BundleManifest(
            createdAt: Date(timeIntervalSince1970: 1_796_200_800),
            islet: .init(version: "0.1.0", sha256: Self.hex(islet), size: Int64(islet.count)),
            inventory: .init(sha256: Self.hex(Array("inventory".utf8))),
            stacks: .init(sha256: try StacksTreeDigest.digest(ofFolderAt: folder + "/stacks")),
            architectures: ["amd64"],
            files: [
                .init(
                    name: "tool", stack: "demo", version: "1.0", arch: "amd64",
                    url: "https://files.example/tool/1.0/amd64/tool", sha256: String(toolDigest.dropFirst(7)),
                    size: Int64(tool.count)),
                .init(
                    name: "chart", stack: "demo", version: "2.1", arch: nil, url: "https://files.example/chart-2.1.tgz",
                    sha256: String(chartDigest.dropFirst(7)), size: Int64(chart.count), extract: "chart/values.yaml",
                    pinned: false, replaced: .init(source: "/srv/patched/chart.tgz")),
            ],
            images: [
                .init(
                    name: "app", stack: "demo", version: "1.0", reference: Self.reference, digest: indexDigest,
                    mediaType: indexType, platforms: ["linux/amd64"])
            ],
            blobs: blobs)
        try manifest.encoded().write(to: URL(fileURLWithPath: folder + "/" + BundleManifest.fileName))
    }

    /// The path of a blob in the folder.
    public func path(ofBlob digest: String) -> String {
        folder + "/" + BundleManifest.Blob.path(ofDigest: digest)
    }

    /// Flips the bits of the byte at `offset` of the file at `path`.
    public static func flipByte(in path: String, at offset: Int) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        let byte = try handle.read(upToCount: 1)![0]
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: [~byte])
    }

    /// Cuts the file at `path` to `size` bytes.
    public static func truncate(_ path: String, to size: Int) {
        Glibc.truncate(path, off_t(size))
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Fixed pseudo-random bytes, incompressible like real layers: AES-256-GCM's keystream over zeros, under a key
    /// derived from `seed` (BoringSSL makes it at memory speed, even in a debug build).
    public static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        let key = SymmetricKey(data: SHA256.hash(data: withUnsafeBytes(of: seed.littleEndian) { Array($0) }))
        let nonce = try! AES.GCM.Nonce(data: [UInt8](repeating: 0, count: 12))
        return Array(try! AES.GCM.seal([UInt8](repeating: 0, count: count), using: key, nonce: nonce).ciphertext)
    }
}
