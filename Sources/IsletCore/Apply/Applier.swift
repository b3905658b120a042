import Foundation

/// What an apply did.
public struct ApplyResult: Sendable {
    public var results: [(change: PlannedChange, outcome: StepOutcome)]
    public var logDirectory: String
    /// What artifact delivery moved (empty when no step read artifacts).
    public var artifacts = ArtifactTraffic()

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
    /// Where file artifacts come from (the bundle); nil when none was given: only nodes that already hold
    /// what their steps read can go on.
    public var artifacts: (any ArtifactSource)?

    public init(
        workspace: Workspace, parallel: Int = 10, interruption: Interruption = Interruption(),
        artifacts: (any ArtifactSource)? = nil
    ) {
        self.workspace = workspace
        self.parallel = max(1, parallel)
        self.interruption = interruption
        self.artifacts = artifacts
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
                        "node": "\(change.node)", "step": "\(change.step)", "action": "\(change.action.rawValue)",
                    ])
                observer.started(change)
            },
            finished: { change, outcome, duration in
                logger.info(
                    "step finished",
                    metadata: [
                        "node": "\(change.node)", "step": "\(change.step)", "outcome": "\(outcome)",
                        "duration": "\(duration)",
                    ])
                observer.finished(change, outcome, duration)
            },
            notice: { text in
                logger.info("\(text)")
                observer.notice(text)
            })
        let ledger = Ledger(workspace: workspace, masker: log.masker)
        let context = ApplyContext(
            workspace: workspace, graph: workspace.graph, facts: plan.facts,
            ledger: ledger, connections: connections, log: log,
            delivery: ArtifactDelivery(
                source: artifacts, graph: workspace.graph, connections: connections,
                wanted: ArtifactDelivery.wanted(by: plan, graph: workspace.graph),
                secretVariable: { [ledger] step, secret, variable in
                    await ledger.secretVariable(step, secret, variable)
                },
                note: { text in logger.info("\(text)") }))
        var results: [(PlannedChange, StepOutcome)] = []
        let removals = removalJobs(plan.changes.filter { $0.action == .remove })
        let removalOutcomes = await run(removals, context: context, observer: observer, canJoin: { _, _ in true })
        results += zip(removals.map(\.change), removalOutcomes)
        let jobs = applyJobs(plan)
        let outcomes = await run(jobs, context: context, observer: observer, canJoin: batchRule(jobs))
        for (job, outcome) in zip(jobs, outcomes) where job.presetOutcome == nil || job.change.error != nil {
            results.append((job.change, outcome))
        }
        // Every change is on disk already (in the journal); this folds them into one state file.
        do {
            try await context.ledger.compact()
        } catch {
            logger.error(
                "could not write the whole state; its journal keeps every change", metadata: ["error": "\(error)"])
        }
        return ApplyResult(
            results: results, logDirectory: log.directory, artifacts: await context.delivery.traffic)
    }

    private func run(
        _ jobs: [Job], context: ApplyContext, observer: ApplyObserver,
        canJoin: @escaping @Sendable (Int, [Int]) -> Bool
    ) async -> [StepOutcome] {
        let scheduler = Scheduler(
            jobs: jobs, parallel: parallel, interruption: interruption, observer: observer, canJoin: canJoin)
        let runner = BatchRunner(context: context, jobs: jobs, observer: observer, interruption: interruption)
        return await scheduler.run { batch, scheduler in await runner.run(batch, scheduler: scheduler) }
    }

    /// A job joins a batch unless it reads outputs of a job in that batch: those are known only once the
    /// batch's results are back, and the job's inputs, files and fingerprint depend on them.
    func batchRule(_ jobs: [Job]) -> @Sendable (Int, [Int]) -> Bool {
        let graph = workspace.graph
        var jobOf: [StepInstance: Int] = [:]
        for (index, job) in jobs.enumerated() {
            jobOf[StepInstance(step: job.change.step, node: job.change.node)] = index
        }
        let lookup = jobOf
        let store = graph.catalog.artifactStore?.step
        return { candidate, batch in
            let change = jobs[candidate].change
            let reader = StepInstance(step: change.step, node: change.node)
            let step = graph.catalog.step(change.step)
            // Artifacts come from the store once it answers, which is only after its step's round trip.
            if let store, step?.readsArtifacts == true, !graph.catalog.runsBeforeStore(change.step),
                batch.contains(where: { jobs[$0].change.step == store })
            {
                return false
            }
            let sources = step?.outputSources ?? []
            return sources.allSatisfy { source in
                guard let producer = graph.producer(of: source, for: reader), let job = lookup[producer] else {
                    return true
                }
                return !batch.contains(job)
            }
        }
    }

    /// A removal waits for the removals of the steps that depend on its step. The catalog has no cycles,
    /// so neither does this.
    func removalJobs(_ changes: [PlannedChange]) -> [Job] {
        let waits = workspace.graph.removalDependencies(changes.map { StepInstance(step: $0.step, node: $0.node) })
        return zip(changes, waits).map { change, dependencies in
            Job(change: change, executor: change.runsOn ?? change.node, dependencies: dependencies)
        }
    }

    /// Jobs for every acting change, each waiting for the acting instances it depends on, directly or through
    /// instances that do not act. Instances on nodes that could not be probed count as failed, and so do
    /// steps that could not be resolved at plan time.
    func applyJobs(_ plan: Plan) -> [Job] {
        let graph = workspace.graph
        let acting = plan.changes.filter { $0.action != .remove && $0.action != .noChange }
        var jobs = acting.map { change in
            Job(
                change: change, executor: change.node, dependencies: [],
                presetOutcome: change.error.map { .failed(message: $0, log: nil) })
        }
        var jobOfInstance: [Int: Int] = [:]
        for (index, change) in acting.enumerated() {
            if let instance = graph.index(of: StepInstance(step: change.step, node: change.node)) {
                jobOfInstance[instance] = index
            }
        }
        let unreachable = Set(plan.failures.map(\.node))
        // Per instance that does not act: the jobs it stands between (memoized; instances come in
        // dependency order, so a walk only ever goes to smaller indexes).
        var through: [Int: Set<Int>] = [:]
        func waits(for instance: Int) -> Set<Int> {
            if let job = jobOfInstance[instance] { return [job] }
            if let known = through[instance] { return known }
            let node = graph.instances[instance].node
            var result: Set<Int> = []
            if unreachable.contains(node) {
                // A stand-in for an instance on an unreachable node, so its dependents are skipped, not run.
                let change = PlannedChange(
                    node: node, step: graph.instances[instance].step, action: .noChange, reason: "node unreachable")
                result = [jobs.count]
                jobs.append(
                    Job(
                        change: change, executor: node, dependencies: [],
                        presetOutcome: .failed(message: "node \(node) is unreachable", log: nil)))
            } else {
                for dependency in graph.dependencies[instance] { result.formUnion(waits(for: dependency)) }
            }
            through[instance] = result
            return result
        }
        for (index, change) in acting.enumerated() {
            guard let instance = graph.index(of: StepInstance(step: change.step, node: change.node)) else { continue }
            var dependencies: Set<Int> = []
            for dependency in graph.dependencies[instance] { dependencies.formUnion(waits(for: dependency)) }
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
