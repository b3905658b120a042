import Foundation
import Testing

@testable import IsletCore

/// Apply runs steps as a graph: node order, cross-node order, failures, the parallel bound, resuming.
@Suite struct GraphExecutionTests {
    /// prep on every node → init once on the control plane → join on each worker with init's token.
    func platform(log: String, prepFailsOn: String = "none") -> TestPlatform {
        let platform = TestPlatform()
        platform.stack(
            "cluster",
            """
            roles: [{name: control-plane, min: 1}, {name: worker}]
            steps:
              - name: prep
                inputs: {LOG: {value: "\(log)"}, FAIL_ON: {value: "\(prepFailsOn)"}}
                check: test -f "$ISLET_ROOT/prep"
                apply: |
                  echo "$ISLET_NODE prep start" >> "$LOG"
                  sleep 0.05
                  [ "$ISLET_NODE" != "$FAIL_ON" ] || exit 3
                  touch "$ISLET_ROOT/prep"
                  echo "$ISLET_NODE prep end" >> "$LOG"
              - name: init
                scope: cluster
                roles: [control-plane]
                after: [prep]
                outputs: [TOKEN]
                inputs: {LOG: {value: "\(log)"}}
                check: test -f "$ISLET_ROOT/init" && echo "TOKEN=$(cat "$ISLET_ROOT/init")" >> "$ISLET_OUTPUT"
                apply: |
                  echo "$ISLET_NODE init start" >> "$LOG"
                  echo t0ken > "$ISLET_ROOT/init"
                  echo "TOKEN=t0ken" >> "$ISLET_OUTPUT"
                  echo "$ISLET_NODE init end" >> "$LOG"
              - name: join
                roles: [worker]
                inputs: {LOG: {value: "\(log)"}, TOKEN: steps.init.TOKEN}
                check: test "$(cat "$ISLET_ROOT/joined" 2>/dev/null)" = "$TOKEN"
                apply: |
                  echo "$ISLET_NODE join start" >> "$LOG"
                  printf '%s' "$TOKEN" > "$ISLET_ROOT/joined"
              - name: motd
                roles: [worker]
                check: test -f "$ISLET_ROOT/motd"
                apply: touch "$ISLET_ROOT/motd"
            """)
        platform.inventory(nodes: [("cp1", ["control-plane"]), ("w1", ["worker"]), ("w2", ["worker"])])
        return platform
    }

    func events(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func stepsRunAfterTheirDependenciesOnEveryNode() async throws {
        let log = NSTemporaryDirectory() + "islet-order-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let platform = platform(log: log)
        let (_, result) = try await platform.apply()
        #expect(result.succeeded)
        let lines = events(log)
        let position = { (line: String) in lines.firstIndex(of: line) ?? -1 }
        // The cluster step waits for prep on every node; each join waits for the cluster step.
        for node in ["cp1", "w1", "w2"] { #expect(position("\(node) prep end") < position("cp1 init start")) }
        for node in ["w1", "w2"] { #expect(position("cp1 init end") < position("\(node) join start")) }
        #expect(platform.read(node: "w2", "/joined") == "t0ken")
    }

    @Test func aFailureSkipsItsDependentsAndIndependentWorkGoesOn() async throws {
        let log = NSTemporaryDirectory() + "islet-fail-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let platform = platform(log: log, prepFailsOn: "w1")
        let (_, result) = try await platform.apply()
        let outcome = { (node: String, step: String) in
            result.results.first { $0.change.node == node && $0.change.step.step == step }?.outcome
        }
        guard case .failed(let message, _)? = outcome("w1", "prep") else {
            Issue.record("prep on w1 should fail")
            return
        }
        #expect(message == "apply exited with status 3")
        #expect(outcome("cp1", "init") == .skipped(reason: "depends on cluster/prep on w1, which did not succeed"))
        #expect(outcome("w2", "join") == .skipped(reason: "depends on cluster/init on cp1, which did not succeed"))
        #expect(outcome("w2", "prep") == .succeeded(note: "create"))
        #expect(outcome("w1", "motd") == .succeeded(note: "create"))
        #expect(outcome("w2", "motd") == .succeeded(note: "create"))
        #expect(result.failures.count == 1)
    }

    @Test func noMoreThanParallelNodesWorkAtOnce() async throws {
        let platform = TestPlatform()
        platform.stack(
            "slow",
            """
            roles: [{name: worker}]
            steps:
              - {name: wait, check: "test -f \\"$ISLET_ROOT/done\\"", apply: "sleep 0.2; touch \\"$ISLET_ROOT/done\\""}
            """)
        platform.inventory(nodes: (1...6).map { ("w\($0)", ["worker"]) })
        let counter = ConcurrencyCounter()
        let observer = ApplyObserver(started: { _ in counter.enter() }, finished: { _, _, _ in counter.leave() })
        let (_, result) = try await platform.apply(parallel: 2, observer: observer)
        #expect(result.succeeded)
        #expect(result.results.count == 6)
        #expect(counter.maximum == 2)
    }

    @Test func anInterruptedApplyResumesWithoutRepeatingRecordedSteps() async throws {
        let log = NSTemporaryDirectory() + "islet-resume-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let platform = platform(log: log)
        let interruption = Interruption()
        // Ctrl-C as soon as the first step finishes: running steps finish, nothing new starts.
        let observer = ApplyObserver(finished: { _, _, _ in interruption.request() })
        let (_, first) = try await platform.apply(parallel: 1, interruption: interruption, observer: observer)
        let done = first.results.filter { $0.outcome.succeeded }.map { "\($0.change.node) \($0.change.step)" }
        #expect(done.count == 1)
        #expect(first.results.contains { $0.outcome == .skipped(reason: "not started: interrupted") })
        let recorded = try platform.workspace().state?.recordedPairs.map { "\($0.node) \($0.step)" }
        #expect(recorded == done)
        let startsBefore = events(log).filter { $0.hasSuffix(" start") }.count
        let (resumed, second) = try await platform.apply()
        #expect(second.succeeded)
        #expect(!resumed.table.contains { $0.hasPrefix(done[0]) }, "a recorded step must not run again")
        #expect(events(log).filter { $0.hasSuffix(" start") }.count == startsBefore + 5)
        #expect(try await platform.plan().hasChanges == false)
    }
}

final class ConcurrencyCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var current = 0
    private(set) var maximum = 0

    func enter() {
        lock.withLock {
            current += 1
            maximum = max(maximum, current)
        }
    }
    func leave() { lock.withLock { current -= 1 } }
}
