import Foundation
import IsletTestSupport
import Testing

/// The cluster stacks (base, containerd, registry, kubernetes, cni) applied by the real islet over real SSH to
/// fresh testbed nodes, from a bundle whose programs the testbed cannot run are stand-ins (Tests/testbed/bundle).
/// Real here: sshd, sudo, sh, coreutils, curl, the registry (Debian's docker-registry under the stand-in
/// systemctl), and Debian's containerd pulling through the certs.d the stack wrote.
@Suite(.serialized)
struct ClusterStacksTests {
    /// One bundle for the suite: the stand-ins and images are built byte for byte the same every time.
    static let bundle: Result<String, any Error> = Result(catching: {
        let dir = makeTemporaryDirectory("islet-e2e-cluster-bundle")
        let inventory = dir + "/inventory.yaml"
        try Self.inventory(nodes: ["node1": ["registry", "git"], "node2": ["control-plane"]]).write(
            toFile: inventory, atomically: true, encoding: .utf8)
        let made = try runProgram([
            Testbed.root + "/Tests/testbed/bundle", "-i", inventory, "-o", dir + "/bundle", "--islet",
            IsletProcess.binary, "--upstream", "127.0.42.9:5000",
        ])
        guard made.status == 0 else { throw TestbedError(message: "Tests/testbed/bundle failed: \(made.output)") }
        return dir + "/bundle"
    })

    static var shared: String { Testbed.directory + "/state/shared" }

    /// An inventory of testbed nodes with the given roles (name → roles), node N at NET.N; the endpoint is the
    /// first control plane's address.
    static func inventory(nodes: [String: [String]], settings: String = "") -> String {
        let names = nodes.keys.sorted { Int($0.dropFirst(4))! < Int($1.dropFirst(4))! }
        let firstPlane = names.first { nodes[$0]!.contains("control-plane") } ?? names[0]
        var text = """
            apiVersion: islet/v1
            kind: Inventory
            cluster:
              name: testbed
              kubernetesVersion: "1.36.4"
              controlPlaneEndpoint: "\(Testbed.address(Int(firstPlane.dropFirst(4))!)):6443"
              podSubnet: 10.244.0.0/16
              serviceSubnet: 10.96.0.0/12
            ssh: {user: ops, identityFile: \(Testbed.opsKey), become: sudo}
            nodes:

            """
        for name in names {
            let number = Int(name.dropFirst(4))!
            text +=
                "  - {name: \(name), address: \(Testbed.address(number)), roles: [\(nodes[name]!.joined(separator: ", "))]}\n"
        }
        return text + settings
    }

    /// A site folder: the inventory and the nodes' host keys (from the testbed) beside it.
    func site(_ nodes: [String: [String]], settings: String = "", count: Int) throws -> String {
        let dir = makeTemporaryDirectory("islet-e2e-cluster")
        try Testbed.inventory(nodes: count, to: dir + "/testbed.yaml")
        try write(nodes, settings: settings, in: dir)
        return dir
    }

    func write(_ nodes: [String: [String]], settings: String = "", in dir: String) throws {
        try Self.inventory(nodes: nodes, settings: settings).write(
            toFile: dir + "/inventory.yaml", atomically: true, encoding: .utf8)
    }

    func islet(_ arguments: [String], in dir: String) throws -> IsletProcess.Result {
        try IsletProcess.run(arguments + ["-i", "inventory.yaml", "--bundle", try Self.bundle.get()], in: dir)
    }

    /// The stand-ins' call records: (node, program, argv).
    func calls() -> [(node: String, program: String, argv: [String], exit: Int)] {
        let text = (try? String(contentsOfFile: Self.shared + "/standins/calls.jsonl", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return nil
            }
            return (
                object["node"] as? String ?? "", object["program"] as? String ?? "", object["argv"] as? [String] ?? [],
                object["exit"] as? Int ?? -1
            )
        }
    }

    /// kubeadm calls of a subcommand (`init phase ...` is not `init`).
    func kubeadm(_ subcommand: String) -> [(node: String, argv: [String], exit: Int)] {
        calls().filter {
            $0.program == "kubeadm" && $0.argv.first == subcommand && $0.argv.dropFirst().first != "phase"
        }
        .map { ($0.node, $0.argv, $0.exit) }
    }

    /// `kubectl get nodes` on a control plane, as `NAME STATUS` lines.
    func clusterNodes(on plane: Int) throws -> [String] {
        try Testbed.exec(
            plane,
            "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes --no-headers | awk '{print $1, $2}'"
        ).split(separator: "\n").map(String.init).sorted()
    }

    /// Every change the plan lists that does something, as `node step action` (from `plan --json`).
    func actions(in dir: String) throws -> [String] {
        let plan = try islet(["plan", "--json"], in: dir)
        let object = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any]
        let changes = object?["changes"] as? [[String: Any]] ?? []
        return changes.compactMap { change in
            let action = change["action"] as? String ?? ""
            guard action != "no-change" else { return nil }
            return "\(change["node"] as? String ?? "") \(change["step"] as? String ?? "") \(action)"
        }
    }

    /// The stand-in cluster's bootstrap tokens: which node joined with each (nil: unused).
    func tokenUsers() -> [String: String?] {
        let path = Self.shared + "/cluster/cluster.json"
        guard let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let tokens = object["tokens"] as? [String: [String: Any]]
        else { return [:] }
        return tokens.mapValues { $0["usedBy"] as? String }
    }

    /// The nodes that joined, each with a token of its own.
    func joinedWithOwnTokens() -> [String] {
        let users = tokenUsers().values.compactMap { $0 }
        return users.sorted()
    }

    static let platform: [String: [String]] = [
        "node1": ["registry", "git"], "node2": ["control-plane"], "node3": ["worker"], "node4": ["worker"],
    ]

    /// 1 infra node with the registry, 1 control plane, 2 workers: the whole life of a small cluster.
    @Test(.freshTestbed(nodes: 5)) func aClusterIsBuiltKeptAndChangedNodeByNode() throws {
        let dir = try site(Self.platform, count: 5)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // 6. A stand-in told to fail once in the middle: the apply names the node, the step and the log.
        let marker = Self.shared + "/standins/fail-once/node4"
        try FileManager.default.createDirectory(atPath: marker, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: marker + "/kubeadm-join", contents: Data())
        let broken = try islet(["apply", "--yes"], in: dir)
        #expect(broken.status != 0)
        #expect(broken.output.contains("node4 kubernetes/join-worker"), "\(broken.output)")
        #expect(broken.output.contains("/node4/kubernetes.join-worker.log"), "\(broken.output)")
        let log = try String(
            contentsOfFile: dir + "/.islet/runs/"
                + (try FileManager.default.contentsOfDirectory(
                    atPath: dir + "/.islet/runs"
                ).sorted().last!) + "/node4/kubernetes.join-worker.log", encoding: .utf8)
        #expect(log.contains("injected failure"), "\(log)")

        // ... and the next apply resumes from there: only node4's remaining steps, a fresh token, and the
        // GitOps stacks, which wait for every node to be Ready.
        let resume = try actions(in: dir)
        let waitedForTheCluster = ["argocd/release", "image-updater/", "gitops/"]
        #expect(
            resume.allSatisfy { action in
                action.hasPrefix("node4 ") || action.hasPrefix("node2 kubernetes/join-tokens")
                    || waitedForTheCluster.contains { action.contains(" " + $0) }
            }, "\(resume)")
        let applied = try islet(["apply", "--yes"], in: dir)
        #expect(applied.status == 0, "\(applied.output)")

        // 1. Built in order, as specified.
        let inits = kubeadm("init")
        #expect(inits.map(\.node) == ["node2"], "kubeadm init runs once, on the first control plane: \(inits)")
        #expect(inits.first?.argv == ["init", "--config", "/etc/kubernetes/kubeadm.yaml", "--upload-certs"])
        let config = try Testbed.exec(2, "cat /etc/kubernetes/kubeadm.yaml")
        for line in [
            "kind: InitConfiguration", "advertiseAddress: \"\(Testbed.address(2))\"", "kubernetesVersion: \"v1.36.4\"",
            "controlPlaneEndpoint: \"\(Testbed.address(2)):6443\"", "podSubnet: \"10.244.0.0/16\"",
            "cgroupDriver: systemd",
        ] {
            #expect(config.contains(line), "kubeadm.yaml lacks \(line)")
        }
        let joins = kubeadm("join").filter { $0.exit == 0 }
        #expect(joins.map(\.node).sorted() == ["node3", "node4"], "\(joins)")
        // Each worker joined with a token of its own (the stand-in refuses a token used before).
        #expect(joinedWithOwnTokens() == ["node3", "node4"], "\(tokenUsers())")
        for node in 2...4 {
            let toml = try Testbed.exec(node, "cat /etc/containerd/config.toml")
            #expect(toml.contains("version = 3"))
            #expect(toml.contains("sandbox = 'registry.k8s.io/pause:3.10.2'"))
            #expect(toml.contains("config_path = '/etc/containerd/certs.d'"))
            #expect(toml.contains("SystemdCgroup = true"))
            let hosts = try Testbed.exec(node, "cat /etc/containerd/certs.d/registry.k8s.io/hosts.toml")
            // HTTPS to the internal registry (registry.tls defaults to true), trusting islet's authority only.
            #expect(hosts.contains("[host.\"https://registry.islet.internal:5000/v2/registry.k8s.io\"]"))
            #expect(hosts.contains("override_path = true"))
            #expect(hosts.contains("ca = \"/etc/islet/containerd/registry-ca.crt\""))
            let trusted = try Testbed.exec(node, "cat /etc/islet/containerd/registry-ca.crt")
            let kept = try String(contentsOfFile: dir + "/.islet/registry-ca.crt", encoding: .utf8)
            #expect(
                trusted.trimmingCharacters(in: .whitespacesAndNewlines)
                    == kept.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        // Any tool on a node trusts the registry too: the authority is in the system trust store.
        #expect(
            try Testbed.exec(3, "curl -fsS -o /dev/null -w '%{http_code}' https://registry.islet.internal:5000/v2/")
                == "200")
        // The bundle's images are in the registry with the bundle's digests, and a real containerd pulls
        // through the certs.d the stack wrote.
        let catalog = try runProgram([
            "/usr/bin/curl", "-fsS", "--cacert", dir + "/.islet/registry-ca.crt",
            "https://\(Testbed.address(1)):5000/v2/_catalog?n=1000",
        ]).output
        for repository in [
            "registry.k8s.io/kube-apiserver", "registry.k8s.io/etcd", "registry.k8s.io/coredns/coredns",
            "registry.k8s.io/pause", "ghcr.io/flannel-io/flannel",
        ] {
            #expect(catalog.contains("\"\(repository)\""), "\(catalog)")
        }
        let manifest = try String(contentsOfFile: try Self.bundle.get() + "/bundle.json", encoding: .utf8)
        // The proof script goes into the node itself: the checkout may lie under /tmp, which is private to a node.
        let proof = try String(
            contentsOfFile: Testbed.root + "/Tests/testbed/standins/real-containerd-pull", encoding: .utf8)
        let pulled = try Testbed.exec(
            3,
            "cat > /root/real-containerd-pull <<'ISLET_PROOF_END'\n\(proof)ISLET_PROOF_END\n"
                + "chmod 0755 /root/real-containerd-pull && "
                + "/root/real-containerd-pull /etc/containerd/certs.d registry.k8s.io/pause:3.10.2"
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(pulled.hasPrefix("sha256:") && manifest.contains(pulled), "pulled \(pulled)")
        #expect(
            try clusterNodes(on: 2) == ["node2 Ready", "node3 Ready", "node4 Ready"])
        let kubeconfig = dir + "/.islet/kubeconfig"
        let mode = (try FileManager.default.attributesOfItem(atPath: kubeconfig)[.posixPermissions] as? NSNumber)
        #expect(mode?.intValue == 0o600)
        #expect(try String(contentsOfFile: kubeconfig, encoding: .utf8).contains("https://\(Testbed.address(2)):6443"))

        // 2. A second apply changes nothing.
        let again = try islet(["plan", "--detailed-exitcode"], in: dir)
        #expect(again.status == 0, "\(again.output)")

        // 3. A worker added later joins with a token made then; elsewhere only /etc/hosts learns its name.
        var grown = Self.platform
        grown["node5"] = ["worker"]
        try write(grown, in: dir)
        let growth = try actions(in: dir)
        #expect(
            growth.allSatisfy {
                $0.hasPrefix("node5 ") || $0.hasPrefix("node2 kubernetes/join-tokens") || $0.contains(" base/hosts ")
            }, "\(growth)")
        let tokensBefore = Set(tokenUsers().keys)
        #expect(try islet(["apply", "--yes"], in: dir).status == 0)
        let node5Token = tokenUsers().first { $0.value == "node5" }?.key
        #expect(node5Token != nil && !tokensBefore.contains(node5Token!), "node5 joins with a token made then")
        #expect(try clusterNodes(on: 2).contains("node5 Ready"))

        // 4. A worker whose kubelet.conf was deleted is repaired, and only that.
        try Testbed.exec(4, "rm /etc/kubernetes/kubelet.conf")
        let drift = try actions(in: dir)
        #expect(
            drift.allSatisfy { $0.hasPrefix("node4 ") || $0.hasPrefix("node2 kubernetes/join-tokens") }, "\(drift)")
        #expect(drift.contains("node4 kubernetes/join-worker repair"), "\(drift)")
        #expect(try islet(["apply", "--yes"], in: dir).status == 0)
        #expect(try islet(["plan", "--detailed-exitcode"], in: dir).status == 0)

        // 5. A worker removed from the inventory is drained and deleted from the control plane, then reset.
        try write(Self.platform, in: dir)
        let shrink = try islet(["apply", "--yes"], in: dir)
        #expect(shrink.status == 0, "\(shrink.output)")
        let kubectl = calls().filter { $0.program == "kubectl" && $0.node == "node2" }.map(\.argv)
        #expect(kubectl.contains { $0.contains("drain") && $0.contains("node5") }, "\(kubectl)")
        #expect(kubectl.contains { $0.contains("delete") && $0.contains("node5") })
        #expect(kubeadm("reset").contains { $0.node == "node5" })
        #expect(try clusterNodes(on: 2) == ["node2 Ready", "node3 Ready", "node4 Ready"])
        #expect(try islet(["plan", "--detailed-exitcode"], in: dir).status == 0)
    }

    /// Three control planes behind the endpoint: only the first runs init; the others join as control planes
    /// with a certificate key; one removed leaves etcd too. The registry asks for credentials here
    /// (registry.auth), so every image the cluster pulls and every artifact a node fetches proves them.
    @Test(.freshTestbed(nodes: 5)) func threeControlPlanesAndOneLeaves() throws {
        let nodes: [String: [String]] = [
            "node1": ["registry", "git"], "node2": ["control-plane"], "node3": ["control-plane"],
            "node4": ["control-plane"], "node5": ["worker"],
        ]
        let auth = "settings:\n  registry: {auth: true}\n"
        let dir = try site(nodes, settings: auth, count: 5)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let applied = try islet(["apply", "--yes"], in: dir)
        #expect(applied.status == 0, "\(applied.output)")

        // The registry refuses a client without the user islet made, and serves one with it.
        let registry = "https://\(Testbed.address(1)):5000/v2/"
        let authority = dir + "/.islet/registry-ca.crt"
        let anonymous = try runProgram([
            "/usr/bin/curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", authority, registry,
        ])
        #expect(anonymous.output == "401", "\(anonymous.output)")
        let shown = try IsletProcess.run(
            [
                "output", "node1/registry/credentials.PASSWORD", "-i", "inventory.yaml", "--stacks",
                Testbed.root + "/stacks",
                "--show-secrets",
            ], in: dir)
        let password = try #require(
            shown.stdout.components(separatedBy: " = ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(password.count == 32, "\(shown.stdout)")
        let config = dir + "/curl-user"
        try "user = \"islet:\(password)\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let known = try runProgram([
            "/usr/bin/curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", authority, "-K", config,
            registry,
        ])
        #expect(known.output == "200", "\(known.output)")
        // Every node's containerd gives that user; its config, holding the password, is private.
        let containerdConfig = try Testbed.exec(
            5, "stat -c %a /etc/containerd/config.toml; cat /etc/containerd/config.toml")
        #expect(containerdConfig.hasPrefix("600\n"), "\(containerdConfig)")
        #expect(containerdConfig.contains("registry.configs.'registry.islet.internal:5000'.auth]"))
        #expect(!applied.output.contains(password))
        #expect(kubeadm("init").map(\.node) == ["node2"])
        #expect(kubeadm("join").filter { $0.exit == 0 }.map(\.node).sorted() == ["node3", "node4", "node5"])
        for node in 3...4 {
            #expect(
                try Testbed.exec(node, "test -f /etc/kubernetes/manifests/kube-apiserver.yaml && echo ok") == "ok\n")
        }
        let members =
            "kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system exec etcd-node2 -- etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/server.crt --key=/etc/kubernetes/pki/etcd/server.key member list"
        #expect(try Testbed.exec(2, members).split(separator: "\n").count == 3)

        var fewer = nodes
        fewer["node4"] = nil
        try write(fewer, settings: auth, in: dir)
        let removed = try islet(["apply", "--yes"], in: dir)
        #expect(removed.status == 0, "\(removed.output)")
        let list = try Testbed.exec(2, members)
        #expect(list.split(separator: "\n").count == 2 && !list.contains("node4"), "\(list)")
        #expect(kubeadm("reset").contains { $0.node == "node4" })
        #expect(try islet(["plan", "--detailed-exitcode"], in: dir).status == 0)
    }
}
