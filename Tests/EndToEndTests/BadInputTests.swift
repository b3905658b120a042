import Foundation
import Testing

/// The real binary refuses every broken inventory before it touches anything: exit status 1, the first problem
/// at its exact line on standard error, and no state folder and no node folder left behind.
@Suite struct BadInputTests {
    /// `Tests/IsletCoreTests/Fixtures`: the broken inventories and valid stacks the library tests use.
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("IsletCoreTests/Fixtures").standardizedFileURL.path
    static let validStacks = fixtures + "/stacks"
    static let brokenInventories = fixtures + "/inventories/broken"

    /// The first diagnostic of each broken inventory (`LINE:COLUMN: message`); Tests/IsletCoreTests/Inputs/
    /// BadInputTests.swift holds the full list of each.
    static let firstProblem: [String: String] = [
        "alias-bomb-at-top-level":
            #"47:5: aliases expand to more than 100000 values or 16 MiB of text; expected aliases that repeat a small part of the file (is this an alias bomb?)"#,
        "alias-bomb-in-list-setting":
            #"43:7: aliases expand to more than 100000 values or 16 MiB of text; expected aliases that repeat a small part of the file (is this an alias bomb?)"#,
        "alias-bomb-in-roles":
            #"27:9: aliases expand to more than 100000 values or 16 MiB of text; expected aliases that repeat a small part of the file (is this an alias bomb?)"#,
        "app-missing-field": #"39:7: missing required field 'image' in 'settings.apps[0]'; expected a string"#,
        "app-port-out-of-range": #"41:13: 'settings.apps[0].port' is 0; expected a port number from 1 to 65535"#,
        "app-unknown-field": #"39:7: missing required field 'image' in 'settings.apps[0]'; expected a string"#,
        "apps-not-a-list": #"39:5: 'settings.apps' is a mapping; expected a list"#,
        "bad-become": #"14:11: 'ssh.become' is 'root'; expected sudo or none"#,
        "bad-connect-timeout": #"15:19: 'ssh.connectTimeout' is 0; expected seconds from 1 to 600"#,
        "bastion-invalid-host":
            #"29:15: 'nodes[worker2].ssh.bastion.host' is 'jump host'; expected an IP address or host name"#,
        "bastion-missing-host":
            #"29:9: missing required field 'host' in 'nodes[worker2].ssh.bastion'; expected the bastion's address"#,
        "bastion-not-a-mapping": #"28:16: 'nodes[worker2].ssh.bastion' is a scalar; expected a mapping"#,
        "bastion-unknown-key":
            #"30:9: unknown key 'usr' in 'nodes[worker2].ssh.bastion'; expected one of host, user, port, identityFile (did you mean 'user'?)"#,
        "duplicate-address-port":
            #"21:14: node 'worker1' has the same address and port 127.0.10.11:22 as node 'cp1'; expected each node at its own address:port"#,
        "duplicate-key":
            #"26:5: invalid YAML: duplicate key 'address' (first at line 24); expected each key once in a mapping"#,
        "duplicate-node-name": #"23:11: duplicate node name 'worker1' (first at line 20); expected unique names"#,
        "empty-file": #"1:1: the file is empty; expected a YAML mapping"#,
        "empty-node-roles":
            #"19:12: node 'cp1' has no roles; expected one or more of control-plane, worker, registry or git"#,
        "empty-nodes": #"16:8: 'nodes' is empty; expected at least one node"#,
        "invalid-cluster-name":
            #"5:9: 'cluster.name' is 'test_platform'; expected a DNS label (letters, digits and '-', at most 63)"#,
        "invalid-control-plane-endpoint":
            #"7:25: 'cluster.controlPlaneEndpoint' is '127.0.10.11'; expected HOST:PORT such as "10.20.0.10:6443""#,
        "invalid-hostname":
            #"24:14: address 'worker_2.cluster.internal' of node 'worker2' is not valid; expected an IP address or host name"#,
        "invalid-ip-address":
            #"21:14: address '127.0.10.300' of node 'worker1' is not valid; expected an IP address or host name"#,
        "invalid-kubernetes-version":
            #"6:22: 'cluster.kubernetesVersion' is '1.33'; expected a version MAJOR.MINOR.PATCH such as "1.33.4""#,
        "invalid-node-name":
            #"17:11: node name 'cp 1' is not a DNS label; expected letters, digits and '-', at most 63"#,
        "invalid-pod-subnet": #"8:14: 'cluster.podSubnet' is '10.244.0.0/33'; expected a CIDR such as 10.244.0.0/16"#,
        "invalid-service-subnet":
            #"9:18: 'cluster.serviceSubnet' is '10.96.0.0'; expected a CIDR such as 10.244.0.0/16"#,
        "invalid-yaml-indentation":
            #"19:12: invalid YAML: mapping values are not allowed in this context; expected each key at the indentation of its siblings, or a value with ': ' quoted"#,
        "invalid-yaml-syntax":
            #"21:5: invalid YAML: could not find expected ':' (while scanning a simple key); expected KEY: VALUE, with a colon and a space after the key"#,
        "missing-cluster":
            #"2:1: missing required field 'cluster' in 'inventory'; expected a mapping with the cluster's name and network"#,
        "missing-cluster-name":
            #"5:3: missing required field 'name' in 'cluster'; expected a DNS label such as 'prod-platform'"#,
        "identity-file-is-a-device":
            #"13:17: 'ssh.identityFile' /dev/zero is a device, not a regular file; expected a regular, readable private key file of at most 64 KiB"#,
        "identity-file-is-a-folder":
            #"13:17: 'ssh.identityFile' ../../keys is a folder; expected a regular, readable private key file of at most 64 KiB"#,
        "nesting-too-deep":
            #"38:14: invalid YAML: lists and mappings nested more than 1000 levels deep (counting what aliases repeat); expected at most 1000 levels"#,
        "non-utf8-byte": #"36:33: byte 0xE9 is not UTF-8; expected a UTF-8 text file"#,
        "setting-nul-byte":
            #"37:16: the value contains a NUL character; expected text without NUL, which no environment variable or file name can carry"#,
        "missing-node-address":
            #"17:5: missing required field 'address' in 'nodes item'; expected the node's IP address or host name"#,
        "missing-node-roles":
            #"20:5: missing required field 'roles' in 'nodes item'; expected a list of roles: control-plane, worker, registry or git"#,
        "missing-nodes": #"2:1: missing required field 'nodes' in 'inventory'; expected a list of nodes"#,
        "missing-required-setting":
            #"35:3: missing required setting 'settings.gitea.adminUser'; expected a string: the name of the git server's administrator (read by stack 'base')"#,
        "no-control-plane":
            #"16:1: no node holds role 'control-plane'; expected at least 1 (declared by stack 'base')"#,
        "no-git-node": #"16:1: no node holds role 'git'; expected exactly 1 (declared by stack 'base')"#,
        "nodes-not-a-list": #"17:3: 'nodes' is a mapping; expected a list"#,
        "not-a-mapping": #"2:1: 'inventory' is a list; expected a mapping"#,
        "overlapping-subnets":
            #"9:18: 'cluster.serviceSubnet' 10.244.128.0/20 overlaps 'cluster.podSubnet' 10.244.0.0/16; expected disjoint subnets"#,
        "roles-not-a-list": #"25:12: 'roles' is a scalar; expected a list"#,
        "setting-boolean-wrong-type": #"34:10: 'settings.registry.tls' is 'sometimes'; expected true or false"#,
        "setting-group-not-a-mapping": #"32:13: 'settings.registry' is a scalar; expected a mapping"#,
        "setting-wrong-type":
            #"33:11: 'settings.registry.port' is 'five-thousand'; expected a port number from 1 to 65535"#,
        "settings-not-a-mapping": #"32:3: 'settings' is a list; expected a mapping"#,
        "several-defects": #"8:14: 'cluster.podSubnet' is '10.244.0.0/33'; expected a CIDR such as 10.244.0.0/16"#,
        "ssh-port-not-a-number":
            #"27:13: 'nodes[worker2].ssh.port' is 'twenty-two'; expected a port number from 1 to 65535"#,
        "ssh-port-out-of-range": #"12:9: 'ssh.port' is 70000; expected a port number from 1 to 65535"#,
        "two-registry-nodes":
            #"22:21: 2 nodes (worker1, worker2) hold role 'registry'; expected exactly 1 (declared by stack 'base')"#,
        "unknown-cluster-key":
            #"8:3: unknown key 'podSubnets' in 'cluster'; expected one of name, kubernetesVersion, controlPlaneEndpoint, podSubnet, serviceSubnet, arch (did you mean 'podSubnet'?)"#,
        "unknown-node-key":
            #"20:5: missing required field 'address' in 'nodes item'; expected the node's IP address or host name"#,
        "unknown-role":
            #"22:13: unknown role 'wroker' on node 'worker1'; expected control-plane, worker, registry or git (did you mean 'worker'?)"#,
        "unknown-setting":
            #"33:5: unknown setting 'registry.prot'; expected one of port, tls (the settings the stacks declare) (did you mean 'port'?)"#,
        "unknown-setting-group":
            #"38:3: unknown setting 'argocd'; expected one of apps, gitea, registry (the settings the stacks declare)"#,
        "unknown-ssh-key":
            #"15:3: unknown key 'password' in 'ssh'; expected one of user, port, identityFile, become, connectTimeout, bastion"#,
        "unknown-top-level-key":
            #"10:1: unknown key 'shh' in 'inventory'; expected one of apiVersion, kind, cluster, ssh, nodes, settings (did you mean 'ssh'?)"#,
        "wrong-api-version": #"2:13: 'apiVersion' is 'islet/v2'; expected islet/v1"#,
        "wrong-kind": #"3:7: 'kind' is 'Stack'; expected Inventory"#,
    ]

    /// A fresh folder holding the fixture as `inventories/broken/inventory.yaml` and the key it names as
    /// `keys/id_ed25519`, at the same relative place as in Fixtures. Returns (the folder, where to run islet).
    static func workspace(for name: String) throws -> (root: String, run: String) {
        let root = makeTemporaryDirectory("islet-e2e-bad-input")
        let run = root + "/inventories/broken"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/keys", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: brokenInventories + "/\(name).yaml", toPath: run + "/inventory.yaml")
        try FileManager.default.copyItem(atPath: fixtures + "/keys/id_ed25519", toPath: root + "/keys/id_ed25519")
        return (root, run)
    }

    static func fixtureNames() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: brokenInventories)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(".yaml".count)) }.sorted()
    }

    @Test("every broken inventory has its first problem listed here")
    func everyFixtureIsListed() {
        #expect(Self.fixtureNames() == Self.firstProblem.keys.sorted())
    }

    @Test(
        "apply and plan refuse a broken inventory, point at the problem and write nothing",
        arguments: fixtureNames(), ["apply", "plan"])
    func refused(_ name: String, _ command: String) throws {
        let expected = try #require(Self.firstProblem[name], "no first problem listed for \(name)")
        let (root, run) = try Self.workspace(for: name)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let options = ["-i", "inventory.yaml", "--stacks", Self.validStacks, "--local", "nodes"]
        let arguments = command == "apply" ? ["apply", "--yes"] + options : ["plan"] + options
        let result = try IsletProcess.run(arguments, in: run)
        #expect(result.status == 1, "\(result.output)")
        #expect(result.stderr.contains("inventory.yaml:\(expected)"), "\(result.stderr)")
        for folder in [run, root] {
            #expect(!FileManager.default.fileExists(atPath: folder + "/.islet"), "state written in \(folder)")
            #expect(!FileManager.default.fileExists(atPath: folder + "/nodes"), "a node touched in \(folder)")
        }
    }
}
