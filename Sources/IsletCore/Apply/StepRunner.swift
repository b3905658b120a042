import Foundation

/// How one planned change ended.
public enum StepOutcome: Sendable, Equatable {
    case succeeded(note: String)
    case failed(message: String, log: String?)
    case skipped(reason: String)

    public var succeeded: Bool { if case .succeeded = self { return true } else { return false } }
}

/// One step's life on one node: resolve → upload → apply → verify → record.
struct StepRunner: Sendable {
    let workspace: Workspace
    let placement: Placement
    let facts: [String: [String: String]]
    let ledger: Ledger
    let connections: Connections
    let log: RunLog

    func run(_ change: PlannedChange) async -> StepOutcome {
        switch change.action {
        case .remove: return await remove(change)
        case .noChange: return .succeeded(note: "no change")
        default: return await apply(change)
        }
    }

    // MARK: create, update, repair, adopt, run

    private func apply(_ change: PlannedChange) async -> StepOutcome {
        let instance = StepInstance(step: change.step, node: change.node)
        guard let step = workspace.catalog.step(change.step), let node = workspace.inventory.node(named: change.node)
        else {
            return .failed(message: "step \(change.step) or node \(change.node) is no longer defined", log: nil)
        }
        let address = NodeAddress(name: node.name, address: node.address, ssh: node.ssh)
        let stepLog = log.stepLog(node: node.name, step: step.id)
        defer { stepLog.close() }
        stepLog.note("\(change.action.rawValue) \(step.id) on \(node.name): \(change.reason)")
        do {
            for declaration in step.secrets { _ = try await ledger.secret(step.id, declaration) }
            let resolver = StepResolver(placement: placement, facts: facts)
            let resolved = try resolver.resolve(instance, outputs: await ledger.snapshot(), acting: [])
            log.masker.add(resolved.secretValues)
            guard let fingerprint = resolved.fingerprint else {
                let missing = resolved.pendingInputs.joined(separator: ", ")
                return .failed(
                    message: "inputs \(missing) have no value: the steps producing them did not record them",
                    log: stepLog.path)
            }
            let session = try await connections.session(for: address).get()
            let recorded = await ledger.state.record(node: node.name, step: step.id)
            // Planned with inputs unknown until now: if they came out the same and the check passes, nothing to do.
            let settledUnchanged =
                change.action == .update && change.fingerprint == nil && recorded?.fingerprint == fingerprint
            if change.action == .adopt || settledUnchanged {
                let report = try await verify(resolved, session: session, stepLog: stepLog)
                if report.converged(index: 0, files: resolved.files) {
                    let outputs = report.outputs[0] ?? recorded?.outputs ?? [:]
                    try await ledger.record(instance, connection: address, fingerprint: fingerprint, outputs: outputs)
                    return .succeeded(note: change.action == .adopt ? "adopted" : "unchanged after all")
                }
                if change.action == .adopt {
                    return .failed(message: "check no longer passes; plan again", log: stepLog.path)
                }
            }
            let staged = try await upload(resolved, change: change, session: session)
            var script = NodeScript(filesystemRoot: session.filesystemRoot)
            stepLog.hide(linesStartingWith: script.marker)
            script.append(placeFilesFunction)
            try script.export(resolved.environment, index: 0, node: node.name, step: step.id)
            for (file, stagedPath) in zip(resolved.files, staged) {
                let owner = ShellQuoting.quote(file.owner ?? "")
                let mode = String(file.mode, radix: 8)
                let destination = "\"$ISLET_ROOT\"\(ShellQuoting.quote(file.destination))"
                if let stagedPath {
                    script.append(
                        "__place \(ShellQuoting.quote(stagedPath)) \(destination) \(mode) \(owner) || { __emit A 0 96; exit 0; }"
                    )
                } else {
                    script.append("__settle \(destination) \(mode) \(owner) || { __emit A 0 96; exit 0; }")
                }
            }
            script.runScript(step.apply, kind: "apply", index: 0, quiet: false)
            if let check = step.check {
                script.reportFiles(resolved.files, index: 0)
                script.runScript(check, kind: "check", index: 0, quiet: false)
            }
            script.reportOutputs(index: 0, includeLog: false)
            let (report, status) = try await execute(script, on: session, log: stepLog)
            guard let applied = report.applies[0] else {
                return .failed(message: "the step script ended early (\(status))", log: stepLog.path)
            }
            guard applied == 0 else {
                let what = applied == 96 ? "could not put its files in place" : "apply exited with status \(applied)"
                return .failed(message: what, log: stepLog.path)
            }
            if step.check != nil && !report.converged(index: 0, files: resolved.files) {
                let drifted = report.driftedFiles(index: 0, files: resolved.files)
                let why =
                    drifted.isEmpty
                    ? "check still fails after apply (status \(report.checks[0] ?? -1))"
                    : "files differ after apply: \(drifted.joined(separator: ", "))"
                return .failed(message: why, log: stepLog.path)
            }
            let outputs = report.outputs[0] ?? [:]
            let missing = step.outputs.map(\.name).filter { outputs[$0] == nil }
            guard missing.isEmpty else {
                return .failed(
                    message: "apply did not write outputs \(missing.joined(separator: ", ")) to $ISLET_OUTPUT",
                    log: stepLog.path)
            }
            try await ledger.record(instance, connection: address, fingerprint: fingerprint, outputs: outputs)
            return .succeeded(note: change.action.rawValue)
        } catch {
            stepLog.note("error: \(error)")
            return .failed(message: log.masker.mask("\(error)"), log: stepLog.path)
        }
    }

    /// Runs the check alone (for adopt and for updates whose inputs settled unchanged).
    private func verify(_ resolved: ResolvedStep, session: any NodeSession, stepLog: StepLog) async throws -> NodeReport
    {
        guard let check = resolved.step.check else { return NodeReport(stdout: "", marker: "-") }
        var script = NodeScript(filesystemRoot: session.filesystemRoot)
        stepLog.hide(linesStartingWith: script.marker)
        try script.export(resolved.environment, index: 0, node: resolved.instance.node, step: resolved.step.id)
        script.reportFiles(resolved.files, index: 0)
        script.runScript(check, kind: "check", index: 0, quiet: false)
        script.reportOutputs(index: 0, includeLog: false)
        return try await execute(script, on: session, log: stepLog).report
    }

    /// Runs a script built by `NodeScript`, streaming its output to the step's log, and reads its results.
    private func execute(_ script: NodeScript, on session: any NodeSession, log stepLog: StepLog) async throws
        -> (report: NodeReport, status: ExitStatus)
    {
        let collected = OutputCollector()
        let status = try await session.run(script: script.text) { chunk in
            stepLog.append(chunk)
            if chunk.stream == .stdout { collected.append(chunk.bytes) }
        }
        return (NodeReport(stdout: collected.text, marker: script.marker), status)
    }

    /// Uploads the rendered files that are not already in place; nil entries need no upload.
    private func upload(_ resolved: ResolvedStep, change: PlannedChange, session: any NodeSession) async throws
        -> [String?]
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

    // MARK: remove

    private func remove(_ change: PlannedChange) async -> StepOutcome {
        let step = workspace.catalog.step(change.step)
        let stepLog = log.stepLog(node: change.node, step: change.step)
        defer { stepLog.close() }
        stepLog.note("remove \(change.step) from \(change.node): \(change.reason)")
        do {
            guard let step else {
                try await ledger.forget(node: change.node, step: change.step)
                return .succeeded(note: "forgotten")
            }
            let executorName = change.runsOn ?? change.node
            guard let executor = address(of: executorName) else {
                return .failed(
                    message: "node \(executorName) is neither in the inventory nor in the state", log: stepLog.path)
            }
            let session = try await connections.session(for: executor).get()
            let target = address(of: change.node)
            var environment: [(name: String, value: String)] = [
                ("ISLET_TARGET_NODE", change.node), ("ISLET_TARGET_ADDRESS", target?.address ?? ""),
            ]
            // The step's inputs, also for a node gone from the inventory (its address comes from the state).
            let resolver = StepResolver(placement: placement, facts: facts)
            let resolved = try resolver.resolve(
                StepInstance(step: step.id, node: change.node),
                outputs: await ledger.snapshot(), acting: [],
                removedNodeAddress: target?.address)
            log.masker.add(resolved.secretValues)
            environment += resolved.environment
            var script = NodeScript(filesystemRoot: session.filesystemRoot)
            stepLog.hide(linesStartingWith: script.marker)
            try script.export(environment, index: 0, node: executorName, step: step.id)
            if let removal = step.remove {
                script.runScript(removal, kind: "remove", index: 0, quiet: false)
            } else {
                script.append("__emit A 0 0")
            }
            // Managed files go with the step when the remove runs on the node that holds them.
            if change.runsOn == nil {
                let list = step.files.map { "\"$ISLET_ROOT\"\(ShellQuoting.quote($0.destination))" }.joined(
                    separator: " ")
                if !list.isEmpty { script.append("rm -f \(list)") }
            }
            let (report, status) = try await execute(script, on: session, log: stepLog)
            guard let exit = report.applies[0] else {
                return .failed(message: "the remove script ended early (\(status))", log: stepLog.path)
            }
            guard exit == 0 else { return .failed(message: "remove exited with status \(exit)", log: stepLog.path) }
            try await ledger.forget(node: change.node, step: change.step)
            return .succeeded(note: "removed")
        } catch {
            stepLog.note("error: \(error)")
            return .failed(message: log.masker.mask("\(error)"), log: stepLog.path)
        }
    }

    private func address(of node: String) -> NodeAddress? {
        if let node = workspace.inventory.node(named: node) {
            return NodeAddress(name: node.name, address: node.address, ssh: node.ssh)
        }
        return workspace.state?.nodes[node]?.connection
    }

    /// Shell functions that put a staged file in place atomically (copy beside, set mode and owner, rename)
    /// and that settle mode and owner of a file whose content is already right.
    private var placeFilesFunction: String {
        """
        __place() {
          mkdir -p "$(dirname "$2")" || return 1
          cp "$1" "$2.islet-new" && chmod "$3" "$2.islet-new" && { [ -z "$4" ] || chown "$4" "$2.islet-new"; } && mv -f "$2.islet-new" "$2" && rm -f "$1"
        }
        __settle() { chmod "$2" "$1" && { [ -z "$3" ] || chown "$3" "$1"; }; }
        """
    }
}
