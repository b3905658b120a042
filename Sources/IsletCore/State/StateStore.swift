import Foundation

/// The `.islet` folder beside the inventory: state, its backup and journal, secrets, lock and run logs.
public struct StateStore: Sendable {
    public var statePath: String

    public init(statePath: String) {
        self.statePath = statePath
    }

    /// `.islet/state.json` beside the inventory.
    public static func besideInventory(_ inventoryPath: String) -> StateStore {
        let folder = URL(fileURLWithPath: inventoryPath).deletingLastPathComponent().path
        return StateStore(statePath: folder + "/.islet/state.json")
    }

    /// The folder of the state file: `.` for a bare name such as `--state state.json` (never "", which
    /// would put the secrets at `/secrets.json`).
    public var directory: String {
        let folder = (statePath as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }
    public var backupPath: String { statePath + ".backup" }
    public var secretsPath: String { directory + "/secrets.json" }
    public var lockPath: String { directory + "/state.lock" }
    public var runsDirectory: String { directory + "/runs" }

    /// islet's own known_hosts: one per user, because host keys belong to the operator, not to one state
    /// file (`--state elsewhere` must not make accepted keys unknown). `$XDG_CONFIG_HOME/islet/known_hosts`,
    /// by default `~/.config/islet/known_hosts`.
    public static func knownHostsPath(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> String
    {
        let configured = environment["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return (configured ?? home + "/.config") + "/islet/known_hosts"
    }

    /// Where islet kept host keys before: `.islet/known_hosts` beside the inventory. Still read when present.
    public static func legacyKnownHostsPath(inventoryPath: String) -> String {
        URL(fileURLWithPath: inventoryPath).deletingLastPathComponent().path + "/.islet/known_hosts"
    }

    /// Reads the state; nil when there is none yet.
    /// - Throws: `StateError` for a corrupt file, a newer format or another cluster's state. Never repairs.
    public func load(cluster: String) throws -> State? {
        guard let data = FileManager.default.contents(atPath: statePath) else {
            if FileManager.default.fileExists(atPath: statePath) {
                throw StateError.io(path: statePath, reason: "cannot read the state file")
            }
            return nil
        }
        struct Header: Decodable { var formatVersion: Int? }
        guard let header = try? JSONDecoder().decode(Header.self, from: data) else {
            throw StateError.corrupt(path: statePath, reason: "not an islet state JSON document")
        }
        guard let version = header.formatVersion else {
            throw StateError.corrupt(
                path: statePath, reason: "missing field 'formatVersion'; expected a whole number, 1 or more")
        }
        if version > State.currentFormatVersion {
            throw StateError.newerFormat(path: statePath, found: version, supported: State.currentFormatVersion)
        }
        var state: State
        do {
            state = try JSONDecoder().decode(State.self, from: data)
        } catch {
            throw StateError.corrupt(path: statePath, reason: JSONDocument.describe(error))
        }
        try state.validate(path: statePath)
        state = try replayJournal(onto: state)
        if state.cluster != cluster {
            throw StateError.otherCluster(path: statePath, recorded: state.cluster, inventory: cluster)
        }
        return state
    }

    /// Writes the state atomically (0600), keeping the previous copy as `state.json.backup`. It also records
    /// which entries the secrets file holds now: the secrets are always written before the state that needs
    /// them, so the recorded names are ones the secrets file has.
    public func save(_ state: State) throws {
        try prepareDirectory()
        var state = state
        if let keys = SecretStore.keys(atPath: secretsPath) { state.secretKeys = keys.isEmpty ? nil : keys }
        try AtomicFile.write(
            try state.encodedNodeByNode(), to: statePath, mode: 0o600, backup: backupPath)
        // The whole state holds every change the journal held: replaying it again would change nothing.
        unlink(journalPath)
        removeLeftovers()
    }

    /// Temporary files of a writer that was killed before its rename. Only the lock holder writes, so any
    /// temporary file that is not this process's own is such a leftover.
    func removeLeftovers() {
        let name = (statePath as NSString).lastPathComponent
        let own = ".tmp-\(getpid())"
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where file.hasPrefix(name + ".tmp-") && !file.hasSuffix(own) {
            try? FileManager.default.removeItem(atPath: directory + "/" + file)
        }
    }

    /// Creates the folder 0700, and tightens one that someone else created wider (a `mkdir .islet` under umask
    /// 022, a tool that wrote known_hosts there first): it holds the state, secrets and logs.
    func prepareDirectory() throws {
        do {
            try PrivateFiles.makeDirectory(directory)
        } catch let error as StateError {
            throw error
        } catch {
            throw StateError.io(
                path: directory, reason: "cannot create the state folder: \(error.localizedDescription)")
        }
    }
}
