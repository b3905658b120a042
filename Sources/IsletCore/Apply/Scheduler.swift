import Foundation

/// A unit of apply work: one planned change, run by one node's session, after its dependencies.
struct Job: Sendable {
    var change: PlannedChange
    /// The node whose connection runs it (the change's node, or `runsOn` for a remote removal).
    var executor: String
    /// Jobs that must succeed first.
    var dependencies: [Int]
    /// Set for stand-ins of work that cannot run (on an unreachable node, or a step that could not be
    /// resolved at plan time): their dependents are skipped.
    var presetOutcome: StepOutcome? = nil
}

/// Jobs that go to one node in one round trip, in an order where each comes after its dependencies.
struct Batch: Sendable {
    var executor: String
    var jobs: [Int]
    /// Per job of the batch: the positions (in `jobs`) of the batch's jobs it depends on. The node skips a
    /// job when one of them did not succeed.
    var gates: [[Int]]
}

/// Runs jobs as a graph, tracking how many unfinished dependencies each has.
///
/// A node runs one batch at a time, at most `parallel` nodes at once. A node's batch holds its ready jobs
/// and the jobs that become ready through them alone (a chain), unless `canJoin` says a job must wait for
/// the batch's results first. Outcomes are reported per job as they arrive (`finished`), so a dependent on
/// another node starts as soon as its dependency is recorded. A failed job skips everything that depends on
/// it; a job failing because its node stopped answering skips the rest of that node's work at once.
final class Scheduler: @unchecked Sendable {
    typealias Work = @Sendable (Batch, Scheduler) async -> Void

    private let jobs: [Job]
    private let parallel: Int
    private let maximumBatch: Int
    private let interruption: Interruption
    private let observer: ApplyObserver
    private let canJoin: @Sendable (_ job: Int, _ batch: [Int]) -> Bool

    private let lock = NSLock()
    private var outcomes: [StepOutcome?]
    private var dependents: [[Int]]
    private var unfinished: [Int]
    private var inBatch: [Bool]
    private var ready: [String: [Int]] = [:]
    private var busy: Set<String> = []
    private var lostNodes: [String: String] = [:]
    private var remaining: Int
    private var done: CheckedContinuation<Void, Never>?
    private var work: Work?
    private var durations: [Int: Duration] = [:]

    init(
        jobs: [Job], parallel: Int, maximumBatch: Int = 100, interruption: Interruption, observer: ApplyObserver,
        canJoin: @escaping @Sendable (_ job: Int, _ batch: [Int]) -> Bool = { _, _ in true }
    ) {
        self.jobs = jobs
        self.parallel = max(1, parallel)
        self.maximumBatch = max(1, maximumBatch)
        self.interruption = interruption
        self.observer = observer
        self.canJoin = canJoin
        outcomes = Array(repeating: nil, count: jobs.count)
        dependents = Array(repeating: [], count: jobs.count)
        unfinished = jobs.map { Set($0.dependencies).count }
        inBatch = Array(repeating: false, count: jobs.count)
        remaining = jobs.count
        for (index, job) in jobs.enumerated() {
            for dependency in Set(job.dependencies) { dependents[dependency].append(index) }
        }
    }

    /// Runs every job; `work` runs one batch and calls `finished` for each of its jobs.
    /// - Returns: each job's outcome.
    func run(_ work: @escaping Work) async -> [StepOutcome] {
        await withCheckedContinuation { continuation in
            var notifications: [(Int, StepOutcome)] = []
            lock.withLock {
                self.work = work
                done = continuation
                for index in jobs.indices where unfinished[index] == 0 && outcomes[index] == nil {
                    ready[jobs[index].executor, default: []].append(index)
                }
                for (index, job) in jobs.enumerated() {
                    if let preset = job.presetOutcome { settle(index, preset, notifying: &notifications) }
                }
                launchReady(notifying: &notifications)
                finishIfDone()
            }
            notify(notifications)
        }
        return lock.withLock { outcomes.map { $0 ?? .skipped(reason: "not started") } }
    }

    /// Reports one job's outcome; its dependents start, or are skipped, at once.
    /// - Parameter nodeLost: the job failed because its node stopped answering.
    func finished(_ index: Int, _ outcome: StepOutcome, nodeLost: Bool = false, duration: Duration = .zero) {
        var notifications: [(Int, StepOutcome)] = []
        lock.withLock {
            guard outcomes[index] == nil else { return }
            if nodeLost, lostNodes[jobs[index].executor] == nil, case .failed(let message, _) = outcome {
                lostNodes[jobs[index].executor] = message
            }
            settle(index, outcome, notifying: &notifications, duration: duration)
            launchReady(notifying: &notifications)
            finishIfDone()
        }
        notify(notifications)
    }

    /// Whether the job has an outcome already (a batch skips reporting twice).
    func isFinished(_ index: Int) -> Bool { lock.withLock { outcomes[index] != nil } }

    private func notify(_ notifications: [(Int, StepOutcome)]) {
        for (index, outcome) in notifications {
            observer.finished(jobs[index].change, outcome, lock.withLock { durations[index] } ?? .zero)
        }
    }

    /// Records an outcome and passes it on: dependents of a success may become ready, dependents of
    /// anything else are skipped (and theirs, and so on).
    private func settle(
        _ index: Int, _ outcome: StepOutcome, notifying notifications: inout [(Int, StepOutcome)],
        duration: Duration = .zero
    ) {
        guard outcomes[index] == nil else { return }
        outcomes[index] = outcome
        durations[index] = duration
        remaining -= 1
        if jobs[index].presetOutcome == nil { notifications.append((index, outcome)) }
        var queue = [(index, outcome)]
        while let (finished, result) = queue.popLast() {
            for dependent in dependents[finished] where outcomes[dependent] == nil {
                if result.succeeded {
                    unfinished[dependent] -= 1
                    if unfinished[dependent] == 0 && !inBatch[dependent] {
                        ready[jobs[dependent].executor, default: []].append(dependent)
                    }
                } else {
                    let upstream = jobs[finished].change
                    let skipped = StepOutcome.skipped(
                        reason: "depends on \(upstream.step) on \(upstream.node), which did not succeed")
                    outcomes[dependent] = skipped
                    remaining -= 1
                    notifications.append((dependent, skipped))
                    queue.append((dependent, skipped))
                }
            }
        }
    }

    /// Called after every outcome. `ready` holds only nodes with waiting jobs, and with every slot taken
    /// nothing can start, so a run of many nodes does not look at all of them after each step.
    private func launchReady(notifying notifications: inout [(Int, StepOutcome)]) {
        // Waiting jobs of an interrupted run or a lost node are skipped at once, slot or no slot.
        if busy.count >= parallel && !interruption.isRequested && lostNodes.isEmpty { return }
        for executor in ready.keys.sorted() {
            guard var waiting = ready[executor], !busy.contains(executor) else { continue }
            waiting.removeAll { outcomes[$0] != nil }
            ready[executor] = nil
            if waiting.isEmpty { continue }
            let why: String? =
                interruption.isRequested
                ? "not started: interrupted"
                : lostNodes[executor].map {
                    "not started: node \(executor) stopped answering earlier in this run: \($0)"
                }
            if let why {
                for index in waiting { settle(index, .skipped(reason: why), notifying: &notifications) }
                continue
            }
            guard busy.count < parallel else {
                ready[executor] = waiting
                continue
            }
            let batch = makeBatch(executor: executor, ready: waiting.sorted())
            busy.insert(executor)
            let work = self.work!
            Task {
                await work(batch, self)
                self.batchEnded(batch)
            }
        }
    }

    /// The ready jobs, then every job of the same node that becomes ready through the batch alone.
    private func makeBatch(executor: String, ready waiting: [Int]) -> Batch {
        var members = Array(waiting.prefix(maximumBatch))
        if waiting.count > members.count { ready[executor] = Array(waiting.dropFirst(maximumBatch)) }
        var position: [Int: Int] = [:]
        for (offset, index) in members.enumerated() { position[index] = offset }
        var cursor = 0
        while cursor < members.count && members.count < maximumBatch {
            let index = members[cursor]
            cursor += 1
            for candidate in dependents[index].sorted()
            where jobs[candidate].executor == executor && outcomes[candidate] == nil && position[candidate] == nil
                && members.count < maximumBatch
            {
                let joinable = jobs[candidate].dependencies.allSatisfy { dependency in
                    position[dependency] != nil || outcomes[dependency]?.succeeded == true
                }
                guard joinable, canJoin(candidate, members) else { continue }
                position[candidate] = members.count
                members.append(candidate)
            }
        }
        for index in members { inBatch[index] = true }
        let gates = members.map { index in jobs[index].dependencies.compactMap { position[$0] }.sorted() }
        return Batch(executor: executor, jobs: members, gates: gates)
    }

    private func batchEnded(_ batch: Batch) {
        var notifications: [(Int, StepOutcome)] = []
        lock.withLock {
            busy.remove(batch.executor)
            for index in batch.jobs where outcomes[index] == nil {
                settle(
                    index, .failed(message: "the node reported no result for it", log: nil), notifying: &notifications)
            }
            launchReady(notifying: &notifications)
            finishIfDone()
        }
        notify(notifications)
    }

    private func finishIfDone() {
        guard remaining == 0, busy.isEmpty, let continuation = done else { return }
        done = nil
        continuation.resume()
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
    /// Something an operator should know while it happens (a node waiting for an earlier run's script).
    public var notice: @Sendable (String) -> Void

    public init(
        started: @escaping @Sendable (PlannedChange) -> Void = { _ in },
        finished: @escaping @Sendable (PlannedChange, StepOutcome, Duration) -> Void = { _, _, _ in },
        notice: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.started = started
        self.finished = finished
        self.notice = notice
    }
}

/// What a node that waits for its run lock is told to the operator.
func waitingForLockNotice(node: String) -> String {
    "\(node): waiting for an earlier islet script still running there (it holds /var/lib/islet/run.lock); "
        + "it goes on once that script ends"
}
