import Crypto
import Foundation
import Testing

@testable import IsletCore

/// File artifacts reach the nodes whose steps read them, once, checked by sha256 on the node.
@Suite struct ArtifactDeliveryTests {
    static let content = "#!/bin/sh\necho tool 1.0\n"
    static var digest: String { SHA256.hash(data: Data(content.utf8)).map { String(format: "%02x", $0) }.joined() }

    /// Counts what apply takes from the bundle.
    final class CountingSource: ArtifactSource, @unchecked Sendable {
        let folder: BlobFolder
        private let lock = NSLock()
        private var taken: [String] = []
        init(_ directory: String) { folder = BlobFolder(directory: directory) }
        var count: Int { lock.withLock { taken.count } }
        func localFile(sha256: String) throws -> String? {
            lock.withLock { taken.append(sha256) }
            return try folder.localFile(sha256: sha256)
        }
        func pushImage(reference: String, to registry: StoreEndpoint) throws -> String {
            try folder.pushImage(reference: reference, to: registry)
        }
    }

    /// Two nodes; `install` copies the tool from its artifact path, `report` (after it) reads it too.
    func platform(blob: String = content) -> (TestPlatform, CountingSource) {
        let platform = TestPlatform()
        platform.stack(
            "tools",
            """
            roles: [{name: worker, min: 1}]
            artifacts:
              files:
                - name: tool
                  version: {value: "1.0"}
                  url: https://dl.example/tool-{version}-{arch}
                  sha256: {"1.0": {amd64: \(Self.digest)}}
            steps:
              - name: install
                inputs: {TOOL: artifacts.tool}
                check: cmp -s "$ISLET_ROOT$TOOL" "$ISLET_ROOT/opt/tool"
                apply: mkdir -p "$ISLET_ROOT/opt" && cp "$ISLET_ROOT$TOOL" "$ISLET_ROOT/opt/tool"
              - name: report
                after: [install]
                inputs: {TOOL: artifacts.tool}
                check: test -f "$ISLET_ROOT/opt/report"
                apply: sh "$ISLET_ROOT$TOOL" > "$ISLET_ROOT/opt/report"
            """)
        platform.inventory(nodes: [("w1", ["worker"]), ("w2", ["worker"])])
        let blobs = platform.directory + "/bundle/blobs"
        try? FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        platform.write(blobs + "/" + Self.digest, blob)
        return (platform, CountingSource(blobs))
    }

    @Test func eachNodeGetsTheFileOnceAtItsPathByDigest() async throws {
        let (platform, source) = platform()
        let (_, result) = try await platform.apply(artifacts: source)
        #expect(result.succeeded, "\(result.failures)")
        for node in ["w1", "w2"] {
            #expect(platform.read(node: node, "/var/lib/islet/artifacts/sha256/\(Self.digest)") == Self.content)
            #expect(platform.read(node: node, "/opt/report") == "tool 1.0\n")
            let mode = try FileManager.default.attributesOfItem(
                atPath: platform.node(node, "/var/lib/islet/artifacts/sha256/\(Self.digest)"))[.posixPermissions]
            #expect(mode as? Int == 0o644)
        }
        // Two steps read it on each node: one upload per node.
        #expect(source.count == 2)
        // Nothing staged is left behind.
        for node in ["w1", "w2"] {
            let staged = try FileManager.default.contentsOfDirectory(atPath: platform.node(node, "/.islet-staging"))
            #expect(staged.isEmpty, "\(staged)")
        }
    }

    @Test func aNodeThatHoldsTheFileGetsNoUpload() async throws {
        let (platform, source) = platform()
        try await platform.apply(artifacts: source)
        try FileManager.default.removeItem(atPath: platform.node("w1", "/opt/tool"))  // drift: install repairs
        let (plan, result) = try await platform.apply(artifacts: source)
        #expect(plan.table == ["w1 tools/install repair"])
        #expect(result.succeeded, "\(result.failures)")
        #expect(source.count == 2)  // still the two uploads of the first apply
    }

    @Test func withoutABundleOnlyNodesThatHoldTheFileGoOn() async throws {
        let (platform, _) = platform()
        let (_, result) = try await platform.apply(artifacts: nil)
        #expect(!result.succeeded)
        let messages = result.failures.map { "\($0.change.node) \($0.change.step): \($0.outcome)" }
        #expect(
            messages.contains {
                $0.hasPrefix("w1 tools/install") && $0.contains("artifact tools/tool 1.0 amd64 is not on node w1 yet")
            }, "\(messages)")
        #expect(!FileManager.default.fileExists(atPath: platform.node("w1", "/opt/tool")))
    }

    /// A bundle whose blob does not hold what its name says: the node checks the sha256 and refuses it.
    @Test func aCorruptBlobIsRefusedOnTheNode() async throws {
        let (platform, source) = platform(blob: "not the tool\n")
        let (_, result) = try await platform.apply(artifacts: source)
        #expect(!result.succeeded)
        let messages = result.failures.map { "\($0.outcome)" }
        #expect(
            messages.contains { $0.contains("artifact tools/tool 1.0 amd64 could not be put in place on the node") },
            "\(messages)")
        let folder = platform.node("w1", "/var/lib/islet/artifacts/sha256")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: platform.node("w1", "/opt/tool")))
    }

    /// An archive declared with `extract`: the step sees the member's path, taken out next to the archive.
    @Test func aMemberIsTakenOutOfAnArchiveForTheStep() async throws {
        let platform = TestPlatform()
        let work = platform.directory + "/archive"
        try FileManager.default.createDirectory(atPath: work + "/linux-amd64", withIntermediateDirectories: true)
        platform.write(work + "/linux-amd64/tool", Self.content)
        platform.write(work + "/linux-amd64/README", "not wanted\n")
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-czf", platform.directory + "/tool.tar.gz", "-C", work, "linux-amd64"]
        try tar.run()
        tar.waitUntilExit()
        let archive = try Data(contentsOf: URL(fileURLWithPath: platform.directory + "/tool.tar.gz"))
        let digest = SHA256.hash(data: archive).map { String(format: "%02x", $0) }.joined()
        let blobs = platform.directory + "/bundle/blobs"
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        try archive.write(to: URL(fileURLWithPath: blobs + "/" + digest))
        platform.stack(
            "tools",
            """
            roles: [{name: worker, min: 1}]
            artifacts:
              files:
                - name: tool
                  version: {value: "1.0"}
                  url: https://dl.example/tool-{version}-linux-{arch}.tar.gz
                  sha256: {"1.0": {amd64: \(digest)}}
                  extract: linux-{arch}/tool
            steps:
              - name: install
                inputs: {TOOL: artifacts.tool}
                check: test -f "$ISLET_ROOT/opt/report"
                apply: mkdir -p "$ISLET_ROOT/opt" && sh "$ISLET_ROOT$TOOL" > "$ISLET_ROOT/opt/report"
            """)
        platform.inventory(nodes: [("w1", ["worker"])])
        let (_, result) = try await platform.apply(artifacts: BlobFolder(directory: blobs))
        #expect(result.succeeded, "\(result.failures)")
        #expect(platform.read(node: "w1", "/opt/report") == "tool 1.0\n")
        let member = "/var/lib/islet/artifacts/sha256/\(digest).d/linux-amd64"
        #expect(try FileManager.default.contentsOfDirectory(atPath: platform.node("w1", member)) == ["tool"])
    }
}
