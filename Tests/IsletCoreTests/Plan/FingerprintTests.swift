import Foundation
import Testing

@testable import IsletCore

/// Fingerprints cover only what a step declares: unrelated changes must not ripple into other steps.
@Suite struct FingerprintTests {
    func platform() -> TestPlatform {
        let platform = TestPlatform()
        platform.stack(
            "base",
            """
            roles: [{name: control-plane, min: 1}, {name: worker}]
            settings:
              - {key: registry.port, type: port, default: 5000, description: registry port}
              - {key: motd, type: string, default: hello, description: login banner}
            steps:
              - name: trust
                inputs: {PORT: settings.registry.port, NAME: node.name}
                files: [{template: trust.toml, destination: /etc/trust.toml}]
                check: "true"
                apply: "true"
              - name: banner
                inputs: {MOTD: settings.motd}
                check: "true"
                apply: "true"
              - name: init
                scope: cluster
                roles: [control-plane]
                inputs: {PORT: settings.registry.port}
                check: "true"
                apply: "true"
            """, files: ["trust.toml": "server = \"{{NAME}}:{{PORT}}\"\n"])
        return platform
    }

    func fingerprints(_ platform: TestPlatform) async throws -> [String: String] {
        let plan = try await platform.plan()
        return Dictionary(
            uniqueKeysWithValues: plan.changes.compactMap { change in
                change.fingerprint.map { ("\(change.node) \(change.step)", $0) }
            })
    }

    @Test func addingANodeChangesNoOtherNodesFingerprints() async throws {
        let platform = platform()
        platform.inventory(nodes: [("cp1", ["control-plane"]), ("w1", ["worker"])])
        let before = try await fingerprints(platform)
        platform.inventory(nodes: [("cp1", ["control-plane"]), ("w1", ["worker"]), ("w2", ["worker"])])
        let after = try await fingerprints(platform)
        for (key, value) in before { #expect(after[key] == value, "\(key) changed when a node was added") }
        #expect(after.keys.filter { $0.hasPrefix("w2 ") }.sorted() == ["w2 base/banner", "w2 base/trust"])
    }

    @Test func changingAnUnrelatedSettingChangesOnlyTheStepsReadingIt() async throws {
        let platform = platform()
        platform.inventory(nodes: [("cp1", ["control-plane"]), ("w1", ["worker"])])
        let before = try await fingerprints(platform)
        platform.inventory(nodes: [("cp1", ["control-plane"]), ("w1", ["worker"])], settings: "  motd: welcome\n")
        let after = try await fingerprints(platform)
        let changed = before.keys.filter { before[$0] != after[$0] }.sorted()
        #expect(changed == ["cp1 base/banner", "w1 base/banner"])
    }

    @Test func aSettingRenderedIntoAFileChangesThatStep() async throws {
        let platform = platform()
        platform.inventory(nodes: [("cp1", ["control-plane"])])
        let before = try await fingerprints(platform)
        platform.inventory(nodes: [("cp1", ["control-plane"])], settings: "  registry: {port: 5001}\n")
        let after = try await fingerprints(platform)
        let changed = before.keys.filter { before[$0] != after[$0] }.sorted()
        #expect(changed == ["cp1 base/init", "cp1 base/trust"])
    }

    @Test func theSameInputsGiveTheSameFingerprintEveryTime() async throws {
        let platform = platform()
        platform.inventory(nodes: [("cp1", ["control-plane"]), ("w1", ["worker"])])
        let first = try await fingerprints(platform)
        let second = try await fingerprints(platform)
        #expect(first == second)
        #expect(first.values.allSatisfy { $0.hasPrefix("sha256:") && $0.count == 71 })
    }

    @Test func editingAScriptChangesOnlyThatStep() async throws {
        let platform = platform()
        platform.inventory(nodes: [("cp1", ["control-plane"])])
        let before = try await fingerprints(platform)
        let path = platform.stacksDirectory + "/base/stack.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        platform.write(
            path,
            text.replacingOccurrences(
                of: "inputs: {MOTD: settings.motd}\n    check: \"true\"",
                with: "inputs: {MOTD: settings.motd}\n    check: \"true \""))
        let after = try await fingerprints(platform)
        let changed = before.keys.filter { before[$0] != after[$0] }.sorted()
        #expect(changed == ["cp1 base/banner"])
    }
}
