import Foundation
import Testing

@testable import IsletCore

/// Short-lived values (a join token made at apply time) and removals run from another node (a drain).
@Suite struct EphemeralAndRemoteRemovalTests {
    /// A cluster step mints a token each time a worker needs to join; workers join with it.
    /// Removing a worker drains it from the control plane before the worker itself is reset.
    func platform(log: String) -> TestPlatform {
        let platform = TestPlatform()
        platform.stack(
            "cluster",
            """
            roles: [{name: control-plane, min: 1}, {name: worker}]
            steps:
              - name: token
                scope: cluster
                roles: [control-plane]
                ephemeral: true
                outputs: [{name: TOKEN, secret: true}]
                inputs: {LOG: {value: "\(log)"}}
                apply: |
                  echo "token minted" >> "$LOG"
                  echo "TOKEN=tok-$(date +%s%N)" >> "$ISLET_OUTPUT"
              - name: join
                roles: [worker]
                inputs: {TOKEN: steps.token.TOKEN, LOG: {value: "\(log)"}}
                check: test -f "$ISLET_ROOT/joined"
                apply: |
                  case "$TOKEN" in tok-*) ;; *) echo "no token" >&2; exit 1 ;; esac
                  touch "$ISLET_ROOT/joined"
                  echo "joining with $TOKEN"
                  echo "$ISLET_NODE joined" >> "$LOG"
              - name: drain
                roles: [worker]
                after: [join]
                removeOn: control-plane
                inputs: {LOG: {value: "\(log)"}}
                check: "true"
                apply: "true"
                remove: echo "drained $ISLET_TARGET_NODE from $ISLET_NODE" >> "$LOG"
            """)
        platform.inventory(nodes: [("cp1", ["control-plane"]), ("w1", ["worker"])])
        return platform
    }

    func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func aTokenIsMintedOnlyWhenAWorkerJoinsAndIsNeverRecorded() async throws {
        let log = NSTemporaryDirectory() + "islet-token-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let platform = platform(log: log)
        let first = try await platform.plan()
        #expect(first.table == ["cp1 cluster/token run", "w1 cluster/join create", "w1 cluster/drain adopt"])
        let (_, result) = try await platform.apply()
        #expect(result.succeeded)
        #expect(lines(log) == ["token minted", "w1 joined"])
        let joinLog = try String(contentsOfFile: result.logDirectory + "/w1/cluster.join.log", encoding: .utf8)
        #expect(joinLog.contains("joining with ***"), "a secret output of a short-lived step is masked too")
        let state = try platform.workspace().state
        #expect(state?.record(node: "cp1", step: StepID(stack: "cluster", step: "token")) == nil)
        #expect(try await platform.plan().hasChanges == false, "a recorded join needs no new token")

        // Months later a worker is added: only it joins, with a fresh token; w1's join is untouched.
        platform.inventory(nodes: [("cp1", ["control-plane"]), ("w1", ["worker"]), ("w2", ["worker"])])
        let added = try await platform.plan()
        #expect(added.table == ["cp1 cluster/token run", "w2 cluster/join create", "w2 cluster/drain adopt"])
        try await platform.apply()
        #expect(lines(log) == ["token minted", "w1 joined", "token minted", "w2 joined"])
    }

    @Test func aRemovalWithRemoveOnRunsOnTheControlPlaneNamingTheRemovedNode() async throws {
        let log = NSTemporaryDirectory() + "islet-drain-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let platform = platform(log: log)
        try await platform.apply()
        platform.inventory(nodes: [("cp1", ["control-plane"])])
        let plan = try await platform.plan()
        #expect(plan.table == ["w1 cluster/drain remove", "w1 cluster/join remove"])
        #expect(plan.changes.first { $0.step.step == "drain" }?.runsOn == "cp1")
        let (_, result) = try await platform.apply()
        #expect(result.succeeded)
        #expect(lines(log).last == "drained w1 from cp1")
        #expect(try platform.workspace().state?.nodes["w1"] == nil)
    }
}
