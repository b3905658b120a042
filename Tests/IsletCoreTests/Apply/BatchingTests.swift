import Foundation
import Testing

@testable import IsletCore

/// A node's ready chain of steps goes in one round trip; each step still has its own result, log and record.
@Suite struct BatchingTests {
    /// Each step appends `NAME $$` to `log`: `$$` is the node script's shell, the same for one round trip.
    func platform(log: String, failing: String = "none") -> TestPlatform {
        let platform = TestPlatform()
        let body = { (name: String) in
            """
            check: test -f "$ISLET_ROOT/\(name)"
                apply: |
                  echo "\(name) $$" >> "\(log)"
                  [ "\(name)" != "\(failing)" ] || { echo "\(name) fails on purpose"; exit 4; }
                  touch "$ISLET_ROOT/\(name)"
            """
        }
        platform.stack(
            "chain",
            """
            roles: [{name: web}]
            steps:
              - name: a
                \(body("a"))
              - name: b
                after: [a]
                \(body("b"))
              - name: c
                after: [b]
                \(body("c"))
              - name: d
                \(body("d"))
              - name: producer
                outputs: [PORT]
                check: test -f "$ISLET_ROOT/producer" && echo "PORT=$(cat "$ISLET_ROOT/producer")" >> "$ISLET_OUTPUT"
                apply: |
                  echo "producer $$" >> "\(log)"
                  echo 8080 > "$ISLET_ROOT/producer"
                  echo PORT=8080 >> "$ISLET_OUTPUT"
              - name: reader
                inputs: {PORT: steps.producer.PORT}
                check: test "$(cat "$ISLET_ROOT/reader" 2>/dev/null)" = "$PORT"
                apply: |
                  echo "reader $$" >> "\(log)"
                  echo "$PORT" > "$ISLET_ROOT/reader"
              - name: follower
                after: [producer]
                \(body("follower"))
            """)
        platform.inventory(nodes: [("n1", ["web"])])
        return platform
    }

    /// Which shell ran each step, by step name.
    func shells(_ log: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            result[parts[0]] = parts[1]
        }
        return result
    }

    func outcome(_ result: ApplyResult, _ step: String) -> StepOutcome? {
        result.results.first { $0.change.step.step == step }?.outcome
    }

    @Test func aReadyChainGoesInOneRoundTripAndAReaderOfItsOutputsInTheNext() async throws {
        let log = NSTemporaryDirectory() + "islet-batch-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let platform = platform(log: log)
        let (_, result) = try await platform.apply()
        #expect(result.succeeded)
        let shell = shells(log)
        #expect(Set(["a", "b", "c", "d", "producer", "follower"].map { shell[$0] }).count == 1, "\(shell)")
        // The reader's input is known only once the producer's result is back: it waits for the next trip.
        #expect(shell["reader"] != nil && shell["reader"] != shell["producer"])
        #expect(platform.read(node: "n1", "/reader") == "8080\n")
        // Every step was recorded on its own, and a second plan has nothing to do.
        let state = try platform.workspace().state
        #expect(state?.recordedPairs.count == 7)
        #expect(try await platform.plan().hasChanges == false)
    }

    /// A failure in the middle of a batch stops its dependents there and nothing else.
    @Test func aFailureInABatchSkipsItsDependentsOnly() async throws {
        let log = NSTemporaryDirectory() + "islet-batch-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let platform = platform(log: log, failing: "b")
        let (_, result) = try await platform.apply()
        #expect(outcome(result, "a")?.succeeded == true)
        guard case .failed(let message, let logPath?)? = outcome(result, "b") else {
            Issue.record("b should fail, is \(String(describing: outcome(result, "b")))")
            return
        }
        #expect(message == "apply exited with status 4")
        // The step's own output is in its own log.
        let stepLog = try String(contentsOfFile: logPath, encoding: .utf8)
        #expect(stepLog.contains("b fails on purpose"))
        #expect(!stepLog.contains("__ISLET_"))
        guard case .skipped(let reason)? = outcome(result, "c") else {
            Issue.record("c should be skipped, is \(String(describing: outcome(result, "c")))")
            return
        }
        #expect(reason.contains("chain/b"))
        #expect(shells(log)["c"] == nil, "c never ran")
        for independent in ["d", "producer", "reader", "follower"] {
            #expect(outcome(result, independent)?.succeeded == true, "\(independent)")
        }
        let state = try platform.workspace().state
        #expect(state?.record(node: "n1", step: StepID(stack: "chain", step: "a")) != nil)
        #expect(state?.record(node: "n1", step: StepID(stack: "chain", step: "b")) == nil)
    }

    /// The node's verdict gates later steps of the batch: a step whose check still fails after apply is a
    /// failure there too, so its dependents never start.
    @Test func aStepThatDoesNotConvergeStopsItsDependentsOnTheNode() async throws {
        let log = NSTemporaryDirectory() + "islet-batch-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let platform = TestPlatform()
        platform.stack(
            "chain",
            """
            roles: [{name: web}]
            steps:
              - {name: first, check: "false", apply: "true"}
              - {name: second, after: [first], check: "true", apply: "echo second >> \(log)"}
            """)
        platform.inventory(nodes: [("n1", ["web"])])
        let (_, result) = try await platform.apply()
        guard case .failed(let message, _)? = outcome(result, "first") else {
            Issue.record("first should fail")
            return
        }
        #expect(message == "check still fails after apply (status 1)")
        guard case .skipped? = outcome(result, "second") else {
            Issue.record("second should be skipped")
            return
        }
        #expect(!FileManager.default.fileExists(atPath: log))
    }
}

/// Step logs: a file per step that printed something or did not succeed; silent successes only in islet.log.
@Suite struct StepLogFileTests {
    @Test func onlyStepsThatPrintOrFailGetALogFile() async throws {
        let platform = TestPlatform()
        platform.stack(
            "logs",
            """
            roles: [{name: web}]
            steps:
              - {name: silent, check: 'test -f "$ISLET_ROOT/silent"', apply: 'touch "$ISLET_ROOT/silent"'}
              - {name: chatty, check: 'test -f "$ISLET_ROOT/chatty"', apply: 'echo hello from chatty; touch "$ISLET_ROOT/chatty"'}
              - {name: broken, check: "false", apply: "true"}
            """)
        platform.inventory(nodes: [("n1", ["web"])])
        let (_, result) = try await platform.apply()
        let folder = result.logDirectory + "/n1"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(files == ["logs.broken.log", "logs.chatty.log"])
        #expect(
            try String(contentsOfFile: folder + "/logs.chatty.log", encoding: .utf8).contains("| hello from chatty"))
        let main = try String(contentsOfFile: result.logDirectory + "/islet.log", encoding: .utf8)
        #expect(main.contains("step finished") && main.contains("step=logs/silent"))
    }
}
