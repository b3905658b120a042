import Foundation

/// One change to the state since its last whole write: a line of `state.json.journal`.
///
/// Rewriting the whole state after every step made an apply's cost grow with the square of its steps;
/// a step's record is appended here instead (and fsynced before the step counts as done), and the whole
/// state is written again now and then and at the end of an apply, which empties the journal.
public struct StateChange: Codable, Sendable, Equatable {
    public var serial: Int
    public var node: String?
    public var step: String?
    /// With `record`: how the node was reached.
    public var connection: NodeAddress?
    /// The step's new record; nil with `forget`.
    public var record: StepRecord?
    public var forget: Bool?
    /// The names the secrets file holds after this change, when they changed.
    public var secretKeys: [String]?

    /// Applies the change; replaying a change twice gives the same state.
    func apply(to state: inout State) {
        state.serial = max(state.serial, serial)
        if let node, let step = step.flatMap({ StepID($0, defaultStack: nil) }) {
            if let record, let connection {
                state.setRecord(record, node: connection, step: step)
            } else if forget == true {
                state.removeRecord(node: node, step: step)
            }
        }
        if let secretKeys { state.secretKeys = secretKeys.isEmpty ? nil : secretKeys }
    }
}

extension StateStore {
    public var journalPath: String { statePath + ".journal" }

    /// Appends changes to the journal and fsyncs it: once this returns they survive a crash.
    public func append(_ changes: [StateChange]) throws {
        guard !changes.isEmpty else { return }
        try prepareDirectory()
        let encoder = JSONDocument.encoder(pretty: false)
        var data = Data()
        for change in changes {
            data += try encoder.encode(change)
            data.append(0x0A)
        }
        let fd = open(journalPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateError.io(path: journalPath, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let failure = AtomicFile.writeDurably(data, to: fd, mode: 0o600)
        guard failure == 0 else { throw StateError.io(path: journalPath, reason: String(cString: strerror(failure))) }
    }

    /// The state with the journal's changes applied. A last line cut short by a crash is ignored; any
    /// other line that is not a valid change makes the state corrupt, like a broken state file.
    func replayJournal(onto state: State) throws -> State {
        guard let data = FileManager.default.contents(atPath: journalPath), !data.isEmpty else { return state }
        var state = state
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        let decoder = JSONDecoder()
        for (number, line) in lines.enumerated() where !line.isEmpty {
            do {
                try decoder.decode(StateChange.self, from: Data(line)).apply(to: &state)
            } catch {
                // Only the very last line can be torn: every write ends with a newline before its fsync.
                if number == lines.count - 1 { break }
                throw StateError.corrupt(
                    path: journalPath, reason: "line \(number + 1): \(JSONDocument.describe(error))")
            }
        }
        try state.validate(path: journalPath)
        return state
    }
}
