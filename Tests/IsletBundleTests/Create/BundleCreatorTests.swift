import Foundation
import IsletCore
import Testing

@testable import IsletBundle

/// `bundle create` against real servers on loopback: files from an HTTP server, an image from a
/// docker-registry seeded by skopeo. The result must pass `verify` and be readable by skopeo.
@Suite(.serialized) struct BundleCreatorTests {
    static let tool = Array("#!/bin/sh\necho tool 1.0\n".utf8)
    static var toolDigest: String { Digest.of(tool).hex }

    final class Site {
        let directory: String
        let files: LoopbackHTTPServer
        let upstream: RegistryServer
        var images: TestImages

        init() throws {
            directory = try makeScratchDirectory("islet-create")
            files = try LoopbackHTTPServer()
            upstream = try RegistryServer()
            images = try TestImages(layout: directory + "/source")
            _ = try files.serve("/tool-1.0-amd64", bytes: BundleCreatorTests.tool)
            _ = try images.build(name: "app", platforms: ["linux/amd64", "linux/arm64"], style: .oci)
            try images.seed("app", to: "\(upstream.host)/team/app:1.0")
        }

        deinit {
            files.stop()
            upstream.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// A stack reading one file and one image on a worker; `sha256` pins the file.
        func workspace(
            sha256: String = BundleCreatorTests.toolDigest, version: String = "1.0", allowUnpinned: Bool = false
        )
            throws -> Workspace
        {
            let stack = directory + "/stacks/tools"
            try FileManager.default.createDirectory(atPath: stack, withIntermediateDirectories: true)
            try """
            apiVersion: islet/v1
            kind: Stack
            name: tools
            roles: [{name: worker, min: 1}]
            settings: [{key: tool.version, type: string, default: "1.0", description: the tool's version}]
            artifacts:
              files:
                - name: tool
                  version: settings.tool.version
                  url: \(files.baseURL)/tool-{version}-{arch}
                  sha256: {"1.0": {amd64: \(sha256)}}
              images:
                - {name: app, reference: "\(upstream.host)/team/app:1.0"}
            steps:
              - {name: install, inputs: {TOOL: artifacts.tool, APP: artifacts.app}, check: "true", apply: "true"}
            """.write(toFile: stack + "/stack.yaml", atomically: true, encoding: .utf8)
            try """
            apiVersion: islet/v1
            kind: Inventory
            cluster: {name: site}
            nodes: [{name: w1, address: 10.9.0.1, roles: [worker]}]
            settings: {tool: {version: "\(version)"}}
            """.write(toFile: directory + "/inventory.yaml", atomically: true, encoding: .utf8)
            return try Workspace.load(
                inventoryPath: directory + "/inventory.yaml", stacksDirectory: directory + "/stacks", statePath: nil,
                allowUnpinned: allowUnpinned)
        }

        func request(_ workspace: Workspace, replacements: [String: String] = [:]) -> BundleRequest {
            BundleRequest(
                workspace: workspace, inventoryPath: directory + "/inventory.yaml", output: directory + "/bundle",
                replacements: replacements, http: .loopback,
                registry: RegistryOptions(plainHTTPHosts: [upstream.host]), isletBinary: "/bin/true",
                isletVersion: "test")
        }
    }

    @Test func createThenVerifyThenCreateAgainFetchingNothing() throws {
        let site = try Site()
        let manifest = try BundleCreator(site.request(try site.workspace())).create()
        #expect(manifest.files.map(\.sha256) == [Self.toolDigest])
        #expect(manifest.files.first?.pinned == true && manifest.files.first?.replaced == nil)
        #expect(manifest.images.map(\.platforms) == [["linux/amd64"]])
        #expect(manifest.architectures == ["amd64"])
        let verification = try BundleVerifier.verify(BundleSource(opening: site.directory + "/bundle"))
        #expect(verification.passed, "\(verification.render(location: "bundle"))")
        // skopeo reads the layout islet wrote.
        let inspected = try skopeo([
            "inspect", "--raw", "oci:\(site.directory)/bundle/oci:\(site.upstream.host)/team/app:1.0",
        ])
        #expect(inspected.contains("linux") || inspected.contains("schemaVersion"))

        let fileRequests = try site.files.requests().count
        let registryBefore = try site.upstream.requests().count
        let again = try BundleCreator(site.request(try site.workspace())).create()
        #expect(again.files == manifest.files && again.images == manifest.images)
        #expect(try site.files.requests().count == fileRequests, "the file was downloaded again")
        let blobGets = try site.upstream.requests().dropFirst(registryBefore).filter {
            $0.method == "GET" && $0.path.contains("/blobs/")
        }
        #expect(blobGets.isEmpty, "\(blobGets)")
    }

    @Test func aWrongPinnedDigestFailsNamingBothAndLeavesNoFile() throws {
        let site = try Site()
        let wrong = String(repeating: "0", count: 64)
        #expect {
            try BundleCreator(site.request(try site.workspace(sha256: wrong))).create()
        } throws: { error in
            let text = "\(error)"
            return text.contains("tools/tool 1.0 amd64") && text.contains(wrong) && text.contains(Self.toolDigest)
                && text.contains("/tool-1.0-amd64")
        }
        let blobs =
            (try? FileManager.default.contentsOfDirectory(atPath: site.directory + "/bundle/oci/blobs/sha256")) ?? []
        #expect(!blobs.contains { $0.hasPrefix(wrong) }, "\(blobs)")
        #expect(!FileManager.default.fileExists(atPath: site.directory + "/bundle/bundle.json"))
    }

    @Test func aReplacementAndAnUnpinnedVersionAreRecordedAsSuch() throws {
        let site = try Site()
        _ = try site.files.serve("/tool-2.0-amd64", bytes: Array("tool 2.0\n".utf8))
        let patched = site.directory + "/patched-tool"
        try Data("patched\n".utf8).write(to: URL(fileURLWithPath: patched))
        let unpinned = try BundleCreator(site.request(try site.workspace(version: "2.0", allowUnpinned: true))).create()
        #expect(unpinned.files.first?.pinned == false)
        #expect(unpinned.files.first?.sha256 == Digest.of(Array("tool 2.0\n".utf8)).hex)

        let replaced = try BundleCreator(site.request(try site.workspace(), replacements: ["tool": patched])).create()
        #expect(replaced.files.first?.replaced?.source == patched)
        #expect(replaced.files.first?.sha256 == Digest.of(Array("patched\n".utf8)).hex)
        #expect(
            throws: BundleCreateError.unknownReplacement(name: "nothing", known: ["tools/tool"])
        ) {
            try BundleCreator(site.request(try site.workspace(), replacements: ["nothing": patched])).create()
        }
    }
}
