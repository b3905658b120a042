import Foundation

/// A plan saved by `islet plan --out` and applied by `islet apply PLAN`.
///
/// Two guarantees make "applied exactly as planned" hold against a hand-edited file:
/// - the file carries the sha256 of its own canonical content (`digest`), so any edit is refused as such;
/// - each change is checked against the current desired graph and state (a `remove` of a step that is still
///   desired, a change for a node or step that does not exist, an action that does not fit the record), so
///   even a plan whose digest was recomputed cannot make apply do what islet would never plan.
/// Together with `Applier.checkCurrent` (same lineage, serial, inventory and stacks), apply does nothing the
/// plan did not show.
public enum SavedPlan {
    /// The plan as JSON: sorted keys, slashes unescaped. `plan --json` prints this; it has no digest.
    public static func encode(_ plan: Plan) throws -> Data {
        try JSONDocument.encoder().encode(plan)
    }

    /// `sha256:…` over the plan's canonical (compact, sorted) JSON.
    public static func digest(of plan: Plan) throws -> String {
        "sha256:" + sha256Hex(try JSONDocument.encoder(pretty: false).encode(plan))
    }

    /// Writes the plan with its digest, atomically and 0600 whatever the umask (it names nodes, addresses and
    /// the state's lineage).
    public static func write(_ plan: Plan, to path: String) throws {
        let folder = (URL(fileURLWithPath: path).deletingLastPathComponent().path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SavedPlanError(
                path: path, problem: "the folder \(folder) does not exist; expected an existing folder")
        }
        let data = try JSONDocument.encoder().encode(Signed(plan: plan, digest: try digest(of: plan)))
        try AtomicFile.write(data, to: path, mode: 0o600)
    }

    /// Reads a saved plan and checks its digest.
    /// - Throws: `SavedPlanError` naming the file and what was expected.
    public static func read(from path: String) throws -> Plan {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw SavedPlanError(
                path: path,
                problem: (exists ? "cannot read the file" : "no such file")
                    + "; expected a plan saved by `islet plan --out \(path)`")
        }
        let signed: Signed
        do {
            signed = try JSONDecoder().decode(Signed.self, from: data)
        } catch {
            throw SavedPlanError(
                path: path,
                problem: "not a saved islet plan (\(JSONDocument.describe(error))); expected a file written by "
                    + "`islet plan --out`")
        }
        guard let recorded = signed.digest else {
            throw SavedPlanError(
                path: path,
                problem: "the plan carries no digest; expected a file written by `islet plan --out` "
                    + "(the output of `plan --json` is for reading, not for apply)")
        }
        guard recorded == (try digest(of: signed.plan)) else {
            throw SavedPlanError(
                path: path,
                problem: "the plan was changed after islet saved it (its content no longer matches its digest); "
                    + "a saved plan is applied only exactly as `islet plan --out` wrote it. Run islet plan again.")
        }
        return signed.plan
    }

    /// Reads, verifies and checks a saved plan against the workspace, as `islet apply PLAN` does.
    public static func load(from path: String, for workspace: Workspace) throws -> Plan {
        let plan = try read(from: path)
        do {
            try Applier(workspace: workspace).checkCurrent(plan)
        } catch let error as StalePlan {
            throw SavedPlanError(path: path, problem: "\(error)")
        } catch let error as RefusedChanges {
            throw SavedPlanError(path: path, problem: "\(error)")
        }
        return plan
    }

    /// Refuses any change that islet would not plan from the current inventory, stacks and state.
    public static func checkChanges(_ plan: Plan, workspace: Workspace) throws {
        let desired = Set(workspace.graph.instances)
        let state = workspace.state
        var problems: [String] = []
        var seen: Set<StepInstance> = []
        if let target = plan.target, let problem = StateValidation.nodeNameProblem(target) {
            problems.append("target: \(problem)")
        }
        for node in plan.facts.keys.sorted() + plan.failures.map(\.node) {
            if let problem = StateValidation.nodeNameProblem(node) { problems.append(problem) }
        }
        for (index, change) in plan.changes.enumerated() {
            let name =
                "change \(index + 1) (\(StateValidation.quoted(change.node)) \(change.step) \(change.action.rawValue))"
            if let problem = problem(with: change, desired: desired, state: state, workspace: workspace, seen: &seen) {
                problems.append("\(name): \(problem)")
            }
        }
        if !problems.isEmpty { throw RefusedChanges(problems: problems) }
    }

    private static func problem(
        with change: PlannedChange, desired: Set<StepInstance>, state: State?, workspace: Workspace,
        seen: inout Set<StepInstance>
    ) -> String? {
        if let problem = StateValidation.nodeNameProblem(change.node) { return problem }
        if let problem = StateValidation.stepProblem(change.step.description) { return problem }
        let instance = StepInstance(step: change.step, node: change.node)
        guard seen.insert(instance).inserted else { return "the step appears twice for this node" }
        let isDesired = desired.contains(instance)
        let isRecorded = state?.record(node: change.node, step: change.step) != nil
        let step = workspace.catalog.step(change.step)
        if let fingerprint = change.fingerprint, !fingerprint.hasPrefix("sha256:") {
            return "fingerprint '\(StateValidation.quoted(fingerprint))' is not valid; expected sha256:…"
        }
        if let runsOn = change.runsOn {
            guard change.action == .remove, workspace.inventory.node(named: runsOn) != nil else {
                return "runsOn '\(StateValidation.quoted(runsOn))' is not a node of the inventory that runs a removal"
            }
        }
        for output in change.adoptedOutputs ?? [] where step?.outputs.contains(where: { $0.name == output }) != true {
            return "adopted output '\(StateValidation.quoted(output))' is not an output of the step"
        }
        switch change.action {
        case .remove:
            if isDesired { return "the step is still desired on this node; only what is no longer desired is removed" }
            if !isRecorded { return "the state records no such step on this node" }
        case .run:
            if !isDesired || step?.ephemeral != true { return "only a short-lived step that runs on this node is run" }
        case .create, .adopt:
            if !isDesired {
                return "the step does not run on this node (no such node or step in the inventory and stacks)"
            }
            if isRecorded { return "the step is already recorded on this node" }
        case .update, .repair, .noChange:
            if !isDesired {
                return "the step does not run on this node (no such node or step in the inventory and stacks)"
            }
            if !isRecorded { return "the state records no such step on this node to \(change.action.rawValue)" }
        }
        return nil
    }

    /// The plan's fields with `digest` beside them, so the file reads like `plan --json` plus one line.
    private struct Signed: Codable {
        var plan: Plan
        var digest: String?

        private enum Keys: String, CodingKey { case digest }

        init(plan: Plan, digest: String) {
            self.plan = plan
            self.digest = digest
        }

        init(from decoder: Decoder) throws {
            plan = try Plan(from: decoder)
            digest = try decoder.container(keyedBy: Keys.self).decodeIfPresent(String.self, forKey: .digest)
        }

        func encode(to encoder: Encoder) throws {
            try plan.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(digest, forKey: .digest)
        }
    }
}

/// A saved plan that cannot be applied, and why.
public struct SavedPlanError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String { "\(path): \(problem)" }
}

/// Changes in a saved plan that islet would not plan now.
public struct RefusedChanges: Error, Sendable, CustomStringConvertible {
    public var problems: [String]
    public var description: String {
        "the saved plan holds changes the current inventory, stacks and state do not allow: "
            + problems.joined(separator: "; ") + ". Run islet plan again."
    }
}
