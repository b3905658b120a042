import Foundation
import IsletTestSupport
import Testing

/// The bundle delivered over real SSH to four simulated nodes: node1 runs a real registry (Debian's
/// docker-registry, started by the test stack's `service` step) as the artifact store; the other three
/// fetch the file from it. The bytes islet sends to the nodes' SSH ports are counted by the kernel.
@Suite(.serialized, .freshTestbed(nodes: 4))
struct ArtifactStoreSSHTests {
    static let size = 4 << 20

    /// The stacks: `store` runs the registry on the registry node and declares it the artifact store;
    /// `tools` puts the file artifact in place on every node.
    func site() throws -> String {
        let dir = makeTemporaryDirectory("islet-e2e-store")
        try Testbed.inventory(nodes: 4, to: dir + "/inventory.yaml")
        let stacks = dir + "/stacks"
        try FileManager.default.createDirectory(atPath: stacks + "/store/templates", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: stacks + "/tools", withIntermediateDirectories: true)
        try """
        apiVersion: islet/v1
        kind: Stack
        name: store
        description: a real registry on the registry node, started by hand (the testbed has no systemd)
        roles:
          - {name: control-plane}
          - {name: registry, min: 1, max: 1}
          - {name: git}
          - {name: worker}
        settings: [{key: store.port, type: port, default: 5000, description: the registry's port}]
        artifactStore: {step: service, port: settings.store.port}
        steps:
          - name: service
            roles: [registry]
            inputs: {ADDRESS: node.address, PORT: settings.store.port}
            files: [{template: templates/registry.yml, destination: /etc/islet-test/registry.yml, mode: "0644"}]
            check: curl -fsS -o /dev/null "http://$ADDRESS:$PORT/v2/"
            apply: |
              mkdir -p /var/lib/islet-test-registry
              setsid docker-registry serve /etc/islet-test/registry.yml > /var/log/islet-test-registry.log 2>&1 < /dev/null &
              i=0
              until curl -fsS -o /dev/null "http://$ADDRESS:$PORT/v2/"; do
                i=$((i + 1)); [ "$i" -lt 100 ] || exit 1; sleep 0.1
              done
        """.write(toFile: stacks + "/store/stack.yaml", atomically: true, encoding: .utf8)
        try """
        version: 0.1
        storage: {filesystem: {rootdirectory: /var/lib/islet-test-registry}}
        http: {addr: "{{ADDRESS}}:{{PORT}}"}

        """.write(toFile: stacks + "/store/templates/registry.yml", atomically: true, encoding: .utf8)
        try """
        apiVersion: islet/v1
        kind: Stack
        name: tools
        artifacts:
          files:
            - name: blob
              version: {value: "1"}
              url: https://dl.invalid/blob-{version}-{arch}
              sha256: {"1": {amd64: \(String(repeating: "a", count: 64))}}
        steps:
          - name: install
            inputs: {BLOB: artifacts.blob}
            check: cmp -s "$BLOB" /opt/blob
            apply: mkdir -p /opt && cp "$BLOB" /opt/blob
        """.write(toFile: stacks + "/tools/stack.yaml", atomically: true, encoding: .utf8)
        var blob = [UInt8](repeating: 0, count: Self.size)
        for index in blob.indices { blob[index] = UInt8(truncatingIfNeeded: index &* 2_654_435_761 >> 13) }
        try Data(blob).write(to: URL(fileURLWithPath: dir + "/blob"))
        return dir
    }

    /// Counts bytes sent to the testbed's SSH ports while it lives (a counting rule, no verdict).
    final class SSHByteCounter {
        let chain = "ISLET_E2E_\(getpid())"
        let match: [String]

        init() throws {
            match = ["-p", "tcp", "-d", "\(Testbed.network).0/24", "--dport", "22", "-j", chain]
            _ = try runProgram(["/usr/sbin/iptables", "-N", chain])
            _ = try runProgram(["/usr/sbin/iptables", "-I", "OUTPUT"] + match)
        }

        var bytes: Int {
            let listing = (try? runProgram(["/usr/sbin/iptables", "-L", "OUTPUT", "-v", "-x", "-n"]).output) ?? ""
            let line = listing.split(separator: "\n").first { $0.contains(chain) }
            return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) } ?? -1
        }

        deinit {
            _ = try? runProgram(["/usr/sbin/iptables", "-D", "OUTPUT"] + match)
            _ = try? runProgram(["/usr/sbin/iptables", "-X", chain])
        }
    }

    @Test func theFileCrossesTheOperatorsLinkOnceAndEveryNodeHasIt() throws {
        let dir = try site()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let create = try IsletProcess.run(
            [
                "bundle", "create", "-i", "inventory.yaml", "--stacks", "stacks", "-o", "bundle", "--replace",
                "blob=blob",
            ],
            in: dir)
        #expect(create.status == 0, "\(create.output)")
        let counter = try SSHByteCounter()
        let apply = try IsletProcess.run(["apply", "--yes", "-i", "inventory.yaml", "--bundle", "bundle"], in: dir)
        let sent = counter.bytes
        #expect(apply.status == 0, "\(apply.output)")
        #expect(
            apply.stdout.contains("Artifacts: 1 file(s) sent from here (4.0 MiB), 3 fetched by nodes from the store"),
            "\(apply.output)")
        let local = try runProgram(["/usr/bin/sha256sum", dir + "/blob"]).output.prefix(64)
        for node in 1...4 {
            let digest = try Testbed.exec(node, "sha256sum /opt/blob | cut -d' ' -f1")
            #expect(digest.trimmingCharacters(in: .whitespacesAndNewlines) == String(local), "node\(node)")
        }
        // One copy and the scripts and handshakes of four nodes, not four copies.
        #expect(sent > Self.size && sent < Self.size + Self.size / 2, "bytes sent to the nodes' SSH ports: \(sent)")
    }
}
