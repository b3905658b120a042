import Foundation
import Testing

@testable import IsletCore

/// The scheduler alone, with a stand-in for the node: which jobs go together, in what order, and what a
/// failure or a lost node does to the rest.
@Suite struct SchedulerTests {
    /// Job `name` on `node`, waiting for the named jobs.
    func job(_ name: String, on node: String, after: [Int] = []) -> Job {
        Job(
            change: PlannedChange(node: node, step: StepID(stack: "s", step: name), action: .create, reason: ""),
            executor: node, dependencies: after)
    }

    final class Recorder: @unchecked Sendable {
        let lock = NSLock()
        var batches: [[String]] = []
        var running = 0
        var mostRunning = 0
    }

    /// Runs the jobs; the stand-in node fails the jobs named in `failing` and loses the node of `losing`.
    func run(
        _ jobs: [Job], parallel: Int = 10, failing: Set<String> = [], losing: Set<String> = [],
        canJoin: @escaping @Sendable (Int, [Int]) -> Bool = { _, _ in true },
        interruption: Interruption = Interruption()
    ) async -> (outcomes: [StepOutcome], recorder: Recorder) {
        let recorder = Recorder()
        let scheduler = Scheduler(
            jobs: jobs, parallel: parallel, interruption: interruption, observer: ApplyObserver(), canJoin: canJoin)
        let outcomes = await scheduler.run { batch, scheduler in
            recorder.lock.withLock {
                recorder.batches.append(batch.jobs.map { jobs[$0].change.step.step })
                recorder.running += 1
                recorder.mostRunning = max(recorder.mostRunning, recorder.running)
            }
            try? await Task.sleep(for: .milliseconds(5))
            var failed: Set<Int> = []
            for (position, index) in batch.jobs.enumerated() {
                let name = jobs[index].change.step.step
                // As the node does: a job whose gate failed in this batch is skipped there.
                if batch.gates[position].contains(where: { failed.contains($0) }) {
                    failed.insert(position)
                    scheduler.finished(index, .skipped(reason: "gate"))
                } else if losing.contains(name) {
                    failed.insert(position)
                    scheduler.finished(index, .failed(message: "timeout", log: nil), nodeLost: true)
                } else if failing.contains(name) {
                    failed.insert(position)
                    scheduler.finished(index, .failed(message: "exit 1", log: nil))
                } else {
                    scheduler.finished(index, .succeeded(note: "ok"))
                }
            }
            recorder.lock.withLock { recorder.running -= 1 }
        }
        return (outcomes, recorder)
    }

    @Test func aChainOnOneNodeGoesInOneBatch() async {
        let jobs = [job("a", on: "n1"), job("b", on: "n1", after: [0]), job("c", on: "n1", after: [1])]
        let (outcomes, recorder) = await run(jobs)
        #expect(outcomes.allSatisfy { $0.succeeded })
        #expect(recorder.batches == [["a", "b", "c"]])
    }

    /// A job waiting for another node's job cannot join; it starts once that job is done.
    @Test func aCrossNodeDependencyEndsTheBatch() async {
        let jobs = [
            job("prep", on: "n1"), job("init", on: "n2"), job("join", on: "n1", after: [0, 1]),
            job("after-join", on: "n1", after: [2]),
        ]
        let (outcomes, recorder) = await run(jobs)
        #expect(outcomes.allSatisfy { $0.succeeded })
        #expect(recorder.batches.contains(["prep"]))
        #expect(recorder.batches.contains(["init"]))
        #expect(recorder.batches.contains(["join", "after-join"]))
        #expect(recorder.batches.count == 3)
    }

    @Test func aJobTheRuleKeepsOutStartsInTheNextBatch() async {
        let jobs = [job("producer", on: "n1"), job("reader", on: "n1", after: [0])]
        let (_, recorder) = await run(jobs, canJoin: { candidate, _ in candidate != 1 })
        #expect(recorder.batches == [["producer"], ["reader"]])
    }

    /// A failure skips what depends on it, in the batch and on other nodes, and nothing else.
    @Test func aFailureSkipsOnlyItsDependents() async {
        let jobs = [
            job("a", on: "n1"), job("b", on: "n1", after: [0]), job("c", on: "n1", after: [1]),
            job("independent", on: "n1"), job("remote", on: "n2", after: [1]), job("other", on: "n2"),
        ]
        let (outcomes, _) = await run(jobs, failing: ["b"])
        #expect(outcomes[0].succeeded && outcomes[3].succeeded && outcomes[5].succeeded)
        #expect(outcomes[1] == .failed(message: "exit 1", log: nil))
        for skipped in [2, 4] {
            guard case .skipped = outcomes[skipped] else {
                Issue.record("job \(skipped) should be skipped, is \(outcomes[skipped])")
                continue
            }
        }
    }

    /// A node that stopped answering: its jobs not yet sent are skipped at once, naming why.
    @Test func aLostNodeSkipsTheRestOfItsWork() async {
        let jobs = [
            job("first", on: "n1"), job("slow", on: "n2"), job("later", on: "n1", after: [1]),
            job("elsewhere", on: "n2", after: [1]),
        ]
        let (outcomes, recorder) = await run(jobs, losing: ["first"])
        #expect(outcomes[1].succeeded && outcomes[3].succeeded)
        guard case .skipped(let reason) = outcomes[2] else {
            Issue.record("later should be skipped, is \(outcomes[2])")
            return
        }
        #expect(reason.contains("node n1 stopped answering earlier in this run: timeout"))
        #expect(!recorder.batches.contains(["later"]))
    }

    @Test func atMostParallelNodesAtOnce() async {
        let jobs = (0..<12).map { job("j\($0)", on: "n\($0)") }
        let (outcomes, recorder) = await run(jobs, parallel: 3)
        #expect(outcomes.allSatisfy { $0.succeeded })
        #expect(recorder.mostRunning <= 3)
        #expect(recorder.batches.count == 12)
    }

    @Test func afterAnInterruptionNoNewBatchStarts() async {
        let interruption = Interruption()
        interruption.request()
        let (outcomes, recorder) = await run([job("a", on: "n1")], interruption: interruption)
        #expect(outcomes == [.skipped(reason: "not started: interrupted")])
        #expect(recorder.batches.isEmpty)
    }

    /// Jobs in plan order on a long chain still come out in dependency order, whatever order they are given.
    @Test func jobsListedOutOfOrderRunInDependencyOrder() async {
        let jobs = [job("c", on: "n1", after: [1]), job("b", on: "n1", after: [2]), job("a", on: "n1")]
        let (outcomes, recorder) = await run(jobs)
        #expect(outcomes.allSatisfy { $0.succeeded })
        #expect(recorder.batches == [["a", "b", "c"]])
    }
}
