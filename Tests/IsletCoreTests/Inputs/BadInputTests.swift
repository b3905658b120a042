import Foundation
import IsletCore
import Testing

/// Broken inventories and stacks, one file or folder per defect and named for it: each must be reported with its
/// exact file, line, column and message, all problems at once, and without writing any state.
@Suite("Bad input")
struct BadInputTests {
    /// `Tests/IsletCoreTests/Fixtures`, found from this file so the tests run from any working directory.
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").standardizedFileURL.path
    static let validStacks = fixtures + "/stacks"
    static let validInventory = fixtures + "/inventories/valid.yaml"
    static let brokenInventoryFolder = fixtures + "/inventories/broken"
    static let brokenStacksFolder = fixtures + "/stacks-broken"

    /// Loads a workspace that must fail, and returns its diagnostics with the fixtures folder stripped from every
    /// path (in locations and in messages alike).
    static func diagnostics(inventory: String, stacks: String, statePath: String? = nil) throws -> [String] {
        let failure = try #require(throws: ValidationFailure.self) {
            try Workspace.load(inventoryPath: inventory, stacksDirectory: stacks, statePath: statePath)
        }
        return failure.diagnostics.map { $0.description.replacingOccurrences(of: fixtures + "/", with: "") }
    }

    static func fixtureNames(in folder: String, suffix: String = "") -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { !$0.hasPrefix(".") && $0.hasSuffix(suffix) }.map { String($0.dropLast(suffix.count)) }
            .sorted()
    }

    // MARK: Inventories

    @Test(
        "a broken inventory is reported at its exact line with its message", arguments: brokenInventories.keys.sorted())
    func brokenInventory(_ name: String) throws {
        let diagnostics = try Self.diagnostics(
            inventory: Self.brokenInventoryFolder + "/\(name).yaml", stacks: Self.validStacks)
        #expect(diagnostics == brokenInventories[name])
        #expect(
            !FileManager.default.fileExists(atPath: Self.brokenInventoryFolder + "/.islet"),
            "no state beside the inventory")
    }

    @Test("every broken inventory fixture has its expected diagnostics, and there are at least 30")
    func everyBrokenInventoryIsListed() {
        let files = Self.fixtureNames(in: Self.brokenInventoryFolder, suffix: ".yaml")
        #expect(files == brokenInventories.keys.sorted())
        #expect(files.count >= 30)
    }

    @Test("several defects in one inventory are all reported in one run")
    func severalInventoryDefects() throws {
        let diagnostics = try Self.diagnostics(
            inventory: Self.brokenInventoryFolder + "/several-defects.yaml",
            stacks: Self.validStacks)
        let lines = Set(diagnostics.map { $0.split(separator: ":")[1] })
        #expect(diagnostics.count == 6)
        #expect(lines.count == 6)
        #expect(diagnostics.contains { $0.contains("'cluster.podSubnet' is '10.244.0.0/33'") })
        #expect(diagnostics.contains { $0.contains("'ssh.become' is 'always'") })
        #expect(diagnostics.contains { $0.contains("unknown key 'adress'") })
        #expect(diagnostics.contains { $0.contains("unknown role 'gti'") })
        #expect(diagnostics.contains { $0.contains("'settings.registry.port' is 99999") })
    }

    @Test("a misspelt key is reported with the nearest known key as a suggestion")
    func suggestion() throws {
        let diagnostics = try Self.diagnostics(
            inventory: Self.brokenInventoryFolder + "/unknown-node-key.yaml",
            stacks: Self.validStacks)
        #expect(
            diagnostics.contains(
                "inventories/broken/unknown-node-key.yaml:21:5: unknown key 'adress' in 'nodes item'; expected one of name, address, roles, ssh, arch (did you mean 'address'?)"
            ))
        let roles = try Self.diagnostics(
            inventory: Self.brokenInventoryFolder + "/unknown-role.yaml", stacks: Self.validStacks)
        #expect(roles.first?.hasSuffix("(did you mean 'worker'?)") == true)
    }

    @Test("the valid inventory loads against the valid stacks and writes nothing")
    func validInventoryLoads() throws {
        let folder = NSTemporaryDirectory() + "islet-bad-input-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let workspace = try Workspace.load(
            inventoryPath: Self.validInventory, stacksDirectory: Self.validStacks,
            statePath: folder + "/.islet/state.json")
        #expect(workspace.inventory.nodes.map(\.name) == ["cp1", "worker1", "worker2"])
        #expect(workspace.catalog.stacks.map(\.name) == ["apps", "base"])
        #expect(workspace.catalog.steps.count == 4)
        #expect(workspace.inventory.settings["registry.port"] == .integer(5000))
        #expect(workspace.inventory.settings["gitea.adminUser"] == .string("git-admin"))
        #expect(workspace.inventory.nodes[2].ssh.bastion?.host == "127.0.10.2")
        #expect(workspace.state == nil)
        #expect(!FileManager.default.fileExists(atPath: folder))
        #expect(!FileManager.default.fileExists(atPath: Self.fixtures + "/inventories/.islet"))
    }

    // MARK: Stacks

    @Test("a broken stack set is reported at its exact line with its message", arguments: brokenStacks.keys.sorted())
    func brokenStackSet(_ name: String) throws {
        let diagnostics = try Self.diagnostics(
            inventory: Self.validInventory, stacks: Self.brokenStacksFolder + "/\(name)")
        #expect(diagnostics == brokenStacks[name])
        #expect(
            !FileManager.default.fileExists(atPath: Self.fixtures + "/inventories/.islet"),
            "no state beside the inventory")
    }

    @Test("every broken stack set has its expected diagnostics, and there are at least 15")
    func everyBrokenStackSetIsListed() {
        let folders = Self.fixtureNames(in: Self.brokenStacksFolder)
        #expect(folders == brokenStacks.keys.sorted())
        #expect(folders.count >= 15)
    }

    @Test("several defects across two stacks are all reported in one run")
    func severalStackDefects() throws {
        let diagnostics = try Self.diagnostics(
            inventory: Self.validInventory, stacks: Self.brokenStacksFolder + "/several-defects")
        #expect(diagnostics.count == 5)
        #expect(diagnostics.filter { $0.hasPrefix("stacks-broken/several-defects/base/stack.yaml:") }.count == 4)
        #expect(diagnostics.filter { $0.hasPrefix("stacks-broken/several-defects/apps/stack.yaml:") }.count == 1)
    }
}

/// Every broken inventory under `Fixtures/inventories/broken/`, loaded against the valid stacks, and every
/// diagnostic islet must report for it, in order, with paths relative to `Fixtures/`.
let brokenInventories: [String: [String]] = [
    "alias-bomb-at-top-level": [
        #"inventories/broken/alias-bomb-at-top-level.yaml:47:5: aliases expand to more than 100000 values or 16 MiB of text; expected aliases that repeat a small part of the file (is this an alias bomb?)"#
    ],
    "alias-bomb-in-list-setting": [
        #"inventories/broken/alias-bomb-in-list-setting.yaml:43:7: aliases expand to more than 100000 values or 16 MiB of text; expected aliases that repeat a small part of the file (is this an alias bomb?)"#
    ],
    "alias-bomb-in-roles": [
        #"inventories/broken/alias-bomb-in-roles.yaml:27:9: aliases expand to more than 100000 values or 16 MiB of text; expected aliases that repeat a small part of the file (is this an alias bomb?)"#
    ],
    "app-missing-field": [
        #"inventories/broken/app-missing-field.yaml:39:7: missing required field 'image' in 'settings.apps[0]'; expected a string"#
    ],
    "app-port-out-of-range": [
        #"inventories/broken/app-port-out-of-range.yaml:41:13: 'settings.apps[0].port' is 0; expected a port number from 1 to 65535"#
    ],
    "app-unknown-field": [
        #"inventories/broken/app-unknown-field.yaml:39:7: missing required field 'image' in 'settings.apps[0]'; expected a string"#,
        #"inventories/broken/app-unknown-field.yaml:40:7: unknown key 'imgae' in 'settings.apps[0]'; expected one of image, name, port (did you mean 'image'?)"#,
    ],
    "apps-not-a-list": [
        #"inventories/broken/apps-not-a-list.yaml:39:5: 'settings.apps' is a mapping; expected a list"#
    ],
    "bad-become": [
        #"inventories/broken/bad-become.yaml:14:11: 'ssh.become' is 'root'; expected sudo or none"#
    ],
    "bad-connect-timeout": [
        #"inventories/broken/bad-connect-timeout.yaml:15:19: 'ssh.connectTimeout' is 0; expected seconds from 1 to 600"#
    ],
    "bastion-invalid-host": [
        #"inventories/broken/bastion-invalid-host.yaml:29:15: 'nodes[worker2].ssh.bastion.host' is 'jump host'; expected an IP address or host name"#
    ],
    "bastion-missing-host": [
        #"inventories/broken/bastion-missing-host.yaml:29:9: missing required field 'host' in 'nodes[worker2].ssh.bastion'; expected the bastion's address"#
    ],
    "bastion-not-a-mapping": [
        #"inventories/broken/bastion-not-a-mapping.yaml:28:16: 'nodes[worker2].ssh.bastion' is a scalar; expected a mapping"#
    ],
    "bastion-unknown-key": [
        #"inventories/broken/bastion-unknown-key.yaml:30:9: unknown key 'usr' in 'nodes[worker2].ssh.bastion'; expected one of host, user, port, identityFile (did you mean 'user'?)"#
    ],
    "duplicate-address-port": [
        #"inventories/broken/duplicate-address-port.yaml:21:14: node 'worker1' has the same address and port 127.0.10.11:22 as node 'cp1'; expected each node at its own address:port"#
    ],
    "duplicate-key": [
        #"inventories/broken/duplicate-key.yaml:26:5: invalid YAML: duplicate key 'address' (first at line 24); expected each key once in a mapping"#
    ],
    "duplicate-node-name": [
        #"inventories/broken/duplicate-node-name.yaml:23:11: duplicate node name 'worker1' (first at line 20); expected unique names"#
    ],
    "empty-file": [
        #"inventories/broken/empty-file.yaml:1:1: the file is empty; expected a YAML mapping"#
    ],
    "empty-node-roles": [
        #"inventories/broken/empty-node-roles.yaml:19:12: node 'cp1' has no roles; expected one or more of control-plane, worker, registry or git"#
    ],
    "empty-nodes": [
        #"inventories/broken/empty-nodes.yaml:16:8: 'nodes' is empty; expected at least one node"#
    ],
    "invalid-cluster-name": [
        #"inventories/broken/invalid-cluster-name.yaml:5:9: 'cluster.name' is 'test_platform'; expected a DNS label (letters, digits and '-', at most 63)"#
    ],
    "invalid-control-plane-endpoint": [
        #"inventories/broken/invalid-control-plane-endpoint.yaml:7:25: 'cluster.controlPlaneEndpoint' is '127.0.10.11'; expected HOST:PORT such as "10.20.0.10:6443""#
    ],
    "invalid-hostname": [
        #"inventories/broken/invalid-hostname.yaml:24:14: address 'worker_2.cluster.internal' of node 'worker2' is not valid; expected an IP address or host name"#
    ],
    "invalid-ip-address": [
        #"inventories/broken/invalid-ip-address.yaml:21:14: address '127.0.10.300' of node 'worker1' is not valid; expected an IP address or host name"#
    ],
    "invalid-kubernetes-version": [
        #"inventories/broken/invalid-kubernetes-version.yaml:6:22: 'cluster.kubernetesVersion' is '1.33'; expected a version MAJOR.MINOR.PATCH such as "1.33.4""#
    ],
    "invalid-node-name": [
        #"inventories/broken/invalid-node-name.yaml:17:11: node name 'cp 1' is not a DNS label; expected letters, digits and '-', at most 63"#
    ],
    "invalid-pod-subnet": [
        #"inventories/broken/invalid-pod-subnet.yaml:8:14: 'cluster.podSubnet' is '10.244.0.0/33'; expected a CIDR such as 10.244.0.0/16"#
    ],
    "invalid-service-subnet": [
        #"inventories/broken/invalid-service-subnet.yaml:9:18: 'cluster.serviceSubnet' is '10.96.0.0'; expected a CIDR such as 10.244.0.0/16"#
    ],
    "invalid-yaml-indentation": [
        #"inventories/broken/invalid-yaml-indentation.yaml:19:12: invalid YAML: mapping values are not allowed in this context; expected each key at the indentation of its siblings, or a value with ': ' quoted"#
    ],
    "invalid-yaml-syntax": [
        #"inventories/broken/invalid-yaml-syntax.yaml:21:5: invalid YAML: could not find expected ':' (while scanning a simple key); expected KEY: VALUE, with a colon and a space after the key"#
    ],
    "missing-cluster": [
        #"inventories/broken/missing-cluster.yaml:2:1: missing required field 'cluster' in 'inventory'; expected a mapping with the cluster's name and network"#
    ],
    "missing-cluster-name": [
        #"inventories/broken/missing-cluster-name.yaml:5:3: missing required field 'name' in 'cluster'; expected a DNS label such as 'prod-platform'"#
    ],
    "identity-file-is-a-device": [
        #"inventories/broken/identity-file-is-a-device.yaml:13:17: 'ssh.identityFile' /dev/zero is a device, not a regular file; expected a regular, readable private key file of at most 64 KiB"#
    ],
    "identity-file-is-a-folder": [
        #"inventories/broken/identity-file-is-a-folder.yaml:13:17: 'ssh.identityFile' ../../keys is a folder; expected a regular, readable private key file of at most 64 KiB"#
    ],
    "nesting-too-deep": [
        #"inventories/broken/nesting-too-deep.yaml:38:14: invalid YAML: lists and mappings nested more than 1000 levels deep (counting what aliases repeat); expected at most 1000 levels"#
    ],
    "non-utf8-byte": [
        #"inventories/broken/non-utf8-byte.yaml:36:33: byte 0xE9 is not UTF-8; expected a UTF-8 text file"#
    ],
    "setting-nul-byte": [
        #"inventories/broken/setting-nul-byte.yaml:37:16: the value contains a NUL character; expected text without NUL, which no environment variable or file name can carry"#
    ],
    "missing-node-address": [
        #"inventories/broken/missing-node-address.yaml:17:5: missing required field 'address' in 'nodes item'; expected the node's IP address or host name"#
    ],
    "missing-node-roles": [
        #"inventories/broken/missing-node-roles.yaml:20:5: missing required field 'roles' in 'nodes item'; expected a list of roles: control-plane, worker, registry or git"#
    ],
    "missing-nodes": [
        #"inventories/broken/missing-nodes.yaml:2:1: missing required field 'nodes' in 'inventory'; expected a list of nodes"#
    ],
    "missing-required-setting": [
        #"inventories/broken/missing-required-setting.yaml:35:3: missing required setting 'settings.gitea.adminUser'; expected a string: the name of the git server's administrator (read by stack 'base')"#
    ],
    "no-control-plane": [
        #"inventories/broken/no-control-plane.yaml:16:1: no node holds role 'control-plane'; expected at least 1 (declared by stack 'base')"#
    ],
    "no-git-node": [
        #"inventories/broken/no-git-node.yaml:16:1: no node holds role 'git'; expected exactly 1 (declared by stack 'base')"#
    ],
    "nodes-not-a-list": [
        #"inventories/broken/nodes-not-a-list.yaml:17:3: 'nodes' is a mapping; expected a list"#
    ],
    "not-a-mapping": [
        #"inventories/broken/not-a-mapping.yaml:2:1: 'inventory' is a list; expected a mapping"#
    ],
    "overlapping-subnets": [
        #"inventories/broken/overlapping-subnets.yaml:9:18: 'cluster.serviceSubnet' 10.244.128.0/20 overlaps 'cluster.podSubnet' 10.244.0.0/16; expected disjoint subnets"#
    ],
    "roles-not-a-list": [
        #"inventories/broken/roles-not-a-list.yaml:25:12: 'roles' is a scalar; expected a list"#
    ],
    "setting-boolean-wrong-type": [
        #"inventories/broken/setting-boolean-wrong-type.yaml:34:10: 'settings.registry.tls' is 'sometimes'; expected true or false"#
    ],
    "setting-group-not-a-mapping": [
        #"inventories/broken/setting-group-not-a-mapping.yaml:32:13: 'settings.registry' is a scalar; expected a mapping"#
    ],
    "setting-wrong-type": [
        #"inventories/broken/setting-wrong-type.yaml:33:11: 'settings.registry.port' is 'five-thousand'; expected a port number from 1 to 65535"#
    ],
    "settings-not-a-mapping": [
        #"inventories/broken/settings-not-a-mapping.yaml:32:3: 'settings' is a list; expected a mapping"#
    ],
    "several-defects": [
        #"inventories/broken/several-defects.yaml:8:14: 'cluster.podSubnet' is '10.244.0.0/33'; expected a CIDR such as 10.244.0.0/16"#,
        #"inventories/broken/several-defects.yaml:14:11: 'ssh.become' is 'always'; expected sudo or none"#,
        #"inventories/broken/several-defects.yaml:20:5: missing required field 'address' in 'nodes item'; expected the node's IP address or host name"#,
        #"inventories/broken/several-defects.yaml:21:5: unknown key 'adress' in 'nodes item'; expected one of name, address, roles, ssh, arch (did you mean 'address'?)"#,
        #"inventories/broken/several-defects.yaml:25:21: unknown role 'gti' on node 'worker2'; expected control-plane, worker, registry or git (did you mean 'git'?)"#,
        #"inventories/broken/several-defects.yaml:33:11: 'settings.registry.port' is 99999; expected a port number from 1 to 65535"#,
    ],
    "ssh-port-not-a-number": [
        #"inventories/broken/ssh-port-not-a-number.yaml:27:13: 'nodes[worker2].ssh.port' is 'twenty-two'; expected a port number from 1 to 65535"#
    ],
    "ssh-port-out-of-range": [
        #"inventories/broken/ssh-port-out-of-range.yaml:12:9: 'ssh.port' is 70000; expected a port number from 1 to 65535"#
    ],
    "two-registry-nodes": [
        #"inventories/broken/two-registry-nodes.yaml:22:21: 2 nodes (worker1, worker2) hold role 'registry'; expected exactly 1 (declared by stack 'base')"#,
        #"inventories/broken/two-registry-nodes.yaml:25:26: 2 nodes (worker1, worker2) hold role 'registry'; expected exactly 1 (declared by stack 'base')"#,
    ],
    "unknown-cluster-key": [
        #"inventories/broken/unknown-cluster-key.yaml:8:3: unknown key 'podSubnets' in 'cluster'; expected one of name, kubernetesVersion, controlPlaneEndpoint, podSubnet, serviceSubnet, arch (did you mean 'podSubnet'?)"#
    ],
    "unknown-node-key": [
        #"inventories/broken/unknown-node-key.yaml:20:5: missing required field 'address' in 'nodes item'; expected the node's IP address or host name"#,
        #"inventories/broken/unknown-node-key.yaml:21:5: unknown key 'adress' in 'nodes item'; expected one of name, address, roles, ssh, arch (did you mean 'address'?)"#,
    ],
    "unknown-role": [
        #"inventories/broken/unknown-role.yaml:22:13: unknown role 'wroker' on node 'worker1'; expected control-plane, worker, registry or git (did you mean 'worker'?)"#
    ],
    "unknown-setting": [
        #"inventories/broken/unknown-setting.yaml:33:5: unknown setting 'registry.prot'; expected one of port, tls (the settings the stacks declare) (did you mean 'port'?)"#
    ],
    "unknown-setting-group": [
        #"inventories/broken/unknown-setting-group.yaml:38:3: unknown setting 'argocd'; expected one of apps, gitea, registry (the settings the stacks declare)"#
    ],
    "unknown-ssh-key": [
        #"inventories/broken/unknown-ssh-key.yaml:15:3: unknown key 'password' in 'ssh'; expected one of user, port, identityFile, become, connectTimeout, bastion"#
    ],
    "unknown-top-level-key": [
        #"inventories/broken/unknown-top-level-key.yaml:10:1: unknown key 'shh' in 'inventory'; expected one of apiVersion, kind, cluster, ssh, nodes, settings (did you mean 'ssh'?)"#
    ],
    "wrong-api-version": [
        #"inventories/broken/wrong-api-version.yaml:2:13: 'apiVersion' is 'islet/v2'; expected islet/v1"#
    ],
    "wrong-kind": [
        #"inventories/broken/wrong-kind.yaml:3:7: 'kind' is 'Stack'; expected Inventory"#
    ],
]

/// Every broken stack set under `Fixtures/stacks-broken/`, loaded with the valid inventory, and every diagnostic
/// islet must report for it, in order, with paths relative to `Fixtures/`.
let brokenStacks: [String: [String]] = [
    "alias-bomb-in-literal-input": [
        #"stacks-broken/alias-bomb-in-literal-input/base/stack.yaml:46:13: aliases expand to more than 100000 values or 16 MiB of text; expected aliases that repeat a small part of the file (is this an alias bomb?)"#
    ],
    "after-unknown-step": [
        #"stacks-broken/after-unknown-step/base/stack.yaml:23:13: step 'base/registry' is after unknown step 'base/host-name'; expected the name of a step in this stack, or STACK/STEP (did you mean 'base/hostname'?)"#
    ],
    "bad-destination": [
        #"stacks-broken/bad-destination/base/stack.yaml:28:22: destination 'etc/registry/config.yml' is not valid; expected an absolute, normalised file path (no '.', '..', '//' or trailing '/')"#
    ],
    "bad-file-mode": [
        #"stacks-broken/bad-file-mode/base/stack.yaml:29:15: 'mode' is '0968'; expected an octal file mode such as "0644""#
    ],
    "bad-input-name": [
        #"stacks-broken/bad-input-name/base/stack.yaml:18:7: input name 'ISLET_NAME' is not valid; expected an upper-case variable name not starting with ISLET_"#
    ],
    "bad-output-name": [
        #"stacks-broken/bad-output-name/base/stack.yaml:32:34: output name 'registry-url' is not valid; expected an upper-case variable name such as CA_HASH"#
    ],
    "bad-scope": [
        #"stacks-broken/bad-scope/base/stack.yaml:22:12: 'scope' of step 'base/registry' is 'everywhere'; expected node or cluster"#
    ],
    "bad-secret-alphabet": [
        #"stacks-broken/bad-secret-alphabet/apps/stack.yaml:13:52: unknown alphabet 'emoji'; expected alphanumeric, base64url, hex or lowercase"#
    ],
    "bad-setting-default": [
        #"stacks-broken/bad-setting-default/base/stack.yaml:13:14: 'default' is 99999; expected a port number from 1 to 65535"#
    ],
    "cluster-step-without-roles": [
        #"stacks-broken/cluster-step-without-roles/apps/stack.yaml:7:5: cluster step 'apps/deploy' has no 'roles'; expected the role whose first node runs it"#
    ],
    "dependency-cycle": [
        #"stacks-broken/dependency-cycle/base/stack.yaml:22:5: dependency cycle: base/registry → base/hostname → base/firewall → base/registry; expected steps without circular 'after', outputs or 'requires'"#
    ],
    "destination-not-normalised": [
        #"stacks-broken/destination-not-normalised/base/stack.yaml:54:22: destination '/etc/../tmp/config.yml' is not valid; expected an absolute, normalised file path (no '.', '..', '//' or trailing '/')"#
    ],
    "duplicate-step-name": [
        #"stacks-broken/duplicate-step-name/base/stack.yaml:33:5: duplicate step name 'hostname' in stack 'base'; expected unique step names"#
    ],
    "input-output-of-unknown-step": [
        #"stacks-broken/input-output-of-unknown-step/apps/stack.yaml:11:17: input 'REGISTRY' reads an output of unknown step 'base/registries'; expected steps.STACK/STEP.OUTPUT naming an existing step (did you mean 'base/registry'?)"#
    ],
    "input-setting-of-unrelated-stack": [
        #"stacks-broken/input-setting-of-unrelated-stack/base/stack.yaml:19:17: input 'REPLICAS' reads setting 'apps.replicas' that stack 'base' does not declare; expected a key under its 'settings:' (or a required stack's)"#
    ],
    "input-undeclared-output": [
        #"stacks-broken/input-undeclared-output/apps/stack.yaml:11:17: input 'REGISTRY' reads 'REGISTRY_URL', which step 'base/registry' does not declare; expected one of REGISTRY_ENDPOINT"#
    ],
    "input-undeclared-setting": [
        #"stacks-broken/input-undeclared-setting/base/stack.yaml:25:22: input 'REGISTRY_PORT' reads setting 'registry.listenPort' that stack 'base' does not declare; expected a key under its 'settings:' (or a required stack's)"#
    ],
    "invalid-yaml-syntax": [
        #"stacks-broken/invalid-yaml-syntax/base/stack.yaml:31:12: invalid YAML: found unexpected end of stream (while scanning a quoted scalar); expected the quote or bracket to be closed"#
    ],
    "malformed-input": [
        #"stacks-broken/malformed-input/base/stack.yaml:18:18: input 'NODE_NAME' reads 'node.hostname'; expected cluster.FIELD, settings.KEY, node.name|address|roles|arch, nodes.all|ROLE, item.FIELD, facts.os|osVersion|arch|hostname|machineId|kernel|memoryMiB|diskFreeMiB, steps.STACK/STEP.OUTPUT, artifacts.NAME or {value: ...}"#
    ],
    "missing-apply": [
        #"stacks-broken/missing-apply/base/stack.yaml:16:5: missing required field 'apply' in 'steps item'; expected a POSIX sh script or a script file in the stack folder"#
    ],
    "missing-check": [
        #"stacks-broken/missing-check/base/stack.yaml:16:5: step 'base/hostname' has no 'check'; expected a script that exits 0 when the step's state is already in place (or 'ephemeral: true')"#
    ],
    "missing-script-file": [
        #"stacks-broken/missing-script-file/base/stack.yaml:30:12: script file 'check.sh' not found in stacks-broken/missing-script-file/base; expected a POSIX sh file in the stack folder"#
    ],
    "missing-step-name": [
        #"stacks-broken/missing-step-name/base/stack.yaml:16:5: missing required field 'name' in 'steps item'; expected the step's name"#
    ],
    "missing-template": [
        #"stacks-broken/missing-template/base/stack.yaml:27:19: template 'config.yml.mustache' not found in stacks-broken/missing-template/base; expected a UTF-8 file in the stack folder"#
    ],
    "requires-cycle": [
        #"stacks-broken/requires-cycle/apps/stack.yaml:5:12: stacks require each other: apps → base → apps; expected 'requires' without a cycle"#
    ],
    "requires-unknown-stack": [
        #"stacks-broken/requires-unknown-stack/apps/stack.yaml:5:18: stack 'apps' requires unknown stack 'monitoring'; expected one of apps or base"#
    ],
    "role-max-below-min": [
        #"stacks-broken/role-max-below-min/base/stack.yaml:8:35: 'max' 1 is below 'min' 2; expected max ≥ min"#
    ],
    "script-not-sh": [
        #"stacks-broken/script-not-sh/base/stack.yaml:57:12: script file 'scripts/ok.py' does not end in .sh; expected a POSIX sh file NAME.sh in the stack folder, or an inline command"#
    ],
    "script-symlink-outside": [
        #"stacks-broken/script-symlink-outside/base/stack.yaml:57:12: script file 'outside.sh' resolves to stacks/base/check-registry.sh, outside the stack folder stacks-broken/script-symlink-outside/base; expected a file inside the stack folder (no symlink or '..' leading out)"#
    ],
    "setting-two-types": [
        #"stacks-broken/setting-two-types/base/stack.yaml:12:11: setting 'registry.port' is declared as port here and as string by stack 'apps'; expected one type for a setting in every stack"#
    ],
    "several-defects": [
        #"stacks-broken/several-defects/apps/stack.yaml:13:52: unknown alphabet 'emoji'; expected alphanumeric, base64url, hex or lowercase"#,
        #"stacks-broken/several-defects/base/stack.yaml:12:11: unknown setting type 'number'; expected string, integer, port, boolean, ip, cidr, host, version, list or map"#,
        #"stacks-broken/several-defects/base/stack.yaml:22:13: step 'base/registry' runs on role 'registy' that no stack declares; expected one of control-plane, git, registry or worker (did you mean 'registry'?)"#,
        #"stacks-broken/several-defects/base/stack.yaml:23:13: step 'base/registry' is after unknown step 'base/host-name'; expected the name of a step in this stack, or STACK/STEP (did you mean 'base/hostname'?)"#,
        #"stacks-broken/several-defects/base/stack.yaml:29:15: 'mode' is 'rw-r--r--'; expected an octal file mode such as "0644""#,
    ],
    "shared-destination": [
        #"stacks-broken/shared-destination/base/stack.yaml:60:22: destination '/etc/registry/config.yml' of step 'base/registry-config' is also written by step 'base/hostname' (stacks-broken/shared-destination/base/stack.yaml:45:22) on node 'worker1'; expected each file on a node to be written by one step"#
    ],
    "stack-name-not-folder": [
        #"stacks-broken/stack-name-not-folder/base/stack.yaml:3:7: stack name 'core' does not match its folder 'base'; expected name: base"#
    ],
    "template-does-not-parse": [
        #"stacks-broken/template-does-not-parse/base/config.yml.mustache:3:1: template 'config.yml.mustache' does not parse: section 'TLS' is never closed; expected {{/TLS}} after it"#
    ],
    "template-partial": [
        #"stacks-broken/template-partial/base/registry.yml.mustache:7:1: template 'registry.yml.mustache' of step 'base/registry-config' uses a partial '{{> storage}}', which islet does not support; expected {{NAME}}, {{{NAME}}}, sections {{#NAME}}…{{/NAME}} and comments"#
    ],
    "template-symlink-outside": [
        #"stacks-broken/template-symlink-outside/base/stack.yaml:53:19: template 'outside.yml' resolves to inventories/valid.yaml, outside the stack folder stacks-broken/template-symlink-outside/base; expected a file inside the stack folder (no symlink or '..' leading out)"#
    ],
    "template-unknown-variable": [
        #"stacks-broken/template-unknown-variable/base/registry.yml.mustache:7:11: template 'registry.yml.mustache' of step 'base/registry-config' uses '{{NOPE}}', which is not an input of the step; expected one of NODE_ADDRESS, REGISTRY_PORT or REGISTRY_TLS (declare it under 'inputs:')"#
    ],
    "unknown-setting-type": [
        #"stacks-broken/unknown-setting-type/base/stack.yaml:12:11: unknown setting type 'number'; expected string, integer, port, boolean, ip, cidr, host, version, list or map"#
    ],
    "unknown-stack-key": [
        #"stacks-broken/unknown-stack-key/base/stack.yaml:10:1: unknown key 'setings' in 'stack'; expected one of apiVersion, kind, name, description, requires, roles, settings, artifacts, artifactStore, preflight, steps (did you mean 'settings'?)"#,
        #"stacks-broken/unknown-stack-key/base/stack.yaml:25:22: input 'REGISTRY_PORT' reads setting 'registry.port' that stack 'base' does not declare; expected a key under its 'settings:' (or a required stack's)"#,
    ],
    "unknown-step-key": [
        #"stacks-broken/unknown-step-key/base/stack.yaml:16:5: missing required field 'apply' in 'steps item'; expected a POSIX sh script or a script file in the stack folder"#,
        #"stacks-broken/unknown-step-key/base/stack.yaml:20:5: unknown key 'aply' in 'steps item'; expected one of name, description, scope, roles, after, afterOnNode, ephemeral, forEach, when, inputs, secrets, files, check, apply, remove, removeOn, outputs (did you mean 'apply'?)"#,
    ],
    "unknown-step-role": [
        #"stacks-broken/unknown-step-role/base/stack.yaml:22:13: step 'base/registry' runs on role 'registy' that no stack declares; expected one of control-plane, git, registry or worker (did you mean 'registry'?)"#
    ],
    "wrong-kind": [
        #"stacks-broken/wrong-kind/base/stack.yaml:2:7: 'kind' is 'Inventory'; expected Stack"#
    ],
]
