import Foundation

/// The state and secrets of one apply, written right after each step succeeds, so a crash loses nothing.
actor Ledger {
    private(set) var state: State
    private var secrets: SecretStore
    private let store: StateStore
    private let catalog: Catalog
    private let masker: Masker
    /// Outputs of short-lived steps: kept for this run only, never written.
    private var ephemeralOutputs: [StepInstance: [String: String]] = [:]

    init(workspace: Workspace, masker: Masker) {
        let lineage = workspace.secrets.lineage.isEmpty ? UUID().uuidString.lowercased() : workspace.secrets.lineage
        state = workspace.state ?? State(cluster: workspace.inventory.cluster.name, lineage: lineage)
        secrets = workspace.secrets
        store = workspace.store
        catalog = workspace.catalog
        self.masker = masker
    }

    /// Records a step as applied: fingerprint and public outputs in state, secret outputs in the secrets file.
    func record(_ instance: StepInstance, connection: NodeAddress, fingerprint: String, outputs: [String: String])
        async throws
    {
        guard let step = catalog.step(instance.step) else { return }
        masker.add(outputs.filter { step.isSecretOutput($0.key) }.map(\.value))
        if step.ephemeral {
            ephemeralOutputs[instance] = outputs
            return
        }
        try SecretInPlainOutput.check(outputs, of: step, node: instance.node, masker: masker)
        try secrets.bind(to: state.lineage)
        var visible: [String: String] = [:]
        for (key, value) in outputs {
            if step.isSecretOutput(key) {
                try secrets.set(value, for: SecretStore.outputKey(node: instance.node, instance.step, key))
            } else {
                visible[key] = value
            }
        }
        state.setRecord(
            StepRecord(fingerprint: fingerprint, appliedAt: Date(), isletVersion: Islet.version, outputs: visible),
            node: connection, step: instance.step)
        try await commit()
    }

    func forget(node: String, step: StepID) async throws {
        state.removeRecord(node: node, step: step)
        for output in catalog.step(step)?.outputs ?? [] where output.secret {
            try secrets.set(nil, for: SecretStore.outputKey(node: node, step, output.name))
        }
        try await commit()
    }

    /// The step's secret, generated and saved the first time it is needed.
    func secret(_ step: StepID, _ declaration: SecretDeclaration) throws -> String {
        let key = SecretStore.generatedKey(step, declaration.name)
        if let existing = secrets[key] { return existing }
        try secrets.bind(to: state.lineage)
        let value = SecretStore.generate(length: declaration.length, alphabet: declaration.alphabet)
        masker.add([value])
        try secrets.set(value, for: key)
        return value
    }

    /// A consistent view of every output known now, for resolving a step's inputs.
    func snapshot() -> RecordedOutputs {
        RecordedOutputs(state: state, secrets: secrets, catalog: catalog, extra: ephemeralOutputs)
    }

    /// Changes made so far, and how many of them the last finished write holds.
    private var changes = 0
    private var written = 0
    private var writer: Task<Void, Error>?

    /// Group commit: a change is on disk when `record` or `forget` returns, but the changes made while a
    /// write is under way share the next write, instead of each rewriting the whole state in turn.
    private func commit() async throws {
        changes += 1
        let mine = changes
        while written < mine {
            if let writer {
                _ = try? await writer.value
                continue
            }
            state.serial += 1
            let snapshot = state
            let upTo = changes
            let store = self.store
            // Runs on this actor: `written` and `writer` are settled before anyone awaiting it resumes.
            let task = Task {
                defer { self.writer = nil }
                try await Task.detached { try store.save(snapshot) }.value
                self.written = max(self.written, upTo)
            }
            writer = task
            try await task.value
        }
    }
}
