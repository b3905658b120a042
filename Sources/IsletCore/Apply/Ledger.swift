import Foundation
import HummingbirdBcrypt

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
        for output in step.outputs where output.file != nil {
            if let value = outputs[output.name] {
                try OutputFile.save(value, output: output, step: instance.step, folder: store.directory)
            }
        }
        var visible: [String: String] = [:]
        for (key, value) in outputs {
            if step.isSecretOutput(key) {
                try secrets.set(value, for: SecretStore.outputKey(node: instance.node, instance.step, key))
            } else {
                visible[key] = value
            }
        }
        let record = StepRecord(
            fingerprint: fingerprint, appliedAt: Date(), isletVersion: Islet.version, outputs: visible)
        state.setRecord(record, node: connection, step: instance.step)
        unwritten.append(
            StateChange(
                serial: 0, node: connection.name, step: instance.step.description, connection: connection,
                record: record))
        try await commit()
    }

    func forget(node: String, step: StepID) async throws {
        state.removeRecord(node: node, step: step)
        unwritten.append(StateChange(serial: 0, node: node, step: step.description, forget: true))
        for output in catalog.step(step)?.outputs ?? [] {
            if output.secret { try secrets.set(nil, for: SecretStore.outputKey(node: node, step, output.name)) }
            // A saved file belongs to the step wherever it runs: it goes once no node holds the step.
            if !state.recordedPairs.contains(where: { $0.step == step }) {
                OutputFile.remove(output: output, folder: store.directory)
            }
        }
        try await commit()
    }

    /// The step's secret, generated and saved the first time it is needed, and again once the stored one no
    /// longer holds (`SecretDeclaration.stillHolds`: a new password to hash, other hosts to serve).
    func secret(_ step: StepID, _ declaration: SecretDeclaration, hosts: CertificateHosts?) throws -> String {
        let key = SecretStore.generatedKey(step, declaration.name)
        let sibling = { (name: String) in self.secrets[SecretStore.generatedKey(step, name)] }
        let existing = secrets[key].flatMap { declaration.stillHolds($0, hosts: hosts, sibling: sibling) ? $0 : nil }
        let value: String
        switch declaration.kind {
        case .password(let length, let alphabet):
            if let existing { return existing }
            value = SecretStore.generate(length: length, alphabet: alphabet)
        case .certificateAuthority(let commonName, let file):
            value = try existing ?? CertificateSecrets.makeAuthority(commonName: commonName)
            // The operator's tools (a docker or skopeo pushing to the site) trust what the nodes trust.
            if let file {
                let certificate = CertificateSecrets.variable(declaration.variables[0], of: declaration, stored: value)
                let path = store.directory + "/" + file
                if FileManager.default.contents(atPath: path) != Data(certificate.utf8) {
                    try AtomicFile.write(Data(certificate.utf8), to: path, mode: 0o644)
                }
            }
            if let existing { return existing }
        case .bcrypt(let of):
            if let existing { return existing }
            // Cost 5, as `htpasswd -B` makes by default: the registry checks the hash on every request, and a
            // random 32-character password needs no slow hash to resist guessing.
            value = Bcrypt.hash(sibling(of) ?? "", cost: 5)
        case .certificate(let authority, _, _):
            if let existing { return existing }
            let hosts = hosts ?? CertificateHosts(dnsNames: [], ipAddresses: [])
            value = try CertificateSecrets.issue(
                authority: sibling(authority) ?? "", dnsNames: hosts.dnsNames, ipAddresses: hosts.ipAddresses)
        }
        try secrets.bind(to: state.lineage)
        masker.add([value])
        try secrets.set(value, for: key)
        return value
    }

    /// One variable of a generated secret, once it has been made.
    func secretVariable(_ step: StepID, _ secret: SecretDeclaration, _ variable: String) -> String? {
        guard let stored = secrets[SecretStore.generatedKey(step, secret.name)] else { return nil }
        return StepResolver.variable(variable, of: secret, stored: stored)
    }

    /// The outputs a step's inputs read, as known now: only its producers', so that no copy of the whole
    /// state leaves the ledger (a copy held while the ledger records would make it copy every record).
    func outputs(for instance: StepInstance, graph: DesiredGraph) -> RecordedOutputs {
        let full = RecordedOutputs(state: state, secrets: secrets, catalog: catalog, extra: ephemeralOutputs)
        var known: [StepInstance: [String: String]] = [:]
        for source in catalog.step(instance.step)?.outputSources ?? [] {
            guard let producer = graph.producer(of: source, for: instance) else { continue }
            known[producer] = full.outputs(of: producer)
        }
        return RecordedOutputs(state: nil, secrets: secrets, catalog: catalog, extra: known)
    }

    /// The step's record, as the state holds it now.
    func record(node: String, step: StepID) -> StepRecord? { state.record(node: node, step: step) }

    /// Changes made so far, and how many of them the last finished write holds.
    private var changes = 0
    private var written = 0
    private var writer: Task<Void, Error>?
    /// Changes not yet handed to a write.
    private var unwritten: [StateChange] = []
    /// Whether the whole state is on disk for the journal to follow, and how long the journal has grown.
    private lazy var wholeStateOnDisk = FileManager.default.fileExists(atPath: store.statePath)
    private var journalLines = 0
    private var recordsInWholeState = 0
    private lazy var secretKeysOnDisk = state.secretKeys ?? []

    /// Group commit: a change is on disk when `record` or `forget` returns, but the changes made while a
    /// write is under way share the next write. A write appends the changes to the journal; the whole state
    /// is written only when there is none yet or the journal has grown past twice the state it follows
    /// (so each record is written a bounded number of times), and at the end of an apply.
    private func commit() async throws {
        changes += 1
        let mine = changes
        while written < mine {
            if let writer {
                _ = try? await writer.value
                continue
            }
            state.serial += 1
            var batch = unwritten
            unwritten = []
            for index in batch.indices { batch[index].serial = state.serial }
            let upTo = changes
            let store = self.store
            let whole = !wholeStateOnDisk || journalLines + batch.count > max(1000, 2 * recordsInWholeState)
            let records = whole ? state.nodes.values.reduce(0) { $0 + $1.steps.count } : 0
            let snapshot = whole ? state : nil
            let knownKeys = secretKeysOnDisk
            let journalBatch = batch
            // Runs on this actor: `written` and `writer` are settled before anyone awaiting it resumes.
            let task = Task {
                defer { self.writer = nil }
                do {
                    if let snapshot {
                        try await Task.detached { try store.save(snapshot) }.value
                        self.journalLines = 0
                        self.recordsInWholeState = records
                        self.wholeStateOnDisk = true
                    } else {
                        let keys = try await Task.detached { () throws -> [String] in
                            var lines = journalBatch
                            let keys = SecretStore.keys(atPath: store.secretsPath) ?? []
                            if keys != knownKeys, !lines.isEmpty { lines[lines.count - 1].secretKeys = keys }
                            try store.append(lines)
                            return keys
                        }.value
                        self.secretKeysOnDisk = keys
                        self.journalLines += journalBatch.count
                    }
                } catch {
                    // What this write held is not on disk: the next write is a whole one, so nothing is lost.
                    self.wholeStateOnDisk = false
                    throw error
                }
                self.written = max(self.written, upTo)
            }
            writer = task
            try await task.value
        }
    }

    /// Writes the whole state, which empties the journal: at the end of an apply.
    func compact() async throws {
        while let writer { _ = try? await writer.value }
        guard journalLines > 0 || !unwritten.isEmpty else { return }
        // The journal's changes carry their serials already; only changes never written make a new one.
        if !unwritten.isEmpty {
            state.serial += 1
            unwritten = []
        }
        let snapshot = state
        let store = self.store
        try await Task.detached { try store.save(snapshot) }.value
        journalLines = 0
    }
}
