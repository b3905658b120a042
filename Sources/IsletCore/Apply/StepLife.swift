import Foundation

/// How one planned change ended.
public enum StepOutcome: Sendable, Equatable {
    case succeeded(note: String)
    case failed(message: String, log: String?)
    case skipped(reason: String)

    public var succeeded: Bool { if case .succeeded = self { return true } else { return false } }
}

/// What one apply works with, shared by every step's life.
struct ApplyContext: Sendable {
    let workspace: Workspace
    let graph: DesiredGraph
    let facts: [String: [String: String]]
    let ledger: Ledger
    let connections: Connections
    let log: RunLog
    let delivery: ArtifactDelivery

    /// The connection of a node in the inventory, or recorded in state for one removed from it.
    func address(of node: String) -> NodeAddress? {
        if let node = graph.node(named: node) { return node.connection }
        return workspace.state?.nodes[node]?.connection
    }
}

/// One step's life on one node, in one place, whether it runs alone or in a batch:
/// prepare (secrets, inputs, files) → script fragment → interpret the node's results → record.
struct StepLife: Sendable {
    enum Mode: Sendable {
        /// Put files in place, apply, then prove it with the check.
        case apply
        /// Adopt: only the check runs; its outputs are recorded.
        case verify
        /// An update whose inputs were unknown at plan time and came out as recorded: if the check passes,
        /// nothing is applied; else as `apply`.
        case settle
        /// Run the remove script and delete the managed files.
        case remove
        /// A step no longer defined: its record is forgotten, nothing runs.
        case forget
    }

    let change: PlannedChange
    let instance: StepInstance
    let mode: Mode
    let stepLog: StepLog
    private let step: Step?
    private let resolved: ResolvedStep?
    private let environment: [(name: String, value: String)]
    private let staged: [String?]
    /// File artifacts the step reads: their digest, and the uploaded copy when the node lacked them.
    private var artifacts: [(sha256: String, route: ArtifactDelivery.Route, extract: String?)] = []
    private let recordedOutputs: [String: String]
    private let connection: NodeAddress?
    private let executor: String

    // MARK: prepare

    /// Generates the step's secrets, resolves its inputs, renders and uploads its files.
    /// - Throws: `StepFailure` naming what went wrong; nothing ran on the node.
    static func prepare(_ change: PlannedChange, executor: String, session: any NodeSession, context: ApplyContext)
        async throws -> StepLife
    {
        let instance = StepInstance(step: change.step, node: change.node)
        let stepLog = context.log.stepLog(node: change.node, step: change.step)
        let step = context.workspace.catalog.step(change.step)
        let reason =
            change.action == .remove
            ? "remove \(change.step) from \(change.node)" : "\(change.action.rawValue) \(change.step) on \(change.node)"
        stepLog.note("\(reason): \(change.reason)")
        func failure(_ message: String) -> StepFailure { StepFailure(message: message, log: stepLog.path) }
        do {
            if change.action == .remove {
                guard let step else {
                    return StepLife(
                        change: change, instance: instance, mode: .forget, stepLog: stepLog, step: nil, resolved: nil,
                        environment: [], staged: [], recordedOutputs: [:], connection: nil, executor: executor)
                }
                let target = context.address(of: change.node)
                // The step's inputs, also for a node gone from the inventory (its address comes from the state).
                let resolved = try StepResolver(graph: context.graph, facts: context.facts).resolve(
                    instance, outputs: await context.ledger.outputs(for: instance, graph: context.graph), acting: [],
                    removedNodeAddress: target?.address)
                context.log.masker.add(resolved.secretValues)
                let environment =
                    [("ISLET_TARGET_NODE", change.node), ("ISLET_TARGET_ADDRESS", target?.address ?? "")]
                    + resolved.environment
                return StepLife(
                    change: change, instance: instance, mode: .remove, stepLog: stepLog, step: step, resolved: resolved,
                    environment: environment, staged: [], recordedOutputs: [:], connection: target, executor: executor)
            }
            guard let step, let node = context.graph.node(named: change.node) else {
                throw failure("step \(change.step) or node \(change.node) is no longer defined")
            }
            let resolver = StepResolver(graph: context.graph, facts: context.facts)
            if !step.secrets.isEmpty {
                // A certificate is issued for the hosts the step's inputs name: resolved once without the secrets.
                let hosts = try resolver.resolve(
                    instance, outputs: await context.ledger.outputs(for: instance, graph: context.graph), acting: []
                ).certificateHosts
                for declaration in step.secrets {
                    _ = try await context.ledger.secret(step.id, declaration, hosts: hosts[declaration.name])
                }
            }
            let resolved = try resolver.resolve(
                instance, outputs: await context.ledger.outputs(for: instance, graph: context.graph), acting: [])
            context.log.masker.add(resolved.secretValues)
            guard let fingerprint = resolved.fingerprint else {
                let missing = resolved.pendingInputs.joined(separator: ", ")
                throw failure("inputs \(missing) have no value: the steps producing them did not record them")
            }
            let recorded = await context.ledger.record(node: node.name, step: step.id)
            // Planned with inputs unknown until now: if they came out the same, a passing check is enough.
            let settles = change.action == .update && change.fingerprint == nil && recorded?.fingerprint == fingerprint
            let mode: Mode = change.action == .adopt ? .verify : settles ? .settle : .apply
            let staged = mode == .verify ? [] : try await upload(resolved, change: change, session: session)
            var life = StepLife(
                change: change, instance: instance, mode: mode, stepLog: stepLog, step: step, resolved: resolved,
                environment: resolved.environment, staged: staged, recordedOutputs: recorded?.outputs ?? [:],
                connection: node.connection, executor: executor)
            if mode != .verify {
                let needed = context.graph.artifacts.files(readBy: step, on: node.name)
                let routes = try await context.delivery.routes(
                    for: needed.map { ($0.sha256, $0.label) }, step: step.id, on: node.name, session: session)
                life.artifacts = needed.map { ($0.sha256, routes[$0.sha256] ?? .inPlace, $0.extract) }
                try await context.delivery.pushImages(context.graph.artifacts.images(readBy: step), step: step.id)
            }
            return life
        } catch let error as StepFailure {
            stepLog.closeKept(noting: "error: \(error.message)")
            throw error
        } catch {
            let message = context.log.masker.mask("\(error)")
            stepLog.closeKept(noting: "error: \(message)")
            throw StepFailure(message: message, log: stepLog.path)
        }
    }

    /// Uploads the rendered files that are not already in place; nil entries need no upload.
    private static func upload(_ resolved: ResolvedStep, change: PlannedChange, session: any NodeSession)
        async throws -> [String?]
    {
        let inPlace = change.fingerprint == resolved.fingerprint ? Set(change.filesInPlace ?? []) : []
        var staged: [String?] = []
        for (number, file) in resolved.files.enumerated() {
            if inPlace.contains(file.destination) {
                staged.append(nil)
                continue
            }
            let local = NSTemporaryDirectory() + "islet-upload-\(UUID().uuidString)"
            guard
                FileManager.default.createFile(
                    atPath: local, contents: file.content, attributes: [.posixPermissions: 0o600])
            else {
                throw StateError.io(path: local, reason: "cannot write a rendered file for upload")
            }
            defer { try? FileManager.default.removeItem(atPath: local) }
            let name = "\(resolved.step.id.stack).\(resolved.step.id.step).\(number).\(file.sha256.prefix(16))"
            staged.append(try await session.upload(file: local, as: name))
        }
        return staged
    }

    // MARK: script fragment

    /// Whether the step sends anything to the node.
    var runsOnNode: Bool { mode != .forget }

    /// Appends this step's part of a node script. It runs only when the steps at `gates` (indexes in the same
    /// script) succeeded; its subshell's status says whether the node found it converged.
    func appendFragment(to script: inout NodeScript, index: Int, gates: [Int]) throws {
        // Nothing runs on the node; the record is forgotten when the batch ends.
        if mode == .forget { return }
        let stagedArtifacts = artifacts.compactMap { if case .staged(let path) = $0.route { path } else { nil } }
        for case let path? in staged + stagedArtifacts { script.removeAtExit(path) }
        let condition = gates.isEmpty ? "true" : gates.map { "[ -n \"${__ok_\($0)-}\" ]" }.joined(separator: " && ")
        script.append("if \(condition); then")
        script.append("__emit \(ResultKind.begin.rawValue) \(index)")
        script.append("(")
        let stepID = step?.id ?? change.step
        try script.export(environment, index: index, node: executor, step: stepID)
        switch mode {
        case .remove:
            appendRemove(to: &script, index: index)
        case .verify:
            appendVerify(to: &script, index: index)
            script.append("exit $__v")
        case .settle:
            appendVerify(to: &script, index: index)
            script.append("[ \"$__v\" = 0 ] && { __emit \(ResultKind.unchanged.rawValue) \(index); exit 0; }")
            script.append(": > \"$ISLET_OUTPUT\"")
            appendApply(to: &script, index: index)
        case .apply:
            appendApply(to: &script, index: index)
        case .forget:
            break
        }
        script.append(") && __ok_\(index)=1")
        script.append("__emit \(ResultKind.end.rawValue) \(index) \"${__ok_\(index):+1}\"")
        script.append("else __emit \(ResultKind.skipped.rawValue) \(index); fi")
    }

    /// Puts files in place, applies, then verifies; the subshell exits 0 only when all of it succeeded.
    private func appendApply(to script: inout NodeScript, index: Int) {
        guard let step, let resolved else { return }
        for artifact in artifacts {
            let command: String
            switch artifact.route {
            case .inPlace: command = "__artifact '' \(artifact.sha256)"
            case .staged(let path): command = "__artifact \(ShellQuoting.quote(path)) \(artifact.sha256)"
            case .store(let access):
                // curl trusts exactly the store's authority and gives its user, from a private config file.
                command =
                    "{ [ -f \"$__t/store.curl\" ] || ( \(access.curlSetup(in: "\"$__t\"")) ); } && "
                    + "__fetch \(ShellQuoting.quote(access.url)) \(artifact.sha256) \"$__t/store.curl\""
            }
            let extract = artifact.extract.map { " && __extract \(artifact.sha256) \(ShellQuoting.quote($0))" } ?? ""
            script.append(
                "\(command)\(extract) || "
                    + "{ __emit \(ResultKind.artifactNotPlaced.rawValue) \(index) \(artifact.sha256); exit 1; }")
        }
        for (file, stagedPath) in zip(resolved.files, staged) {
            let owner = ShellQuoting.quote(file.owner ?? "")
            let mode = String(file.mode, radix: 8)
            let destination = "\"$ISLET_ROOT\"\(ShellQuoting.quote(file.destination))"
            let notPlaced = "{ __emit \(ResultKind.filesNotPlaced.rawValue) \(index); exit 1; }"
            if let stagedPath {
                script.append(
                    "__place \(ShellQuoting.quote(stagedPath)) \(destination) \(mode) \(owner) || \(notPlaced)")
            } else {
                script.append("__settle \(destination) \(mode) \(owner) || \(notPlaced)")
            }
        }
        script.append(NodeScript.evaluate(step.apply, log: nil))
        script.append("__s=$?; __emit \(ResultKind.applied.rawValue) \(index) \"$__s\"; [ \"$__s\" = 0 ] || exit 1")
        if step.check != nil {
            appendVerify(to: &script, index: index)
            script.append("exit $__v")
        } else {
            script.append(script.outputReport(index: index))
            script.append("__has \(step.outputs.map(\.name).joined(separator: " ")) || exit 1")
        }
    }

    /// Runs the check and reports files and outputs; `$__v` is 0 when all of them are as desired.
    private func appendVerify(to script: inout NodeScript, index: Int) {
        guard let step, let resolved else { return }
        script.append("__v=0")
        for line in script.fileReports(resolved.files, index: index, verify: true) {
            script.append("\(line) || __v=1")
        }
        if let check = step.check {
            script.append(NodeScript.evaluate(check, log: nil))
            script.append("__c=$?; __emit \(ResultKind.checked.rawValue) \(index) \"$__c\"; [ \"$__c\" = 0 ] || __v=1")
        } else {
            script.append("__emit \(ResultKind.checked.rawValue) \(index) 0")
        }
        script.append(script.outputReport(index: index))
        let required = mode == .verify ? [] : step.outputs.map(\.name)
        if !required.isEmpty { script.append("__has \(required.joined(separator: " ")) || __v=1") }
    }

    private func appendRemove(to script: inout NodeScript, index: Int) {
        guard let step else { return }
        if let removal = step.remove {
            script.append(NodeScript.evaluate(removal, log: nil))
            script.append("__s=$?; __emit \(ResultKind.removed.rawValue) \(index) \"$__s\"; [ \"$__s\" = 0 ] || exit 1")
        } else {
            script.append("__emit \(ResultKind.removed.rawValue) \(index) 0")
        }
        // Managed files go with the step when the remove runs on the node that holds them.
        if change.runsOn == nil {
            let list = step.files.map { "\"$ISLET_ROOT\"\(ShellQuoting.quote($0.destination))" }.joined(separator: " ")
            if !list.isEmpty { script.append("rm -f \(list)") }
        }
    }

    // MARK: interpret and record

    /// Decides the outcome from what the node reported, and records it when the step succeeded.
    /// - Parameter ended: how the whole script ended, for a step whose results stop short.
    func finish(_ results: StepResults, scriptEnded: String?, context: ApplyContext) async -> StepOutcome {
        defer { stepLog.close() }
        let outcome: StepOutcome
        do {
            outcome = try await interpretAndRecord(results, scriptEnded: scriptEnded, context: context)
        } catch {
            outcome = .failed(message: context.log.masker.mask("\(error)"), log: stepLog.path)
        }
        switch outcome {
        case .failed(let message, _):
            stepLog.note("failed: \(message)")
            stepLog.keep()
        case .skipped(let reason):
            stepLog.note("skipped: \(reason)")
            stepLog.keep()
        case .succeeded(let note):
            stepLog.note(note)
        }
        return outcome
    }

    private func interpretAndRecord(_ results: StepResults, scriptEnded: String?, context: ApplyContext) async throws
        -> StepOutcome
    {
        func failed(_ message: String) -> StepOutcome { .failed(message: message, log: stepLog.path) }
        if mode == .forget {
            try await context.ledger.forget(node: change.node, step: change.step)
            return .succeeded(note: "forgotten")
        }
        if results.skipped {
            return .skipped(reason: "a step before it on \(executor) in the same round trip did not succeed")
        }
        guard results.ended != nil else {
            return failed("the node script ended before the step finished (\(scriptEnded ?? "no result line"))")
        }
        guard let step, let resolved else { return failed("step \(change.step) is not defined") }
        switch mode {
        case .remove:
            guard let status = results.removed else { return failed("the remove script ended early") }
            guard status == 0 else { return failed("remove exited with status \(status)") }
            try await context.ledger.forget(node: change.node, step: change.step)
            return .succeeded(note: "removed")
        case .verify:
            guard results.converged(files: resolved.files) else {
                return failed("check no longer passes; plan again")
            }
            try await record(results.outputs ?? recordedOutputs, resolved: resolved, context: context)
            return .succeeded(note: "adopted")
        case .settle where results.unchanged:
            try await record(results.outputs ?? recordedOutputs, resolved: resolved, context: context)
            return .succeeded(note: "unchanged after all")
        case .apply, .settle, .forget:
            break
        }
        if let digest = results.artifactNotPlaced {
            let label = context.graph.artifacts.files.first { $0.sha256 == digest }?.label ?? "sha256 \(digest)"
            return failed(
                "artifact \(label) could not be put in place on the node: its sha256 there is not \(digest), the store did not serve it, or there is no space"
            )
        }
        if results.filesNotPlaced { return failed("could not put its files in place") }
        guard let applied = results.applied else { return failed("the step script ended early") }
        guard applied == 0 else { return failed("apply exited with status \(applied)") }
        if step.check != nil && !results.converged(files: resolved.files) {
            let drifted = results.driftedFiles(resolved.files)
            return failed(
                drifted.isEmpty
                    ? "check still fails after apply (status \(results.checked ?? -1))"
                    : "files differ after apply: \(drifted.joined(separator: ", "))")
        }
        let outputs = results.outputs ?? [:]
        let missing = step.outputs.map(\.name).filter { outputs[$0] == nil }
        guard missing.isEmpty else {
            return failed("apply did not write outputs \(missing.joined(separator: ", ")) to $ISLET_OUTPUT")
        }
        guard results.ended == true else { return failed("the node found the step not converged") }
        try await record(outputs, resolved: resolved, context: context)
        return .succeeded(note: change.action.rawValue)
    }

    private func record(_ outputs: [String: String], resolved: ResolvedStep, context: ApplyContext) async throws {
        guard let connection, let fingerprint = resolved.fingerprint else { return }
        try await context.ledger.record(instance, connection: connection, fingerprint: fingerprint, outputs: outputs)
    }
}

/// A step that could not be prepared: nothing of it ran.
struct StepFailure: Error, Sendable {
    var message: String
    var log: String?
}
