import Foundation

/// The `.islet` folder beside the inventory: state, its backup, secrets, lock, known hosts and run logs.
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

    public var directory: String { (statePath as NSString).deletingLastPathComponent }
    public var backupPath: String { statePath + ".backup" }
    public var secretsPath: String { directory + "/secrets.json" }
    public var lockPath: String { directory + "/state.lock" }
    public var runsDirectory: String { directory + "/runs" }
    public var knownHostsPath: String { directory + "/known_hosts" }

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
        guard let header = try? JSONDecoder().decode(Header.self, from: data), let version = header.formatVersion else {
            throw StateError.corrupt(path: statePath, reason: "not an islet state JSON document")
        }
        if version > State.currentFormatVersion {
            throw StateError.newerFormat(path: statePath, found: version, supported: State.currentFormatVersion)
        }
        let state: State
        do {
            state = try JSONDecoder().decode(State.self, from: data)
        } catch {
            throw StateError.corrupt(path: statePath, reason: "\(error)")
        }
        if state.cluster != cluster {
            throw StateError.otherCluster(path: statePath, recorded: state.cluster, inventory: cluster)
        }
        return state
    }

    /// Writes the state atomically, keeping the previous copy as `state.json.backup`.
    public func save(_ state: State) throws {
        try prepareDirectory()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(state), to: statePath, mode: 0o644, backup: backupPath)
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

    func prepareDirectory() throws {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw StateError.io(
                path: directory, reason: "cannot create the state folder: \(error.localizedDescription)")
        }
    }
}
