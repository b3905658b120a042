import Foundation
import Testing

@testable import IsletCore

/// A node that cannot be reached is reported; the others are planned and applied as usual.
@Suite struct UnreachableNodeTests {
    func platform() -> TestPlatform {
        let platform = TestPlatform()
        platform.stack(
            "cluster",
            """
            roles: [{name: control-plane, min: 1}, {name: worker}]
            steps:
              - {name: prep, check: "test -f \\"$ISLET_ROOT/prep\\"", apply: "touch \\"$ISLET_ROOT/prep\\""}
              - name: ready
                scope: cluster
                roles: [control-plane]
                after: [prep]
                check: test -f "$ISLET_ROOT/ready"
                apply: touch "$ISLET_ROOT/ready"
            """)
        platform.inventory(nodes: [("cp1", ["control-plane"]), ("w1", ["worker"]), ("w2", ["worker"])])
        return platform
    }

    @Test func theUnreachableNodeIsReportedAndTheOthersArePlanned() async throws {
        let platform = platform()
        try FileManager.default.createDirectory(
            atPath: platform.nodesDirectory + "/w1", withIntermediateDirectories: true)
        platform.write(platform.nodesDirectory + "/w1/.unreachable", "")
        let plan = try await platform.plan()
        #expect(plan.failures == [NodeFailure(node: "w1", message: "node w1: cannot connect (marked unreachable)")])
        #expect(plan.table == ["cp1 cluster/prep create", "cp1 cluster/ready create", "w2 cluster/prep create"])
    }

    @Test func stepsWaitingForAnUnreachableNodeAreSkippedAndTheRestIsApplied() async throws {
        let platform = platform()
        try FileManager.default.createDirectory(
            atPath: platform.nodesDirectory + "/w1", withIntermediateDirectories: true)
        platform.write(platform.nodesDirectory + "/w1/.unreachable", "")
        let (_, result) = try await platform.apply()
        let outcomes = Dictionary(
            uniqueKeysWithValues: result.results.map { ("\($0.change.node) \($0.change.step)", $0.outcome) })
        #expect(outcomes["cp1 cluster/prep"] == .succeeded(note: "create"))
        #expect(outcomes["w2 cluster/prep"] == .succeeded(note: "create"))
        #expect(
            outcomes["cp1 cluster/ready"] == .skipped(reason: "depends on cluster/prep on w1, which did not succeed"))
        #expect(outcomes.count == 3)
    }
}
