import Foundation
import Testing

@testable import IsletCore

/// Every row of DESIGN.md's action table, decided from fingerprint, recorded state and the live check.
@Suite struct ActionTableTests {
    /// One node step that writes a marker file, and counts its own runs so tests can see what ran.
    func platform(port: Int = 80) -> TestPlatform {
        let platform = TestPlatform()
        platform.stack(
            "web",
            """
            roles: [{name: web, min: 1}]
            settings: [{key: web.port, type: port, default: 80, description: port served}]
            steps:
              - name: site
                inputs: {PORT: settings.web.port}
                check: test "$(cat "$ISLET_ROOT/srv/port" 2>/dev/null)" = "$PORT"
                apply: |
                  mkdir -p "$ISLET_ROOT/srv" && printf '%s' "$PORT" > "$ISLET_ROOT/srv/port"
                  echo run >> "$ISLET_ROOT/runs"
                remove: rm -f "$ISLET_ROOT/srv/port"
            """)
        platform.inventory(nodes: [("n1", ["web"])], settings: "  web: {port: \(port)}\n")
        return platform
    }

    func runs(_ platform: TestPlatform, _ node: String = "n1") -> Int {
        (platform.read(node: node, "/runs") ?? "").split(separator: "\n").count
    }

    @Test func notRecordedAndCheckFailsIsCreate() async throws {
        let platform = platform()
        let plan = try await platform.plan()
        #expect(plan.table == ["n1 web/site create"])
        #expect(plan.changes[0].reason == "not applied yet")
    }

    @Test func notRecordedButCheckPassesIsAdoptAndRunsNothing() async throws {
        let platform = platform()
        try FileManager.default.createDirectory(atPath: platform.node("n1", "/srv"), withIntermediateDirectories: true)
        platform.write(platform.node("n1", "/srv/port"), "80")
        let plan = try await platform.plan()
        #expect(plan.table == ["n1 web/site adopt"])
        let (_, result) = try await platform.apply()
        #expect(result.succeeded)
        #expect(runs(platform) == 0, "adopt must not run the apply script")
        #expect(try platform.workspace().state?.record(node: "n1", step: StepID(stack: "web", step: "site")) != nil)
    }

    @Test func recordedWithChangedFingerprintIsUpdate() async throws {
        let platform = platform()
        try await platform.apply()
        platform.inventory(nodes: [("n1", ["web"])], settings: "  web: {port: 8080}\n")
        let plan = try await platform.plan()
        #expect(plan.table == ["n1 web/site update"])
        #expect(plan.changes[0].reason == "definition changed")
    }

    @Test func recordedSameFingerprintCheckFailsIsRepair() async throws {
        let platform = platform()
        try await platform.apply()
        try FileManager.default.removeItem(atPath: platform.node("n1", "/srv/port"))
        let plan = try await platform.plan()
        #expect(plan.table == ["n1 web/site repair"])
        try await platform.apply()
        #expect(platform.read(node: "n1", "/srv/port") == "80")
        #expect(runs(platform) == 2)
    }

    @Test func recordedSameFingerprintCheckPassesIsNoChange() async throws {
        let platform = platform()
        try await platform.apply()
        let plan = try await platform.plan()
        #expect(plan.table.isEmpty)
        #expect(plan.action("n1", "web/site") == .noChange)
        #expect(!plan.hasChanges)
    }

    @Test func recordedNodeNoLongerDesiredIsRemove() async throws {
        let platform = platform()
        platform.inventory(nodes: [("n1", ["web"]), ("n2", ["web"])])
        try await platform.apply()
        platform.inventory(nodes: [("n1", ["web"])])
        let plan = try await platform.plan()
        #expect(plan.table == ["n2 web/site remove"])
        #expect(plan.changes[0].reason == "node removed from the inventory")
        let (_, result) = try await platform.apply()
        #expect(result.succeeded)
        #expect(platform.read(node: "n2", "/srv/port") == nil)
        #expect(try platform.workspace().state?.nodes["n2"] == nil)
    }

    @Test func recordedStepNoLongerDefinedIsRemoveThatForgets() async throws {
        let platform = platform()
        try await platform.apply()
        platform.stack(
            "web",
            """
            roles: [{name: web, min: 1}]
            settings: [{key: web.port, type: port, default: 80, description: port served}]
            steps:
              - {name: other, check: "true", apply: "true"}
            """)
        let plan = try await platform.plan()
        #expect(plan.table == ["n1 web/site remove", "n1 web/other adopt"])
        #expect(plan.changes[0].reason == "step no longer defined; its record is forgotten")
    }

    @Test func nodeLosingARoleRemovesThatRolesSteps() async throws {
        let platform = platform()
        platform.stack(
            "db",
            """
            roles: [{name: db}]
            steps:
              - {name: data, roles: [db], check: "test -d \\"$ISLET_ROOT/data\\"", apply: "mkdir -p \\"$ISLET_ROOT/data\\"", remove: "rmdir \\"$ISLET_ROOT/data\\""}
            """)
        platform.inventory(nodes: [("n1", ["web", "db"])])
        try await platform.apply()
        platform.inventory(nodes: [("n1", ["web"])])
        let plan = try await platform.plan()
        #expect(plan.table == ["n1 db/data remove"])
        #expect(plan.changes[0].reason == "step no longer runs on this node")
        try await platform.apply()
        #expect(!FileManager.default.fileExists(atPath: platform.node("n1", "/data")))
    }

    @Test func replaceRunsAnUnchangedStepAgain() async throws {
        let platform = platform()
        try await platform.apply()
        let plan = try await platform.plan(replace: [StepInstance(step: StepID(stack: "web", step: "site"), node: "n1")]
        )
        #expect(plan.table == ["n1 web/site update"])
        #expect(plan.changes[0].reason == "replacement requested")
    }

    @Test func targetLimitsThePlanToOneNode() async throws {
        let platform = platform()
        platform.inventory(nodes: [("n1", ["web"]), ("n2", ["web"])])
        let plan = try await platform.plan(target: "n2")
        #expect(plan.table == ["n2 web/site create"])
    }

    @Test func applyFailsWhenTheCheckStillFailsAfterwards() async throws {
        let platform = TestPlatform()
        platform.stack(
            "web",
            """
            roles: [{name: web}]
            steps:
              - {name: liar, check: "false", apply: "true"}
            """)
        platform.inventory(nodes: [("n1", ["web"])])
        let (_, result) = try await platform.apply()
        #expect(result.failures.count == 1)
        let outcome = try #require(result.failures.first?.outcome)
        guard case .failed(let message, let log) = outcome else {
            Issue.record("expected the step to fail, got \(outcome)")
            return
        }
        #expect(message == "check still fails after apply (status 1)")
        #expect(log?.hasSuffix("/n1/web.liar.log") == true)
        #expect(try platform.workspace().state?.record(node: "n1", step: StepID(stack: "web", step: "liar")) == nil)
    }
}
