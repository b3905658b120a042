import Foundation

/// What an apply did.
public struct ApplyResult: Sendable {
    public var results: [(change: PlannedChange, outcome: StepOutcome)]
    public var logDirectory: String

    public var failures: [(change: PlannedChange, outcome: StepOutcome)] {
        results.filter { if case .failed = $0.outcome { return true } else { return false } }
    }

    public var succeeded: Bool { results.allSatisfy { $0.outcome.succeeded } }
}

/// Carries out a plan: removals first, in reverse dependency order, then everything else as a graph.
public struct Applier: Sendable {
    public var workspace: Workspace
    public var parallel: Int
    public var interruption: Interruption

    public init(workspace: Workspace, parallel: Int = 10, interruption: Interruption = Interruption()) {
        self.workspace = workspace
        self.parallel = max(1, parallel)
        self.interruption = interruption
    }

    /// Refuses a saved plan made from another state or other inputs, saying what changed.
    public func checkCurrent(_ plan: Plan) throws {
        var reasons: [String] = []
        if plan.formatVersion != Plan.currentFormatVersion {
            reasons.append("plan format \(plan.formatVersion) is not \(Plan.currentFormatVersion)")
        }
        if plan.lineage != workspace.state?.lineage {
            reasons.append(
                "the state's lineage is \(workspace.state?.lineage ?? "none"), the plan's \(plan.lineage ?? "none")")
        }
        if plan.serial != (workspace.state?.serial ?? 0) {
            reasons.append(
                "the state moved from serial \(plan.serial) to \(workspace.state?.serial ?? 0) since the plan was made")
        }
        if plan.inventoryDigest != workspace.inventoryDigest { reasons.append("the inventory changed") }
        if plan.stacksDigest != workspace.stacksDigest { reasons.append("the stacks changed") }
        if !reasons.isEmpty { throw StalePlan(reasons: reasons) }
        try SavedPlan.checkChanges(plan, workspace: workspace)
    }

    /// - Parameter log: the run's log folder; the masker in it learns secrets as they appear.
    public func apply(_ plan: Plan, connections: Connections, log: RunLog, observer: ApplyObserver) async -> ApplyResult
    {
        log.masker.add(workspace.secretValues)
        let logger = log.logger()
        logger.info("apply started", metadata: ["changes": "\(plan.actionable.count)", "parallel": "\(parallel)"])
        let observer = ApplyObserver(
            started: { change in
                logger.info(
                    "step started",
                    metadata: [
                        "node": "\(change.node)", "step": "\(change.step)",
                        "action": "\(change.action.rawValue)",
                    ])
                observer.started(change)
            },
            finished: { change, outcome, duration in
                logger.info(
                    "step finished",
                    metadata: [
                        "node": "\(change.node)", "step": "\(change.step)",
                        "outcome": "\(outcome)", "duration": "\(duration)",
                    ])
                observer.finished(change, outcome, duration)
            })
        let ledger = Ledger(workspace: workspace, masker: log.masker)
        let runner = StepRunner(
            workspace: workspace, placement: workspace.placement, facts: plan.facts, ledger: ledger,
            connections: connections, log: log)
        let scheduler = Scheduler(parallel: parallel, interruption: interruption)
        var results: [(PlannedChange, StepOutcome)] = []
        let removals = removalJobs(plan.changes.filter { $0.action == .remove })
        let removalOutcomes = await scheduler.run(removals, observer: observer) { await runner.run($0) }
        results += zip(removals.map(\.change), removalOutcomes.map { $0 ?? .skipped(reason: "not started") })
        let jobs = applyJobs(plan)
        let outcomes = await scheduler.run(jobs, observer: observer) { await runner.run($0) }
        for (job, outcome) in zip(jobs, outcomes) where job.presetOutcome == nil {
            results.append((job.change, outcome ?? .skipped(reason: "not started")))
        }
        return ApplyResult(results: results, logDirectory: log.directory)
    }

    /// A removal waits for the removals of the steps that depend on its step. The catalog has no cycles,
    /// so neither does this.
    func removalJobs(_ changes: [PlannedChange]) -> [Job] {
        changes.enumerated().map { index, change in
            let dependents = changes.indices.filter { other in
                other != index && workspace.catalog.dependsTransitively(changes[other].step, on: change.step)
            }
            return Job(change: change, executor: change.runsOn ?? change.node, dependencies: dependents)
        }
    }

    /// Jobs for every acting change, each waiting for the acting instances it depends on, directly or through
    /// instances that do not act. Instances on nodes that could not be probed count as failed.
    func applyJobs(_ plan: Plan) -> [Job] {
        let placement = workspace.placement
        let acting = plan.changes.filter { $0.action != .remove && $0.action != .noChange }
        var jobIndex: [StepInstance: Int] = [:]
        for (index, change) in acting.enumerated() {
            jobIndex[StepInstance(step: change.step, node: change.node)] = index
        }
        let unreachable = Set(plan.failures.map(\.node))
        var jobs = acting.map { Job(change: $0, executor: $0.node, dependencies: []) }
        // Placeholder jobs stand for instances on unreachable nodes, so their dependents are skipped, not run.
        var placeholders: [StepInstance: Int] = [:]
        for (index, change) in acting.enumerated() {
            var seen: Set<StepInstance> = []
            var queue = placement.dependencies(of: StepInstance(step: change.step, node: change.node))
            var dependencies: Set<Int> = []
            while let next = queue.popLast() {
                guard seen.insert(next).inserted else { continue }
                if let job = jobIndex[next] {
                    dependencies.insert(job)
                } else if unreachable.contains(next.node) {
                    if placeholders[next] == nil {
                        placeholders[next] = jobs.count
                        let change = PlannedChange(
                            node: next.node, step: next.step, action: .noChange,
                            reason: "node unreachable")
                        jobs.append(
                            Job(
                                change: change, executor: next.node, dependencies: [],
                                presetOutcome: .failed(message: "node \(next.node) is unreachable", log: nil)))
                    }
                    dependencies.insert(placeholders[next]!)
                } else {
                    queue += placement.dependencies(of: next)
                }
            }
            jobs[index].dependencies = dependencies.sorted()
        }
        return jobs
    }
}

public struct StalePlan: Error, CustomStringConvertible {
    public var reasons: [String]
    public var description: String {
        "the saved plan is stale: " + reasons.joined(separator: "; ") + ". Run islet plan again."
    }
}

extension Catalog {
    /// Whether `step` depends on `other`, directly or through other steps.
    func dependsTransitively(_ step: StepID, on other: StepID) -> Bool {
        var seen: Set<StepID> = []
        var queue = dependencies(of: step)
        while let next = queue.popLast() {
            if next == other { return true }
            if seen.insert(next).inserted { queue += dependencies(of: next) }
        }
        return false
    }
}
