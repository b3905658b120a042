import Foundation

/// Decides the action of every (node, step) from the desired fingerprint, the recorded state and the live
/// check on the node. Reads nodes, changes nothing.
public struct Planner: Sendable {
    public var workspace: Workspace
    public var target: String?
    /// Instances to run again even if nothing changed (`--replace NODE/STACK/STEP`).
    public var replace: Set<StepInstance>
    public var parallel: Int
    /// Told what an operator should know while the probe runs (a node waiting for an earlier run's script).
    public var notice: @Sendable (String) -> Void = { _ in }

    public init(workspace: Workspace, target: String? = nil, replace: Set<StepInstance> = [], parallel: Int = 10) {
        self.workspace = workspace
        self.target = target
        self.replace = replace
        self.parallel = max(1, parallel)
    }

    /// Probes every node in one round trip each (facts and all checks), then decides.
    public func plan(connections: Connections) async -> Plan {
        let graph = workspace.graph
        var instancesByNode: [String: [StepInstance]] = [:]
        for instance in graph.instances where target == nil || instance.node == target {
            instancesByNode[instance.node, default: []].append(instance)
        }
        let nodes = workspace.inventory.nodes.filter { instancesByNode[$0.name] != nil }
        var reports: [String: NodeReport] = [:]
        var failures: [NodeFailure] = []
        await withTaskGroup(of: (String, Result<NodeReport, NodeUnreachable>).self) { group in
            var queue = nodes[...]
            func startNext() {
                guard let node = queue.popFirst() else { return }
                let instances = instancesByNode[node.name] ?? []
                group.addTask { (node.name, await probe(node, instances: instances, connections: connections)) }
            }
            for _ in 0..<parallel { startNext() }
            for await (name, result) in group {
                switch result {
                case .success(let report): reports[name] = report
                case .failure(let failure): failures.append(NodeFailure(node: name, message: failure.description))
                }
                startNext()
            }
        }
        // Artifacts are collected and delivered for the architecture the inventory declares: a node that
        // runs another gets nothing it cannot execute.
        for node in nodes {
            guard let machine = reports[node.name]?.facts["arch"], Architecture(machine: machine) != node.arch else {
                continue
            }
            reports[node.name] = nil
            failures.append(NodeFailure(node: node.name, message: Self.architectureMismatch(node, machine: machine)))
        }
        // Nodes unfit for a stack's steps are refused as a whole, before any change.
        for failure in PreflightCheck.failures(
            stacks: workspace.catalog.stacks, graph: graph, facts: reports.mapValues(\.facts))
        {
            reports[failure.node] = nil
            failures.append(failure)
        }
        let facts = reports.mapValues(\.facts)
        let desired = graph.instances.filter { (target == nil || $0.node == target) && reports[$0.node] != nil }
        var changes = decide(desired: desired, reports: reports, facts: facts)
        // Node by node in inventory order, then steps in dependency order: how people read a plan.
        changes.sort {
            graph.readingOrder(StepInstance(step: $0.step, node: $0.node), StepInstance(step: $1.step, node: $1.node))
        }
        changes = removals() + changes
        return Plan(
            createdAt: ISO8601DateFormatter().string(from: Date()), lineage: workspace.state?.lineage,
            serial: workspace.state?.serial ?? 0, inventoryDigest: workspace.inventoryDigest,
            stacksDigest: workspace.stacksDigest, target: target, changes: changes, facts: facts,
            failures: failures.sorted { $0.node < $1.node })
    }

    static func architectureMismatch(_ node: Node, machine: String) -> String {
        let supported = Architecture.allCases.map { "\($0.rawValue) (\($0.machine))" }
        guard let reported = Architecture(machine: machine) else {
            return "the node runs on \(machine), which islet does not support; expected \(humanList(supported))"
        }
        return
            "the node runs on \(reported.rawValue) (\(machine)) but the inventory declares arch \(node.arch.rawValue); "
            + "set 'arch: \(reported.rawValue)' on the node (or cluster.arch) so its artifacts match"
    }

    /// Facts and every check of one node, in one script. A step whose check cannot be sent (an input no
    /// shell can hold, a template that does not render) is that step's error, not the node's.
    private func probe(_ node: Node, instances: [StepInstance], connections: Connections) async
        -> Result<NodeReport, NodeUnreachable>
    {
        let session: any NodeSession
        switch await connections.session(for: node.connection) {
        case .success(let open): session = open
        case .failure(let failure): return .failure(failure)
        }
        let resolver = StepResolver(graph: workspace.graph, facts: [:])
        let recorded = RecordedOutputs(workspace: workspace)
        var script = NodeScript(filesystemRoot: session.filesystemRoot, lock: .shared)
        var report = NodeReport()
        script.gatherFacts()
        for (index, instance) in instances.enumerated() {
            report.indexes[instance] = index
            guard let step = workspace.catalog.step(instance.step), !step.ephemeral, let check = step.check else {
                continue
            }
            do {
                // Values known from state: good enough for a check; the fingerprint is computed after the probe.
                let resolved = try resolver.resolve(instance, outputs: recorded, acting: [])
                // Everything that can fail comes first, so a step that cannot be sent leaves no half in the script.
                let exports = try NodeScript.exports(
                    resolved.environment, factInputs: step.factInputs, index: index, node: node.name, step: step.id)
                script.append("(")
                script.append(exports)
                for line in script.fileReports(resolved.files, index: index, verify: false) { script.append(line) }
                script.append(NodeScript.evaluate(check, log: "\"$__t/log.\(index)\""))
                script.append("__emit \(ResultKind.checked.rawValue) \(index) \"$?\"")
                script.append(script.outputReport(index: index))
                script.append(script.logReport(index: index))
                script.append(") 9>&-")
            } catch {
                report.errors[index] = Self.planningError(step, node: node.name, error)
            }
        }
        do {
            let notice = self.notice
            let reader = NodeResultReader(marker: script.marker) { event in
                if case .result(.waiting, _) = event { notice(waitingForLockNotice(node: node.name)) }
            }
            let errors = OutputCollector()
            let status = try await session.run(script: script.text) { chunk in
                switch chunk.stream {
                case .stdout: reader.read(chunk.bytes)
                case .stderr: errors.append(chunk.bytes)
                }
            }
            reader.finish()
            let snapshot = reader.snapshot
            guard snapshot.ready else {
                let stderr = errors.text.trimmingCharacters(in: .whitespacesAndNewlines)
                return .failure(
                    NodeUnreachable(
                        node: node.name,
                        message: "the probe script could not start (\(status))" + (stderr.isEmpty ? "" : ": \(stderr)"))
                )
            }
            report.facts = snapshot.facts
            report.results = snapshot.results
            return .success(report)
        } catch {
            return .failure(NodeUnreachable(node: node.name, message: "\(error)"))
        }
    }

    /// The action table of DESIGN.md, instance by instance in dependency order.
    func decide(desired: [StepInstance], reports: [String: NodeReport], facts: [String: [String: String]])
        -> [PlannedChange]
    {
        let resolver = StepResolver(graph: workspace.graph, facts: facts)
        var outputs = RecordedOutputs(workspace: workspace)
        var acting: Set<StepInstance> = []
        var changes: [PlannedChange] = []
        for instance in desired {
            guard let step = workspace.catalog.step(instance.step), !step.ephemeral else { continue }
            let report = reports[instance.node]!
            let index = report.indexes[instance] ?? -1
            let results = report.results[index] ?? StepResults()
            let record = workspace.state?.record(node: instance.node, step: instance.step)
            var change = PlannedChange(node: instance.node, step: instance.step, action: .noChange, reason: "")
            var planningError = report.errors[index]
            var resolution: ResolvedStep?
            if planningError == nil {
                do {
                    resolution = try resolver.resolve(instance, outputs: outputs, acting: acting)
                } catch {
                    planningError = Self.planningError(step, node: instance.node, error)
                }
            }
            guard let resolved = resolution else {
                change.action = record == nil ? .create : .update
                change.reason = "cannot be planned"
                change.error = planningError
                changes.append(change)
                acting.insert(instance)
                continue
            }
            let checkPassed = results.converged(files: resolved.files)
            change.fingerprint = resolved.fingerprint
            change.filesInPlace = resolved.files.enumerated()
                .filter { results.files[$0.offset]?.matches($0.element) == true }
                .map(\.element.destination)
            let reported = results.outputs ?? [:]
            let missingOutputs = step.outputs.map(\.name).filter { reported[$0] == nil }
            switch (record, resolved.fingerprint) {
            case (nil, _) where checkPassed && missingOutputs.isEmpty && resolved.pendingInputs.isEmpty:
                change.action = .adopt
                change.reason = "check passes"
                change.adoptedOutputs = step.outputs.map(\.name)
                outputs.extra[instance] = reported
            case (nil, _):
                change.action = .create
                change.reason =
                    checkPassed
                    ? "outputs \(missingOutputs.joined(separator: ", ")) not reported by the check" : "not applied yet"
            case (.some, nil):
                change.action = .update
                change.reason = "inputs known after apply: \(resolved.pendingInputs.joined(separator: ", "))"
            case (let record?, let fingerprint?) where record.fingerprint != fingerprint:
                change.action = .update
                change.reason = "definition changed"
            case (_, _) where !checkPassed:
                change.action = .repair
                let drifted = results.driftedFiles(resolved.files)
                change.reason = drifted.isEmpty ? "check fails" : "drifted: \(drifted.joined(separator: ", "))"
            case (.some, _) where replace.contains(instance):
                change.action = .update
                change.reason = "replacement requested"
            default:
                change.action = .noChange
            }
            if change.action.runsScripts { acting.insert(instance) }
            changes.append(change)
        }
        return ephemeralRuns(desired: desired, acting: acting) + changes
    }

    /// A step that cannot be planned on a node, named with its stack file and line.
    static func planningError(_ step: Step, node: String, _ error: any Error) -> String {
        "\(step.location): step \(step.id) on \(node): \(error)"
    }

    /// Short-lived steps run when a step that reads their outputs acts.
    private func ephemeralRuns(desired: [StepInstance], acting: Set<StepInstance>) -> [PlannedChange] {
        let graph = workspace.graph
        var needed: Set<StepInstance> = []
        for instance in desired where acting.contains(instance) {
            for source in workspace.catalog.step(instance.step)?.outputSources ?? [] {
                guard workspace.catalog.step(source)?.ephemeral == true,
                    let producer = graph.producer(of: source, for: instance)
                else { continue }
                needed.insert(producer)
            }
        }
        return desired.filter(needed.contains).map {
            PlannedChange(node: $0.node, step: $0.step, action: .run, reason: "produces values for steps that act")
        }
    }

    /// Recorded steps whose node or step is no longer desired.
    private func removals() -> [PlannedChange] {
        guard let state = workspace.state else { return [] }
        let graph = workspace.graph
        var changes: [PlannedChange] = []
        // Reverse dependency order: a step is removed before the steps it depends on.
        let pairs = state.recordedPairs.filter { target == nil || $0.node == target }
            .sorted {
                (workspace.catalog.position(of: $0.step) ?? Int.max, $0.node)
                    > (workspace.catalog.position(of: $1.step) ?? Int.max, $1.node)
            }
        for pair in pairs where !graph.contains(StepInstance(step: pair.step, node: pair.node)) {
            let step = workspace.catalog.step(pair.step)
            let nodeGone = graph.node(named: pair.node) == nil
            var reason = nodeGone ? "node removed from the inventory" : "step no longer runs on this node"
            if step == nil {
                reason = "step no longer defined; its record is forgotten"
            } else if step?.remove == nil {
                // A step without `remove` keeps what it made (a repository: the team's data); say so.
                reason += "; it has no remove, so what it made stays and only its record is forgotten"
            }
            var change = PlannedChange(node: pair.node, step: pair.step, action: .remove, reason: reason)
            if let role = step?.removeOn, step?.remove != nil {
                change.runsOn =
                    workspace.inventory.nodes.first { $0.roles.contains(role) && $0.name != pair.node }?.name
            }
            changes.append(change)
        }
        return changes
    }
}

/// What one node reported to a plan's probe.
struct NodeReport {
    var facts: [String: String] = [:]
    var results: [Int: StepResults] = [:]
    /// Which index each instance had in the script.
    var indexes: [StepInstance: Int] = [:]
    /// Steps whose check could not be sent, by index: their error, naming the stack file and line.
    var errors: [Int: String] = [:]
}

/// Outputs as the state records them (secret ones from the secrets file), plus `extra` ones known only to
/// this run: outputs adopted during planning, or those of short-lived steps during apply.
struct RecordedOutputs: OutputSource {
    let state: State?
    let secrets: SecretStore
    let catalog: Catalog
    var extra: [StepInstance: [String: String]] = [:]

    init(workspace: Workspace) {
        self.init(state: workspace.state, secrets: workspace.secrets, catalog: workspace.catalog)
    }

    init(state: State?, secrets: SecretStore, catalog: Catalog, extra: [StepInstance: [String: String]] = [:]) {
        self.state = state
        self.secrets = secrets
        self.catalog = catalog
        self.extra = extra
    }

    func outputs(of producer: StepInstance) -> [String: String]? {
        if let outputs = extra[producer] { return outputs }
        guard let record = state?.record(node: producer.node, step: producer.step) else { return nil }
        var outputs = record.outputs
        for output in catalog.step(producer.step)?.outputs ?? [] where output.secret {
            outputs[output.name] = secrets[SecretStore.outputKey(node: producer.node, producer.step, output.name)]
        }
        return outputs
    }

    func generatedSecret(_ step: StepID, _ name: String) -> String? {
        secrets[SecretStore.generatedKey(step, name)]
    }
}
