import Foundation
import IsletTestSupport
import Testing

/// The whole platform (cluster and GitOps) from bare testbed nodes, and the wiring proven by using it with
/// real programs: git against the Gitea stand-in with the credentials Argo CD and Image Updater were given,
/// HTTP against the real registry at the API URL Image Updater was given.
extension ClusterStacksTests {
    static func apps(_ names: [String]) -> String {
        "settings:\n  apps:\n"
            + names.map {
                "    - {name: \($0), image: \"registry.islet.internal:5000/platform/\($0):1.0.0\", port: 8080, replicas: 1, updateStrategy: semver, allowTags: \"regexp:^[0-9]+\\\\.[0-9]+\\\\.[0-9]+$\"}\n"
            }.joined()
    }

    /// kubectl on the control plane (node2), admin credentials.
    func kubectl(_ arguments: String) throws -> String {
        try Testbed.exec(2, "kubectl --kubeconfig /etc/kubernetes/admin.conf " + arguments)
    }

    /// A field of a Secret in the argocd namespace, decoded.
    func secretField(_ secret: String, _ field: String) throws -> String {
        let encoded = try kubectl("-n argocd get secret \(secret) -o jsonpath='{.data.\(field)}'")
        return String(
            decoding: Data(base64Encoded: encoded.trimmingCharacters(in: .whitespacesAndNewlines)) ?? Data(),
            as: UTF8.self)
    }

    /// Runs git on this machine against the Gitea stand-in, with the given credentials in the URL.
    func git(_ arguments: [String], in dir: String) throws -> (status: Int32, output: String) {
        try runProgram(["/usr/bin/env", "GIT_TERMINAL_PROMPT=0", "git", "-C", dir] + arguments)
    }

    func cloneURL(_ url: String, user: String, password: String) -> String {
        url.replacingOccurrences(of: "http://", with: "http://\(user):\(password)@")
    }

    @Test(.freshTestbed(nodes: 4)) func thePlatformDeploysAPushedImage() throws {
        let dir = try site(Self.platform, settings: Self.apps(["my-go"]), count: 4)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // 1. One apply from bare nodes brings up the cluster and the GitOps layer.
        let first = try islet(["apply", "--yes"], in: dir)
        #expect(first.status == 0, "\(first.output)")

        // Argo CD clones with exactly the credentials of its repository secret, and finds the chart.
        let url = try secretField("islet-repo-my-go", "url")
        let user = try secretField("islet-repo-my-go", "username")
        let token = try secretField("islet-repo-my-go", "password")
        #expect(url == "http://\(Testbed.address(1)):3000/platform/my-go.git")
        let checkout = dir + "/checkout"
        let cloned = try git(["clone", cloneURL(url, user: user, password: token), checkout], in: dir)
        #expect(cloned.status == 0, "\(cloned.output)")
        // The file the ImageUpdater writes back to is the chart's values file, and it holds the image tag.
        let target = try kubectl(
            "-n argocd get imageupdaters.argocd-image-updater.argoproj.io my-go -o jsonpath='{.spec.writeBackConfig.gitConfig.writeBackTarget}'"
        )
        #expect(target == "helmvalues:/values.yaml")
        let values = try String(contentsOfFile: checkout + "/values.yaml", encoding: .utf8)
        #expect(values.contains("repository: registry.islet.internal:5000/platform/my-go"), "\(values)")
        #expect(values.contains("tag: \"1.0.0\""), "\(values)")
        for file in ["Chart.yaml", "templates/deployment.yaml", "templates/service.yaml"] {
            #expect(FileManager.default.fileExists(atPath: checkout + "/" + file), "\(file)")
        }

        // A team pushes a new tag; Image Updater lists it at the API URL of its registries.conf.
        let registries = try kubectl(
            "-n argocd get configmap argocd-image-updater-config -o jsonpath='{.data.registries\\.conf}'")
        #expect(registries.contains("prefix: registry.islet.internal:5000"), "\(registries)")
        // The registry speaks HTTPS (registry.tls defaults to true): Image Updater verifies it against islet's
        // authority, mounted from a ConfigMap that holds exactly the certificate islet keeps in .islet/.
        let apiURL = "https://\(Testbed.address(1)):5000"
        #expect(registries.contains("api_url: \(apiURL)"), "\(registries)")
        #expect(registries.contains("insecure: false"), "\(registries)")
        let authority = try String(contentsOfFile: dir + "/.islet/registry-ca.crt", encoding: .utf8)
        #expect(authority.hasPrefix("-----BEGIN CERTIFICATE-----"), "\(authority)")
        let mounted = try kubectl("-n argocd get configmap islet-registry-ca -o jsonpath='{.data.ca\\.crt}'")
        #expect(mounted == authority, "\(mounted)")
        let mounts = try kubectl(
            "-n argocd get deployment argocd-image-updater-controller -o jsonpath='{.spec.template.spec.containers[0].volumeMounts[*].mountPath}'"
        )
        #expect(mounts.contains("/etc/ssl/certs/islet-registry-ca.crt"), "\(mounts)")
        // A team's tools trust .islet/registry-ca.crt and nothing else is needed: TLS is verified all the way.
        let trust = dir + "/trust"
        try FileManager.default.createDirectory(atPath: trust, withIntermediateDirectories: true)
        try authority.write(toFile: trust + "/ca.crt", atomically: true, encoding: .utf8)
        let pushed = try runProgram([
            "/usr/bin/skopeo", "copy", "--src-cert-dir", trust, "--dest-cert-dir", trust,
            "docker://\(Testbed.address(1)):5000/registry.k8s.io/pause:3.10.2",
            "docker://\(Testbed.address(1)):5000/platform/my-go:1.1.0",
        ])
        #expect(pushed.status == 0, "\(pushed.output)")
        let tags = try runProgram([
            "/usr/bin/curl", "-fsS", "--cacert", dir + "/.islet/registry-ca.crt",
            apiURL + "/v2/platform/my-go/tags/list",
        ]).output
        #expect(tags.contains("\"1.1.0\""), "\(tags)")
        // Without that trust the registry is refused: nothing on the LAN can stand in for it unnoticed.
        let untrusted = try runProgram(["/usr/bin/curl", "-fsS", apiURL + "/v2/"])
        #expect(untrusted.status != 0, "\(untrusted.output)")

        // ... and makes the commit Image Updater would make, with its write-back credentials: accepted.
        let writer = try secretField("islet-git-write-back", "username")
        let writerToken = try secretField("islet-git-write-back", "password")
        try values.replacingOccurrences(of: "tag: \"1.0.0\"", with: "tag: \"1.1.0\"").write(
            toFile: checkout + "/values.yaml", atomically: true, encoding: .utf8)
        _ = try git(
            [
                "-c", "user.name=argocd-image-updater", "-c", "user.email=iu@example.invalid", "commit", "-am",
                "build: automatic update of my-go",
            ], in: checkout)
        let push = try git(["push", cloneURL(url, user: writer, password: writerToken), "HEAD:main"], in: checkout)
        #expect(push.status == 0, "\(push.output)")

        // 2. A second apply changes nothing: islet keeps the tag Image Updater wrote.
        let again = try islet(["plan", "--detailed-exitcode"], in: dir)
        #expect(again.status == 0, "\(again.output)")

        // 3. A second application: only its steps act.
        try write(Self.platform, settings: Self.apps(["my-go", "shop"]), in: dir)
        let growth = try actions(in: dir).sorted()
        #expect(
            growth == [
                "node1 gitea/repository[shop] create", "node1 gitops/chart[shop] create",
                "node2 gitops/application[shop] create",
            ], "\(growth)")
        let grown = try islet(["apply", "--yes"], in: dir)
        #expect(grown.status == 0, "\(grown.output)")

        // 4. The secrets never show, except through `islet output --show-secrets`.
        let shown = try IsletProcess.run(
            ["output", "-i", "inventory.yaml", "--stacks", Testbed.root + "/stacks", "--show-secrets"], in: dir)
        let adminPassword = try #require(
            shown.stdout.split(separator: "\n").first { $0.contains("gitea/admin.PASSWORD = ") }?
                .components(separatedBy: " = ").last)
        let argocdPassword = try #require(
            shown.stdout.split(separator: "\n").first { $0.contains("argocd/release.ADMIN_PASSWORD = ") }?
                .components(separatedBy: " = ").last)
        #expect(shown.stdout.contains(token))
        var written = first.output + again.output + grown.output
        written += (try? String(contentsOfFile: dir + "/.islet/state.json", encoding: .utf8)) ?? ""
        for run in (try? FileManager.default.subpathsOfDirectory(atPath: dir + "/.islet/runs")) ?? [] {
            written += (try? String(contentsOfFile: dir + "/.islet/runs/" + run, encoding: .utf8)) ?? ""
        }
        let masked = try IsletProcess.run(
            ["output", "-i", "inventory.yaml", "--stacks", Testbed.root + "/stacks"], in: dir)
        written += masked.output
        for secret in [adminPassword, argocdPassword, token] {
            #expect(
                secret.count >= 16 && !written.contains(secret), "a secret shows outside `islet output --show-secrets`")
        }

        // 5. Gitea stopped on its node: plan repairs the steps whose checks fail (on the git node); the steps
        // reading the machine token wait for it to be proven again ("update", inputs known after apply).
        try Testbed.exec(1, "systemctl stop gitea")
        let broken = try actions(in: dir)
        #expect(broken.contains("node1 gitea/service repair"), "\(broken)")
        #expect(broken.contains("node1 gitea/organization repair"), "\(broken)")
        let readsToken = ["gitops/chart[", "gitops/application[", "image-updater/git-credentials"]
        for action in broken where !(action.hasPrefix("node1 ") && action.hasSuffix(" repair")) {
            #expect(
                action.hasSuffix(" update") && readsToken.contains { action.contains($0) },
                "\(action) acts though Gitea's being down does not concern it")
        }
        let repaired = try islet(["apply", "--yes"], in: dir)
        #expect(repaired.status == 0, "\(repaired.output)")
        #expect(try islet(["plan", "--detailed-exitcode"], in: dir).status == 0)
        let after = dir + "/after"
        #expect(try git(["clone", cloneURL(url, user: user, password: token), after], in: dir).status == 0)
        #expect(try String(contentsOfFile: after + "/values.yaml", encoding: .utf8).contains("tag: \"1.1.0\""))
        // The token survived: nothing that uses it had to change.
        #expect(try secretField("islet-repo-my-go", "password") == token)
    }
}
