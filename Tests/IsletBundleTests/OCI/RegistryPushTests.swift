import Foundation
import Testing

@testable import IsletBundle

/// Pushes into a real, empty docker-registry playing the internal registry; uploads are counted from its
/// access log.
@Suite(.serialized) struct RegistryPushTests {
    static let amd64 = Platform(os: "linux", architecture: "amd64")
    static let arm64 = Platform(os: "linux", architecture: "arm64")

    final class Workspace {
        let pull: RegistryPullTests.Workspace
        let internalRegistry: RegistryServer

        init() throws {
            pull = try RegistryPullTests.Workspace()
            internalRegistry = try RegistryServer()
        }

        deinit { internalRegistry.stop() }

        var client: RegistryClient {
            loopbackClient(RegistryOptions(plainHTTPHosts: [pull.upstream.host, internalRegistry.host]))
        }

        func uploads(since start: Int) throws -> [String] {
            try internalRegistry.requests().dropFirst(start)
                .filter { ["PUT", "POST", "PATCH"].contains($0.method) }.map { "\($0.method) \($0.path)" }
        }
    }

    /// Push, pull back: equal digests; a second push sends nothing; skopeo copies the same layout to the
    /// same digest and reads what islet pushed.
    @Test func pushThenPullBackGivesEqualDigestsAndRepeatsWithoutUploading() throws {
        let work = try Workspace()
        let built = try work.pull.images.build(name: "app", platforms: ["linux/amd64", "linux/arm64"], style: .oci)
        try work.pull.images.seed("app", to: "\(work.pull.upstream.host)/team/app:1.0")
        let upstream = try work.pull.reference("team/app:1.0")
        let pulled = try work.client.pull(upstream, platforms: [Self.amd64, Self.arm64], into: work.pull.layout)

        let target = try upstream.internalReference(at: work.internalRegistry.host)
        #expect(target.repository == "127.0.0.1_\(work.pull.upstream.port)/team/app")
        let board = TransferBoard()
        let shown = loopbackClient(
            RegistryOptions(plainHTTPHosts: [work.pull.upstream.host, work.internalRegistry.host], board: board))
        let report = try shown.push(upstream, from: work.pull.layout, to: target)
        #expect(report.digest == pulled.digest)
        #expect(report.blobsSent == 5)  // 2 configs, 2 own layers, 1 shared layer
        #expect(board.frame().finishedCount == 5)
        #expect(report.blobsSkipped == 0)
        #expect(report.blobsMounted == 0)
        #expect(report.manifestsSent == 3)
        let expectedBytes = Set(built.blobs(of: "linux/amd64") + built.blobs(of: "linux/arm64"))
            .filter { !$0.mediaType.contains("manifest") }.reduce(0) { $0 + $1.size }
        #expect(report.bytesSent == Int64(expectedBytes))

        let start = try work.internalRegistry.requests().count
        let again = try work.client.push(upstream, from: work.pull.layout, to: target)
        #expect(again.blobsSent == 0)
        #expect(again.bytesSent == 0)
        #expect(again.blobsSkipped == 5)
        #expect(again.manifestsSent == 0)
        #expect(try work.uploads(since: start) == [])

        // The same image under another name: every blob is mounted from the first repository, none sent.
        let client = work.client
        try client.push(upstream, from: work.pull.layout, to: target)
        let alias = try ImageReference(parsing: "\(work.internalRegistry.host)/alias/app:1.0")
        let beforeAlias = try work.internalRegistry.requests().count
        let aliased = try client.push(upstream, from: work.pull.layout, to: alias)
        #expect(aliased.blobsMounted == 5)
        #expect(aliased.blobsSent == 0)
        #expect(try work.uploads(since: beforeAlias).filter { $0.hasPrefix("PUT") && $0.contains("/blobs/") } == [])

        let back = try ImageLayout.create(at: "\(work.pull.directory)/back")
        let pulledBack = try work.client.pull(target, platforms: [Self.amd64, Self.arm64], into: back)
        #expect(pulledBack.digest == pulled.digest)
        #expect(try back.blobs().map(\.digest) == work.pull.layout.blobs().map(\.digest))

        let raw = try skopeo(["inspect", "--raw", "--tls-verify=false", "docker://\(target)"])
        #expect(Digest.of(Array(raw.utf8)) == pulled.digest)
        // skopeo pushing the same layout lands on the same digest.
        let other = try RegistryServer()
        defer { other.stop() }
        try skopeo([
            "copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
            "oci:\(work.pull.layout.path):\(upstream)",
            "docker://\(other.host)/\(target.repository):\(target.tag!)",
        ])
        let skopeoRaw = try skopeo([
            "inspect", "--raw", "--tls-verify=false", "docker://\(other.host)/\(target.repository):1.0",
        ])
        #expect(Digest.of(Array(skopeoRaw.utf8)) == pulled.digest)
    }

    /// distribution refuses an index whose entries it does not hold: that is why a pull of some platforms
    /// records a trimmed index, which pushes.
    @Test func theRegistryRefusesAnUntrimmedPartialIndexAndTakesTheTrimmedOne() throws {
        let work = try Workspace()
        let built = try work.pull.images.build(name: "app", platforms: ["linux/amd64", "linux/arm64"], style: .oci)
        try work.pull.images.seed("app", to: "\(work.pull.upstream.host)/team/app:1.0")
        let upstream = try work.pull.reference("team/app:1.0")
        let pulled = try work.client.pull(upstream, platforms: [Self.amd64], into: work.pull.layout)
        let target = try upstream.internalReference(at: work.internalRegistry.host)
        let report = try work.client.push(upstream, from: work.pull.layout, to: target)
        #expect(report.digest == pulled.digest)
        #expect(report.manifestsSent == 2)

        let original = try descriptor(built.root)
        let location = work.client.location(registry: target.registry, repository: target.repository)
        #expect {
            try work.client.putManifest(
                try work.pull.layout.read(original), as: original, tagOrDigest: "untrimmed", at: location)
        } throws: { error in
            "\(error)".contains("HTTP 400") && "\(error)".contains("MANIFEST_BLOB_UNKNOWN")
        }
    }

    @Test func anImageNotInTheLayoutOrWithAMissingBlobIsRefusedBeforeSending() throws {
        let work = try Workspace()
        let built = try work.pull.images.build(name: "app", platforms: ["linux/amd64"], style: .oci)
        try work.pull.images.seed("app", to: "\(work.pull.upstream.host)/team/app:1.0")
        let upstream = try work.pull.reference("team/app:1.0")
        let target = try upstream.internalReference(at: work.internalRegistry.host)
        #expect {
            try work.client.push(upstream, from: work.pull.layout, to: target)
        } throws: { error in
            "\(error)"
                == "image \(upstream) is not in the OCI layout \(work.pull.layout.path) (no index.json entry names it)"
        }
        try work.client.pull(upstream, platforms: [Self.amd64], into: work.pull.layout)
        let layer = built.layers["linux/amd64"]![1]
        unlink(work.pull.layout.blobPath(try Digest(layer.digest)))
        let start = try work.internalRegistry.requests().count
        #expect {
            try work.client.push(upstream, from: work.pull.layout, to: target)
        } throws: { error in
            "\(error)"
                == "image \(upstream): blob \(layer.digest) is missing from the OCI layout \(work.pull.layout.path)"
        }
        #expect(try work.internalRegistry.requests().count == start)
    }

    /// A file is pushed as a blob referenced by a one-layer artifact manifest, so garbage collection keeps
    /// it, and fetched back by digest; a blob no manifest references is collected.
    @Test func fileArtifactsArePushedOnceFetchedByDigestAndSurviveGarbageCollection() throws {
        let work = try Workspace()
        let bytes = [UInt8]((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let file = try work.pull.layout.write(bytes, mediaType: "application/octet-stream")
        let host = work.internalRegistry.host

        let pushed = try work.client.pushFile(
            file, name: "kubeadm", version: "1.36.4", arch: "amd64", from: work.pull.layout, to: host)
        #expect(pushed.fileSent)
        #expect(pushed.reference.description == "\(host)/islet/files:kubeadm-1.36.4-amd64")
        let start = try work.internalRegistry.requests().count
        let again = try work.client.pushFile(
            file, name: "kubeadm", version: "1.36.4", arch: "amd64", from: work.pull.layout, to: host)
        #expect(!again.fileSent)
        #expect(again.manifestDigest == pushed.manifestDigest)
        #expect(try work.uploads(since: start) == [])

        let manifest = try toolOutput([
            "/usr/bin/curl", "-sf", "-H", "Accept: \(MediaType.ociManifest)",
            "http://\(host)/v2/islet/files/manifests/kubeadm-1.36.4-amd64",
        ])
        #expect(Digest.of(Array(manifest.utf8)) == pushed.manifestDigest)
        #expect(manifest.contains("\"artifactType\":\"application/vnd.islet.file.v1\""))

        let lonely = try work.pull.layout.write(
            Array("a blob no manifest names".utf8), mediaType: "application/octet-stream")
        #expect(try work.client.pushBlob(lonely, from: work.pull.layout, to: host, repository: FileArtifact.repository))
        try toolOutput(["/usr/bin/docker-registry", "garbage-collect", "\(work.internalRegistry.directory)/config.yml"])
        #expect(FileManager.default.fileExists(atPath: work.internalRegistry.blobDataPath(file.digest.hex)))
        #expect(!FileManager.default.fileExists(atPath: work.internalRegistry.blobDataPath(lonely.digest.hex)))

        // A node's view: the blob by digest, with curl, equal to the file.
        let fetched = "\(work.pull.directory)/fetched"
        try toolOutput(["/usr/bin/curl", "-sf", "-o", fetched, "http://\(host)/v2/islet/files/blobs/\(file.digest)"])
        #expect(try FileDigest.sha256(ofFileAt: fetched).digest == file.digest.hex)
        // And islet's: into another layout, verified.
        let other = try ImageLayout.create(at: "\(work.pull.directory)/other")
        #expect(try work.client.fetchBlob(file, from: host, repository: FileArtifact.repository, into: other))
        #expect(try other.read(file, limit: 1 << 20) == bytes)
        #expect(try !work.client.fetchBlob(file, from: host, repository: FileArtifact.repository, into: other))
    }
}
