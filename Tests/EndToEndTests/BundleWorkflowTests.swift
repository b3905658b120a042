import Foundation
import Testing

/// The bundle workflow as an operator runs it, with the real binary: create (online; here the file is a
/// replacement, so no network is needed), verify, then plan and apply with --bundle on local nodes.
@Suite struct BundleWorkflowTests {
    static let tool = "#!/bin/sh\necho tool 1.0\n"

    /// A stack whose `install` copies the `tool` file artifact into place; two nodes.
    func site(version: String = "1.0") -> String {
        let root = makeTemporaryDirectory("islet-bundle-flow")
        let stack = root + "/stacks/tools"
        try? FileManager.default.createDirectory(atPath: stack, withIntermediateDirectories: true)
        let digest = String(repeating: "a", count: 64)  // the pinned upstream build: the bundle replaces it
        write(
            stack + "/stack.yaml",
            """
            apiVersion: islet/v1
            kind: Stack
            name: tools
            roles: [{name: worker, min: 1}]
            settings: [{key: tool.version, type: string, default: "1.0", description: the tool's version}]
            artifacts:
              files:
                - name: tool
                  version: settings.tool.version
                  url: https://dl.invalid/tool-{version}-{arch}
                  sha256: {"1.0": {amd64: \(digest)}, "1.1": {amd64: \(digest)}}
            steps:
              - name: install
                inputs: {TOOL: artifacts.tool}
                check: cmp -s "$ISLET_ROOT$TOOL" "$ISLET_ROOT/opt/tool"
                apply: mkdir -p "$ISLET_ROOT/opt" && cp "$ISLET_ROOT$TOOL" "$ISLET_ROOT/opt/tool"
            """)
        writeInventory(root, version: version)
        write(root + "/patched-tool", Self.tool)
        return root
    }

    func writeInventory(_ root: String, version: String) {
        write(
            root + "/inventory.yaml",
            """
            apiVersion: islet/v1
            kind: Inventory
            cluster: {name: site}
            nodes:
              - {name: w1, address: 10.9.0.1, roles: [worker]}
              - {name: w2, address: 10.9.0.2, roles: [worker]}
            settings: {tool: {version: "\(version)"}}
            """)
    }

    /// `islet bundle create` with the tool replaced by the local patched build (no network needed).
    func createBundle(_ root: String, extra: [String] = []) throws {
        let create = try IsletProcess.run(
            [
                "bundle", "create", "-i", "inventory.yaml", "--stacks", "stacks", "-o", "bundle", "--replace",
                "tool=patched-tool",
            ] + extra,
            in: root)
        #expect(create.status == 0, "\(create.output)")
        #expect(create.stdout.contains("tools/tool 1.0 amd64: replaced by patched-tool"), "\(create.output)")
        // The tests' islet is a debug build that loads the Swift runtime from the toolchain: the bundle says so.
        #expect(create.stdout.contains("warning: bin/islet loads the Swift runtime from "), "\(create.output)")
    }

    func write(_ path: String, _ text: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }

    @Test func createVerifyPlanAndApplyFromTheBundle() throws {
        let root = site()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try createBundle(root, extra: ["--archive", "bundle.tar"])
        #expect(FileManager.default.fileExists(atPath: root + "/bundle/bin/islet"))
        #expect(FileManager.default.fileExists(atPath: root + "/bundle/stacks/tools/stack.yaml"))
        let verify = try IsletProcess.run(["bundle", "verify", "bundle.tar"], in: root)
        #expect(verify.status == 0, "\(verify.output)")

        // On the closed side: the tar alone, its stacks, local nodes.
        for archive in [false, true] {
            let bundle = archive ? "bundle.tar" : "bundle"
            let plan = try IsletProcess.run(
                ["plan", "-i", "inventory.yaml", "--bundle", bundle, "--local", "nodes-\(archive)"], in: root)
            #expect(plan.status == 0, "\(plan.output)")
            #expect(
                plan.stdout.contains("1 artifact(s) replaced by local files: tools/tool 1.0 amd64 (from patched-tool)"))
            let apply = try IsletProcess.run(
                [
                    "apply", "--yes", "-i", "inventory.yaml", "--bundle", bundle, "--local", "nodes-\(archive)",
                    "--state", "state-\(archive).json",
                ],
                in: root)
            #expect(apply.status == 0, "\(apply.output)")
            for node in ["w1", "w2"] {
                let placed = try? String(contentsOfFile: root + "/nodes-\(archive)/\(node)/opt/tool", encoding: .utf8)
                #expect(placed == Self.tool, "\(node): \(apply.output)")
            }
            // Converged. (A replaced file's digest is known only from the bundle: the plan needs it again.)
            let again = try IsletProcess.run(
                [
                    "plan", "--detailed-exitcode", "-i", "inventory.yaml", "--bundle", bundle, "--local",
                    "nodes-\(archive)", "--state", "state-\(archive).json",
                ],
                in: root)
            #expect(again.status == 0, "\(again.output)")
        }
    }

    /// A bundle made for 1.0 cannot serve 1.1: plan says what is missing and touches no node.
    @Test func aBundleLackingAnArtifactFailsThePlanBeforeAnyNodeIsTouched() throws {
        let root = site()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try createBundle(root)
        writeInventory(root, version: "1.1")
        for command in ["plan", "apply"] {
            let result = try IsletProcess.run(
                [command] + (command == "apply" ? ["--yes"] : []) + [
                    "-i", "inventory.yaml", "--bundle", "bundle", "--local", "nodes",
                ],
                in: root)
            #expect(result.status == 1)
            #expect(
                result.stderr.contains("the bundle lacks tools/tool 1.1 amd64 (it holds 1.0 amd64)"), "\(result.output)"
            )
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/nodes"))
        #expect(!FileManager.default.fileExists(atPath: root + "/.islet/state.json"))
    }

    @Test func stacksOtherThanTheBundlesAreRefused() throws {
        let root = site()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try createBundle(root)
        write(root + "/stacks/tools/README", "edited after the bundle was made\n")
        let plan = try IsletProcess.run(
            ["plan", "-i", "inventory.yaml", "--stacks", "stacks", "--bundle", "bundle", "--local", "nodes"], in: root)
        #expect(plan.status == 1)
        #expect(plan.stderr.contains("differs from the stacks the bundle bundle was made for"), "\(plan.output)")
    }
}
