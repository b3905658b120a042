import Foundation
import Testing

@testable import IsletBundle
@testable import IsletCore

/// Apply with a bundle and a declared artifact store, on local nodes, with a real docker-registry on
/// loopback as the store: the operator sends each file once (to the store node), the other nodes fetch it
/// from the store, and the images go into the store under their internal names.
@Suite(.serialized) struct StoreDeliveryTests {
    /// Counts what apply takes from the bundle.
    final class CountingBundle: ArtifactSource, @unchecked Sendable {
        let bundle: OpenedBundle
        private let lock = NSLock()
        private var files: [String] = []
        init(_ bundle: OpenedBundle) { self.bundle = bundle }
        var filesTaken: [String] { lock.withLock { files } }
        func localFile(sha256: String) throws -> String? {
            lock.withLock { files.append(sha256) }
            return try bundle.localFile(sha256: sha256)
        }
        func pushImage(reference: String, to registry: StoreEndpoint) throws -> String {
            try bundle.pushImage(reference: reference, to: registry)
        }
    }

    final class Site {
        let directory: String
        let files: LoopbackHTTPServer
        let upstream: RegistryServer
        let store: RegistryServer
        var images: TestImages
        static let tool = Array("#!/bin/sh\necho tool 1.0\n".utf8)

        init() throws {
            directory = try makeScratchDirectory("islet-store")
            files = try LoopbackHTTPServer()
            upstream = try RegistryServer()
            store = try RegistryServer()
            images = try TestImages(layout: directory + "/source")
            _ = try files.serve("/tool-1.0-amd64", bytes: Self.tool)
            _ = try images.build(name: "app", platforms: ["linux/amd64", "linux/arm64"], style: .oci)
            try images.seed("app", to: "\(upstream.host)/team/app:1.0")
            let digest = Digest.of(Self.tool).hex
            try write(
                "stacks/store/stack.yaml",
                """
                apiVersion: islet/v1
                kind: Stack
                name: store
                roles: [{name: registry, min: 1, max: 1}, {name: worker}]
                settings: [{key: store.port, type: port, default: 5000, description: the store's port}]
                artifactStore: {step: service, port: settings.store.port}
                artifacts:
                  files:
                    - {name: tool, version: {value: "1.0"}, url: "\(files.baseURL)/tool-{version}-{arch}", sha256: {"1.0": {amd64: \(digest)}}}
                  images:
                    - {name: app, reference: "\(upstream.host)/team/app:1.0"}
                steps:
                  - name: service
                    roles: [registry]
                    inputs: {PORT: settings.store.port}
                    check: curl -fsS -o /dev/null "http://127.0.0.1:$PORT/v2/"
                    apply: curl -fsS -o /dev/null "http://127.0.0.1:$PORT/v2/"
                  - name: install
                    inputs: {TOOL: artifacts.tool, APP: artifacts.app}
                    check: cmp -s "$ISLET_ROOT$TOOL" "$ISLET_ROOT/opt/tool"
                    apply: mkdir -p "$ISLET_ROOT/opt" && cp "$ISLET_ROOT$TOOL" "$ISLET_ROOT/opt/tool"
                """)
            try write(
                "inventory.yaml",
                """
                apiVersion: islet/v1
                kind: Inventory
                cluster: {name: site}
                nodes:
                  - {name: r1, address: 127.0.0.1, roles: [registry, worker]}
                  - {name: w1, address: 10.9.0.2, roles: [worker]}
                  - {name: w2, address: 10.9.0.3, roles: [worker]}
                settings: {store: {port: \(store.port)}}
                """)
        }

        deinit {
            files.stop()
            upstream.stop()
            store.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }

        func write(_ path: String, _ text: String) throws {
            let full = directory + "/" + path
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }

        func workspace(bundle: BundleManifest? = nil) throws -> Workspace {
            try Workspace.load(
                inventoryPath: directory + "/inventory.yaml", stacksDirectory: directory + "/stacks", statePath: nil,
                bundle: bundle)
        }

        func apply(_ source: CountingBundle) async throws -> (Plan, ApplyResult) {
            let workspace = try self.workspace(bundle: source.bundle.manifest)
            let connections = Connections(transport: LocalTransport(baseDirectory: directory + "/nodes"))
            let plan = await Planner(workspace: workspace).plan(connections: connections)
            let log = try RunLog(runsDirectory: workspace.store.runsDirectory, masker: Masker())
            let result = await Applier(workspace: workspace, artifacts: source)
                .apply(plan, connections: connections, log: log, observer: ApplyObserver())
            await connections.closeAll()
            return (plan, result)
        }
    }

    @Test func eachFileCrossesOnceAndTheOtherNodesFetchItFromTheStore() async throws {
        let site = try Site()
        _ = try BundleCreator(
            BundleRequest(
                workspace: try site.workspace(), inventoryPath: site.directory + "/inventory.yaml",
                output: site.directory + "/bundle", http: .loopback,
                registry: RegistryOptions(plainHTTPHosts: [site.upstream.host]), isletBinary: "/bin/true",
                isletVersion: "test")
        ).create()
        let source = CountingBundle(try OpenedBundle(opening: site.directory + "/bundle"))
        let digest = Digest.of(Site.tool).hex

        let (_, result) = try await site.apply(source)
        #expect(result.succeeded, "\(result.failures)")
        for node in ["r1", "w1", "w2"] {
            let placed = FileManager.default.contents(atPath: site.directory + "/nodes/\(node)/opt/tool")
            #expect(placed.map { Array($0) } == Site.tool, "\(node)")
        }
        #expect(source.filesTaken == [digest], "only the store node gets the file from the operator")
        #expect(
            result.artifacts
                == ArtifactTraffic(filesSent: 1, bytesSent: Int64(Site.tool.count), storeFetches: 2, imagesPushed: 1))
        let fetches = try site.store.requests().filter {
            $0.method == "GET" && $0.path == "/v2/islet/files/blobs/sha256:\(digest)"
        }
        #expect(fetches.count == 2, "w1 and w2 fetch from the store: \(fetches)")
        // The image is in the store under its internal name, for the worker's platform.
        let internalName = site.upstream.host.replacingOccurrences(of: ":", with: "_") + "/team/app"
        let tags = try toolOutput(["/usr/bin/curl", "-fsS", "http://\(site.store.host)/v2/\(internalName)/tags/list"])
        #expect(tags.contains("\"1.0\""), "\(tags)")

        // A manifest names the file in the store, so the registry's garbage collection keeps it.
        _ = try toolOutput([
            "/usr/bin/docker-registry", "garbage-collect", site.store.directory + "/config.yml",
        ])
        let kept = try toolOutput([
            "/usr/bin/curl", "-fsS", "-o", "/dev/null", "-w", "%{http_code}", "-I",
            "http://\(site.store.host)/v2/islet/files/blobs/sha256:\(digest)",
        ])
        #expect(kept == "200", "\(kept)")

        // Drift on w1: repaired from what it holds; nothing crosses again, nothing is pushed again.
        try FileManager.default.removeItem(atPath: site.directory + "/nodes/w1/opt/tool")
        let puts = try site.store.requests().filter { $0.method == "PUT" }.count
        let (plan, again) = try await site.apply(source)
        #expect(plan.actionable.map { "\($0.node) \($0.step) \($0.action.rawValue)" } == ["w1 store/install repair"])
        #expect(again.succeeded, "\(again.failures)")
        #expect(source.filesTaken == [digest])
        #expect(try site.store.requests().filter { $0.method == "PUT" }.count == puts)
    }
}
