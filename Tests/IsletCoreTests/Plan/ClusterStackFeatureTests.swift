import Foundation
import Testing

@testable import IsletCore

/// What the cluster stacks need from the engine: peers as inputs, a script file with arguments, an output
/// saved as a file for the operator, and nodes refused at plan by a stack's preflight.
@Suite struct ClusterStackFeatureTests {
    /// `nodes.all` and `nodes.ROLE` list the inventory's nodes; a template walks them.
    @Test func aTemplateListsEveryNodeAndTheHoldersOfARole() async throws {
        let platform = TestPlatform()
        platform.stack(
            "hosts",
            """
            roles: [{name: registry}, {name: worker}]
            steps:
              - name: hosts
                inputs: {ALL: nodes.all, REGISTRY: nodes.registry}
                files: [{template: hosts, destination: /etc/islet-hosts, mode: "0644"}]
                check: "true"
                apply: "true"
            """,
            files: [
                "hosts": "{{#ALL}}{{address}} {{name}}\n{{/ALL}}{{#REGISTRY}}{{address}} registry.lan\n{{/REGISTRY}}"
            ])
        platform.inventory(nodes: [("infra", ["registry"]), ("w1", ["worker"])])
        let (_, result) = try await platform.apply()
        #expect(result.succeeded)
        #expect(
            platform.read(node: "w1", "/etc/islet-hosts") == "10.9.0.1 infra\n10.9.0.2 w1\n10.9.0.1 registry.lan\n")
    }

    /// A role no stack declares is an error at validate, at the input.
    @Test func nodesOfAnUnknownRoleAreRefused() throws {
        let platform = TestPlatform()
        platform.stack(
            "hosts",
            """
            roles: [{name: worker}]
            steps:
              - {name: hosts, inputs: {X: nodes.registri}, check: "true", apply: "true"}
            """)
        platform.inventory(nodes: [("w1", ["worker"])])
        #expect(throws: (any Error).self) { try platform.workspace() }
        do { _ = try platform.workspace() } catch {
            #expect("\(error)".contains("lists the nodes with role 'registri' that no stack declares"), "\(error)")
        }
    }

    /// `scripts/x.sh check` runs the script file with "$1" = check; the words are part of the fingerprint.
    @Test func aScriptFileTakesArguments() async throws {
        let platform = TestPlatform()
        platform.stack(
            "args",
            """
            roles: [{name: worker}]
            steps:
              - name: marker
                check: scripts/mark.sh check one
                apply: scripts/mark.sh apply two
            """,
            files: [
                "scripts/mark.sh":
                    "#!/bin/sh\nif [ \"$1\" = check ]; then test -f \"$ISLET_ROOT/marker\"; exit; fi\necho \"$1 $2\" > \"$ISLET_ROOT/marker\"\n"
            ])
        platform.inventory(nodes: [("w1", ["worker"])])
        let (plan, result) = try await platform.apply()
        #expect(plan.action("w1", "args/marker") == .create)
        #expect(result.succeeded)
        #expect(platform.read(node: "w1", "/marker") == "apply two\n")
        let second = try await platform.plan()
        #expect(second.action("w1", "args/marker") == .noChange)
    }

    /// An output declared with `file:` reaches the state folder, decoded, readable by the operator only; it
    /// is never a plain output in state.json.
    @Test func anOutputIsSavedAsAPrivateFile() async throws {
        let platform = TestPlatform()
        platform.stack(
            "kube",
            """
            roles: [{name: control-plane}]
            steps:
              - name: init
                scope: cluster
                roles: [control-plane]
                check: test -f "$ISLET_ROOT/done"
                apply: |
                  touch "$ISLET_ROOT/done"
                  echo "CONFIG=$(printf 'apiVersion: v1\\nkind: Config\\n' | base64 -w0)" >> "$ISLET_OUTPUT"
                outputs: [{name: CONFIG, secret: true, file: kubeconfig}]
            """)
        platform.inventory(nodes: [("cp1", ["control-plane"])])
        _ = try await platform.apply()
        let path = platform.directory + "/.islet/kubeconfig"
        #expect((try? String(contentsOfFile: path, encoding: .utf8)) == "apiVersion: v1\nkind: Config\n")
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        let state = try String(contentsOfFile: platform.directory + "/.islet/state.json", encoding: .utf8)
        #expect(!state.contains("a2luZDogQ29uZmln"))
    }

    /// A file name that would overwrite islet's own files is refused at validate.
    @Test func anOutputFileCannotTakeTheStatesName() throws {
        #expect(!OutputFile.isValidName("state.json"))
        #expect(!OutputFile.isValidName("../kubeconfig"))
        #expect(!OutputFile.isValidName(".hidden"))
        #expect(OutputFile.isValidName("kubeconfig"))
    }

    /// Two nodes with one machine-id are both refused at plan, naming each other; a node with less memory
    /// than the stack needs is refused too; the fit node goes on.
    @Test func preflightRefusesClonedAndSmallNodesBeforeAnyChange() async throws {
        let platform = TestPlatform()
        platform.stack(
            "base",
            """
            roles: [{name: worker}]
            preflight: {uniqueFacts: [machineId], minimumMemoryMiB: 1}
            steps:
              - {name: touch, check: test -f "$ISLET_ROOT/touched", apply: touch "$ISLET_ROOT/touched"}
            """)
        platform.stack(
            "big",
            """
            requires: [base]
            preflight: {minimumMemoryMiB: 1073741824}
            steps:
              - {name: big, roles: [worker], check: "true", apply: "true"}
            """)
        platform.stack("small", "roles: [{name: infra}]\nsteps: []\n")
        platform.inventory(nodes: [("w1", ["worker"]), ("w2", ["worker"]), ("i1", ["infra"])])
        for (node, id) in [("w1", "aaaa"), ("w2", "aaaa"), ("i1", "bbbb")] {
            try FileManager.default.createDirectory(
                atPath: platform.node(node, "/etc"), withIntermediateDirectories: true)
            platform.write(platform.node(node, "/etc/machine-id"), id + "\n")
        }
        let plan = try await platform.plan()
        let w1 = plan.failures.first { $0.node == "w1" }?.message ?? ""
        #expect(w1.contains("its machineId 'aaaa' is also that of w2"), "\(plan.failures)")
        #expect(w1.contains("expected at least 1073741824 MiB"), "\(w1)")
        #expect(plan.failures.map(\.node).sorted() == ["w1", "w2"])
        #expect(plan.changes.allSatisfy { $0.node == "i1" })
        #expect(!FileManager.default.fileExists(atPath: platform.node("w1", "/touched")))
    }

    /// `afterOnNode`: a node waits for its own instance of the step, and for none of the others' when it has
    /// none; plain `after` would make it wait for every node's.
    @Test func afterOnNodeWaitsOnlyForTheSameNode() throws {
        let platform = TestPlatform()
        platform.stack(
            "kube",
            """
            roles: [{name: control-plane}, {name: worker}]
            steps:
              - {name: join-worker, roles: [worker], check: "true", apply: "true"}
              - {name: join-plane, roles: [control-plane], check: "true", apply: "true"}
              - name: registered
                roles: [control-plane, worker]
                afterOnNode: [join-plane, join-worker]
                check: "true"
                apply: "true"
              - {name: plain, roles: [control-plane, worker], after: [join-worker], check: "true", apply: "true"}
            """)
        platform.inventory(nodes: [("cp1", ["control-plane"]), ("w1", ["worker"]), ("w2", ["worker"])])
        let graph = try platform.workspace().graph
        func waits(_ step: String, _ node: String) -> [String] {
            let index = graph.index(of: StepInstance(step: StepID(stack: "kube", step: step), node: node))!
            return graph.dependencies[index].map { "\(graph.instances[$0].node) \(graph.instances[$0].step.step)" }
                .sorted()
        }
        #expect(waits("registered", "cp1") == ["cp1 join-plane"])
        #expect(waits("registered", "w1") == ["w1 join-worker"])
        #expect(waits("plain", "cp1") == ["w1 join-worker", "w2 join-worker"])
    }

    /// A chart whose upstream publishes no checksum: its version is chosen in the stack, `unpublished` says
    /// the digest is recorded by `bundle create`; anything else in place of a digest is refused.
    @Test func aFileWithoutAPublishedDigestIsChosenButNotPinned() throws {
        func platform(_ digest: String) -> TestPlatform {
            let platform = TestPlatform()
            platform.stack(
                "argocd",
                """
                roles: [{name: control-plane}]
                artifacts:
                  files:
                    - name: chart
                      version: {value: 10.1.1}
                      url: https://example.invalid/argo-cd-{version}.tgz
                      sha256: {10.1.1: {any: \(digest)}}
                steps:
                  - {name: release, roles: [control-plane], inputs: {CHART: artifacts.chart}, check: "true", apply: "true"}
                """)
            platform.inventory(nodes: [("cp1", ["control-plane"])])
            return platform
        }
        let needs = try platform("unpublished").workspace().graph.artifacts.files
        #expect(needs.map(\.label) == ["argocd/chart 10.1.1"])
        #expect(needs.first?.sha256 == nil)
        var message = ""
        do { _ = try platform("unknown").workspace() } catch { message = "\(error)" }
        #expect(message.contains("expected 64 lowercase hex digits (or unpublished)"), "\(message)")
    }

    /// A secret islet generated is known whatever its step does: a reader is not "update, inputs known after
    /// apply" when that step is repaired (Gitea down: every step reading the admin password would act).
    @Test func aGeneratedSecretIsKnownWhileItsStepIsRepaired() async throws {
        let platform = TestPlatform()
        platform.stack(
            "git",
            """
            roles: [{name: git}]
            steps:
              - name: admin
                secrets: [{name: PASSWORD, length: 20, alphabet: alphanumeric}]
                check: test -f "$ISLET_ROOT/up"
                apply: touch "$ISLET_ROOT/up"
              - name: organization
                inputs: {PASSWORD: steps.admin.PASSWORD}
                check: test -n "$PASSWORD"
                apply: "true"
            """)
        platform.inventory(nodes: [("git1", ["git"])])
        #expect(try await platform.apply().1.succeeded)
        try FileManager.default.removeItem(atPath: platform.node("git1", "/up"))
        let plan = try await platform.plan()
        #expect(plan.action("git1", "git/admin") == .repair)
        #expect(plan.action("git1", "git/organization") == .noChange, "\(plan.table)")
    }
}
