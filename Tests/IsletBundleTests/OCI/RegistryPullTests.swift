import Foundation
import Testing

@testable import IsletBundle

/// Pulls from a real docker-registry (distribution 2.8) on loopback, seeded by skopeo with images the test
/// builds; requests are counted from the registry's own access log.
@Suite(.serialized) struct RegistryPullTests {
    static let amd64 = Platform(os: "linux", architecture: "amd64")
    static let arm64 = Platform(os: "linux", architecture: "arm64")

    /// A workspace: the upstream registry, a source layout of built images, a layout to pull into.
    final class Workspace {
        let directory: String
        let upstream: RegistryServer
        var images: TestImages
        let layout: ImageLayout

        init() throws {
            directory = try makeScratchDirectory("islet-pull")
            upstream = try RegistryServer()
            images = try TestImages(layout: "\(directory)/source")
            layout = try ImageLayout.create(at: "\(directory)/bundle/oci")
        }

        deinit {
            upstream.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }

        var client: RegistryClient {
            loopbackClient(RegistryOptions(plainHTTPHosts: [upstream.host]))
        }

        func reference(_ path: String) throws -> ImageReference {
            try ImageReference(parsing: "\(upstream.host)/\(path)")
        }
    }

    /// Only the requested platform's manifest, config and layers are pulled; the layout records a trimmed
    /// index (the original kept beside it) and the platforms; a second pull sends no GET at all.
    @Test func pullKeepsOnlyTheRequestedPlatformAndRepeatsWithoutDownloading() throws {
        let work = try Workspace()
        let built = try work.images.build(name: "app", platforms: ["linux/amd64", "linux/arm64"], style: .oci)
        try work.images.seed("app", to: "\(work.upstream.host)/team/app:1.0")
        let reference = try work.reference("team/app:1.0")
        let before = try work.upstream.requests().count

        let board = TransferBoard()
        let shown = loopbackClient(RegistryOptions(plainHTTPHosts: [work.upstream.host], board: board))
        let pulled = try shown.pull(reference, platforms: [Self.arm64], into: work.layout)
        #expect(pulled.platforms.map(\.description) == ["linux/arm64"])
        // The board saw each blob streamed after the index: the arm64 manifest, its config, two layers.
        let finished = board.frame().events.compactMap { event -> TransferBoard.Item? in
            if case .finished(let item) = event { return item } else { return nil }
        }
        #expect(finished.count == 4)
        #expect(finished.allSatisfy { $0.bytes == $0.total && $0.name.hasPrefix("team/app ") })
        #expect(pulled.upstreamDigest.description == built.root.digest)
        #expect(pulled.trimmed)
        #expect(pulled.mediaType == MediaType.ociIndex)
        for blob in built.blobs(of: "linux/arm64") {
            #expect(work.layout.contains(try descriptor(blob)), "\(blob.digest)")
        }
        for blob in built.blobs(of: "linux/amd64") where blob.digest != built.sharedLayer!.digest {
            #expect(!work.layout.contains(try descriptor(blob)), "\(blob.digest) should not be pulled")
        }
        let entry = try #require(try work.layout.entry(for: reference))
        #expect(entry.digest == pulled.digest)
        #expect(entry.annotations?[Annotation.platforms] == "linux/arm64")
        #expect(entry.annotations?[Annotation.upstreamDigest] == built.root.digest)
        guard case .index(let trimmed) = try work.layout.manifest(entry).content else {
            Issue.record("the entry is not an index")
            return
        }
        #expect(trimmed.manifests.map(\.digest.description) == [built.manifests["linux/arm64"]!.digest])
        #expect(try work.layout.missingBlobs(for: reference) == [])
        let recorded = try #require(try work.layout.images().first)
        #expect(recorded.reference == reference)
        #expect(recorded.platforms == [Self.arm64])
        #expect(recorded.upstreamDigest == pulled.upstreamDigest)
        #expect(recorded.descriptor.digest == pulled.digest)
        let firstPull = try work.upstream.requests().dropFirst(before)
        let blobGets = firstPull.filter { $0.method == "GET" && $0.path.contains("/blobs/") }
        #expect(blobGets.count == 3)  // the arm64 config, the shared layer, the arm64 layer
        #expect(pulled.blobsFetched == 5)  // and the index and the arm64 manifest

        let between = try work.upstream.requests().count
        let again = try work.client.pull(reference, platforms: [Self.arm64], into: work.layout)
        #expect(again.digest == pulled.digest)
        #expect(again.blobsFetched == 0)
        let secondPull = try work.upstream.requests().dropFirst(between)
        #expect(secondPull.map(\.method) == ["HEAD"], "\(secondPull)")

        // skopeo reads the layout by the upstream name and sees the one platform.
        let raw = try skopeo(["inspect", "--raw", "oci:\(work.layout.path):\(reference)"])
        #expect(Digest.of(Array(raw.utf8)) == pulled.digest)
    }

    /// Pulling every platform keeps the index's bytes: the digest skopeo copies is the digest islet records.
    @Test func pullOfAllPlatformsKeepsTheIndexAsSkopeoCopiesIt() throws {
        let work = try Workspace()
        let built = try work.images.build(name: "app", platforms: ["linux/amd64", "linux/arm64"], style: .oci)
        try work.images.seed("app", to: "\(work.upstream.host)/team/app:2.0")
        let reference = try work.reference("team/app:2.0")
        let pulled = try work.client.pull(reference, platforms: [Self.amd64, Self.arm64], into: work.layout)
        #expect(!pulled.trimmed)
        #expect(pulled.digest.description == built.root.digest)
        #expect(Set(pulled.platforms.map(\.description)) == ["linux/amd64", "linux/arm64"])

        try skopeo([
            "copy", "--all", "--preserve-digests", "--src-tls-verify=false", "docker://\(reference)",
            "oci:\(work.directory)/skopeo:copy",
        ])
        let skopeoIndex = try ImageLayout.open(at: "\(work.directory)/skopeo").entries()
        #expect(skopeoIndex.map(\.digest) == [pulled.digest])
        for (digest, size) in try ImageLayout.open(at: "\(work.directory)/skopeo").blobs() {
            #expect(work.layout.contains(Descriptor(mediaType: "", digest: digest, size: size)), "\(digest)")
        }
    }

    /// Docker v2 manifest lists and single manifests, pinned digests, and platforms an image lacks.
    @Test func pullsDockerListsAndSingleManifestsAndNamesMissingPlatforms() throws {
        let work = try Workspace()
        let list = try work.images.build(name: "list", platforms: ["linux/amd64", "linux/arm64/v8"], style: .docker)
        let single = try work.images.build(
            name: "single", platforms: ["linux/amd64"], style: .docker, asIndex: false, salt: "s")
        try work.images.seedWithCurl(list, to: work.upstream.host, repository: "docker/list", tag: "1")
        try work.images.seedWithCurl(single, to: work.upstream.host, repository: "docker/single", tag: "1")

        let fromList = try work.client.pull(
            try work.reference("docker/list:1"), platforms: [Self.arm64], into: work.layout)
        #expect(fromList.mediaType == MediaType.dockerManifestList)
        #expect(fromList.platforms.map(\.description) == ["linux/arm64/v8"])
        #expect(fromList.upstreamDigest.description == list.root.digest)

        let pinned = try work.reference("docker/single@\(single.root.digest)")
        let fromSingle = try work.client.pull(pinned, platforms: [Self.amd64], into: work.layout)
        #expect(fromSingle.mediaType == MediaType.dockerManifest)
        #expect(fromSingle.digest.description == single.root.digest)
        #expect(fromSingle.platforms.map(\.description) == ["linux/amd64"])
        #expect(try work.layout.missingBlobs(for: pinned) == [])

        #expect {
            try work.client.pull(try work.reference("docker/single:1"), platforms: [Self.arm64], into: work.layout)
        } throws: { error in
            "\(error)"
                == "image \(work.upstream.host)/docker/single:1 is not available for linux/arm64 (it offers linux/amd64)"
        }
        let s390x = Platform(os: "linux", architecture: "s390x")
        let partial = try work.client.pull(
            try work.reference("docker/list:1"), platforms: [Self.amd64, s390x], into: work.layout,
            requireAllPlatforms: false)
        #expect(partial.platforms.map(\.description) == ["linux/amd64"])
        #expect(partial.unavailablePlatforms == [s390x])
        #expect {
            try work.client.pull(
                try work.reference("docker/list:1"), platforms: [s390x],
                into: work.layout)
        } throws: { error in
            "\(error)".hasSuffix("is not available for linux/s390x (it offers linux/amd64, linux/arm64/v8)")
        }
        #expect {
            try work.client.pull(try work.reference("docker/none:1"), platforms: [], into: work.layout)
        } throws: { error in
            "\(error)".hasPrefix("HEAD http://\(work.upstream.host)/v2/docker/none/manifests/1: HTTP 404")
        }
    }

    /// Bytes that do not match their digest are refused, naming the URL and both digests, and not stored.
    @Test func aBlobThatDoesNotMatchItsDigestIsRefusedAndNotStored() throws {
        let work = try Workspace()
        let built = try work.images.build(
            name: "app", platforms: ["linux/amd64", "linux/arm64"], style: .oci, layerBytes: 9000)
        try work.images.seed("app", to: "\(work.upstream.host)/team/app:1.0")
        let victim = built.layers["linux/amd64"]![1]
        let stored = work.upstream.blobDataPath(String(victim.digest.dropFirst(7)))
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: stored)))
        bytes[bytes.count / 2] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: stored))

        let reference = try work.reference("team/app:1.0")
        #expect {
            try work.client.pull(reference, platforms: [Self.amd64], into: work.layout)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix(
                "http://\(work.upstream.host)/v2/team/app/blobs/\(victim.digest): content has digest sha256:")
                && text.hasSuffix("expected \(victim.digest)")
        }
        #expect(!work.layout.contains(try descriptor(victim)))
        #expect(try work.layout.entry(for: reference) == nil)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(work.layout.path)/blobs/sha256")
            .filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)

        // A manifest is checked the same way.
        let manifest = built.manifests["linux/arm64"]!
        let manifestPath = work.upstream.blobDataPath(String(manifest.digest.dropFirst(7)))
        // Still valid JSON (distribution parses a manifest before serving it): one hex digit of the config's
        // digest changed.
        var manifestBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: manifestPath)))
        let hexDigit = try #require(String(decoding: manifestBytes, as: UTF8.self).range(of: "sha256:"))
            .upperBound.utf16Offset(in: String(decoding: manifestBytes, as: UTF8.self))
        manifestBytes[hexDigit] = manifestBytes[hexDigit] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        try Data(manifestBytes).write(to: URL(fileURLWithPath: manifestPath))
        #expect {
            try work.client.pull(reference, platforms: [Self.arm64], into: work.layout)
        } throws: { error in
            "\(error)".hasPrefix(
                "http://\(work.upstream.host)/v2/team/app/manifests/\(manifest.digest): content has digest")
        }
        #expect(!work.layout.contains(try descriptor(manifest)))
    }

    /// A layer cut off part-way is resumed where it stopped (a Range request) and still checked whole.
    @Test func aBlobCutOffPartWayResumesWithARangeRequest() throws {
        let work = try Workspace()
        let built = try work.images.build(name: "app", platforms: ["linux/amd64"], style: .oci, noiseBytes: 1 << 20)
        try work.images.seed("app", to: "\(work.upstream.host)/team/app:1.0")
        let layer = built.layers["linux/amd64"]![1]
        #expect(layer.size > 1 << 20)
        let proxy = try CuttingProxy(upstreamPort: work.upstream.port, cutOn: layer.digest, after: 300_000)
        defer { proxy.stop() }
        let client = loopbackClient(RegistryOptions(plainHTTPHosts: [proxy.host]))
        let reference = try ImageReference(parsing: "\(proxy.host)/team/app:1.0")
        let pulled = try client.pull(reference, platforms: [Self.amd64], into: work.layout)
        #expect(pulled.digest.description == built.root.digest)
        #expect(work.layout.contains(try descriptor(layer)))
        let gets = proxy.requests().filter { $0.hasPrefix("GET ") && $0.contains(layer.digest) }
        #expect(gets.count == 2, "\(gets)")
        let resumedFrom = gets.last?.split(separator: "=").last.flatMap { Int($0.dropLast()) } ?? 0
        #expect(gets.last?.hasSuffix("range=bytes=\(resumedFrom)-") == true, "\(gets)")
        #expect(resumedFrom > 0 && resumedFrom < 300_000)
    }

    /// A registry that is not up yet is retried with backoff; without retries the pull fails at once.
    @Test func aRegistryThatIsNotUpYetIsRetried() throws {
        let work = try Workspace()
        _ = try work.images.build(name: "app", platforms: ["linux/amd64"], style: .oci)
        try work.images.seed("app", to: "\(work.upstream.host)/team/app:1.0")
        let reference = try work.reference("team/app:1.0")
        work.upstream.interrupt()
        let impatient = loopbackClient(RegistryOptions(plainHTTPHosts: [work.upstream.host]), retry: .none)
        #expect(throws: HTTPError.self) { try impatient.pull(reference, platforms: [], into: work.layout) }

        let upstream = work.upstream
        let restarted = DispatchSemaphore(value: 0)
        Thread {
            usleep(300_000)
            try? upstream.resume()
            restarted.signal()
        }.start()
        let patient = loopbackClient(
            RegistryOptions(plainHTTPHosts: [work.upstream.host]),
            retry: RetryPolicy(attempts: 10, initialDelay: 0.2, maxDelay: 1))
        let pulled = try patient.pull(reference, platforms: [], into: work.layout)
        restarted.wait()
        #expect(pulled.blobsFetched == 5)  // index, manifest, config, two layers
        #expect(try work.layout.missingBlobs(for: reference) == [])
    }

    /// A mirror serves the upstream host's images under a prefix; the layout keeps the upstream name.
    @Test func mirrorsServeTheUpstreamName() throws {
        let work = try Workspace()
        let built = try work.images.build(name: "app", platforms: ["linux/amd64"], style: .oci)
        try work.images.seed("app", to: "\(work.upstream.host)/quay-proxy/team/app:1.0")
        let client = loopbackClient(
            RegistryOptions(
                plainHTTPHosts: [work.upstream.host],
                mirrors: try Mirrors(rules: ["quay.example=\(work.upstream.host)/quay-proxy"])))
        let reference = try ImageReference(parsing: "quay.example/team/app:1.0")
        let pulled = try client.pull(reference, platforms: [Self.amd64], into: work.layout)
        #expect(pulled.digest.description == built.root.digest)
        #expect(try work.layout.entry(for: reference)?.digest == pulled.digest)
    }
}

func descriptor(_ blob: TestImages.Blob) throws -> Descriptor {
    Descriptor(mediaType: blob.mediaType, digest: try Digest(blob.digest), size: Int64(blob.size))
}
