import Foundation

/// A unit of apply work: one planned change, run by one node's session, after its dependencies.
struct Job: Sendable {
    var change: PlannedChange
    /// The node whose connection runs it (the change's node, or `runsOn` for a remote removal).
    var executor: String
    var dependencies: [Int]
    /// Set for stand-ins of work that cannot run (on an unreachable node): dependents are skipped.
    var presetOutcome: StepOutcome? = nil
}

/// Runs jobs as a graph: each after its dependencies, one at a time per node, at most `parallel` nodes at once.
/// A failed job skips everything that depends on it; independent work goes on.
struct Scheduler: Sendable {
    var parallel: Int
    var interruption: Interruption

    func run(_ jobs: [Job], observer: ApplyObserver, work: @escaping @Sendable (PlannedChange) async -> StepOutcome)
        async -> [StepOutcome?]
    {
        var outcomes = jobs.map(\.presetOutcome)
        var busyNodes: Set<String> = []
        await withTaskGroup(of: (Int, StepOutcome, Duration).self) { group in
            func launchReady() {
                for index in jobs.indices where outcomes[index] == nil {
                    let job = jobs[index]
                    if let blocker = job.dependencies.first(where: { outcomes[$0].map { !$0.succeeded } ?? false }) {
                        let upstream = jobs[blocker].change
                        outcomes[index] = .skipped(
                            reason: "depends on \(upstream.step) on \(upstream.node), which did not succeed")
                        observer.finished(job.change, outcomes[index]!, .zero)
                        continue
                    }
                    guard job.dependencies.allSatisfy({ outcomes[$0] != nil }) else { continue }
                    if interruption.isRequested {
                        outcomes[index] = .skipped(reason: "not started: interrupted")
                        observer.finished(job.change, outcomes[index]!, .zero)
                        continue
                    }
                    guard !busyNodes.contains(job.executor), busyNodes.count < parallel else { continue }
                    busyNodes.insert(job.executor)
                    observer.started(job.change)
                    group.addTask {
                        let clock = ContinuousClock()
                        let start = clock.now
                        let outcome = await work(job.change)
                        return (index, outcome, clock.now - start)
                    }
                }
            }
            // Skipping can unblock further skips, so settle until nothing changes before waiting.
            func settle() {
                var before = -1
                while before != outcomes.compactMap({ $0 }).count {
                    before = outcomes.compactMap({ $0 }).count
                    launchReady()
                }
            }
            settle()
            while let (index, outcome, duration) = await group.next() {
                outcomes[index] = outcome
                busyNodes.remove(jobs[index].executor)
                observer.finished(jobs[index].change, outcome, duration)
                settle()
            }
        }
        return outcomes
    }
}

/// Ctrl-C handling: the first request stops new steps from starting; running ones finish and are recorded.
public final class Interruption: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false

    public init() {}

    public var isRequested: Bool { lock.withLock { requested } }

    public func request() { lock.withLock { requested = true } }
}

/// Receives apply progress; the CLI renders it.
public struct ApplyObserver: Sendable {
    public var started: @Sendable (PlannedChange) -> Void
    public var finished: @Sendable (PlannedChange, StepOutcome, Duration) -> Void

    public init(
        started: @escaping @Sendable (PlannedChange) -> Void = { _ in },
        finished: @escaping @Sendable (PlannedChange, StepOutcome, Duration) -> Void = { _, _, _ in }
    ) {
        self.started = started
        self.finished = finished
    }
}
