import Foundation

public enum StateError: Error, Sendable, CustomStringConvertible {
    case corrupt(path: String, reason: String)
    case corruptSecrets(path: String, reason: String)
    /// The state records secrets that the secrets file (lost, replaced, restored from an old copy) lacks.
    case secretsLost(path: String, statePath: String, missing: [String], fileExists: Bool)
    case newerFormat(path: String, found: Int, supported: Int)
    case otherCluster(path: String, recorded: String, inventory: String)
    case otherLineage(path: String, expected: String, found: String)
    case locked(path: String, holder: String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .corrupt(let path, let reason):
            return
                "\(path): state file is corrupt (\(reason)); islet will not overwrite it. Restore it from \(path).backup or move it away."
        case .corruptSecrets(let path, let reason):
            return
                "\(path): secrets file is corrupt (\(reason)); islet will not overwrite it. Restore it from \(path).backup or move it away."
        case .secretsLost(let path, let statePath, let missing, let fileExists):
            let what =
                fileExists
                ? "lacks \(missing.count) secret(s) that \(statePath) records: \(missing.joined(separator: ", "))"
                : "is missing, but \(statePath) records \(missing.count) secret(s): \(missing.joined(separator: ", "))"
            return "\(path): the secrets file \(what). Generating new ones would change passwords the nodes still use. "
                + "Restore the file (islet keeps the previous copy as \(path).backup), or, to replace these secrets "
                + "on purpose, plan and apply with --rotate-secrets."
        case .newerFormat(let path, let found, let supported):
            return
                "\(path): state format \(found) was written by a newer islet (this one reads up to \(supported)); upgrade islet."
        case .otherCluster(let path, let recorded, let inventory):
            return
                "\(path): state belongs to cluster '\(recorded)', but the inventory describes '\(inventory)'; use --state to pick the right state file."
        case .otherLineage(let path, let expected, let found):
            return
                "\(path): lineage \(found) does not match the state's lineage \(expected); it belongs to another platform."
        case .locked(let path, let holder):
            return "\(path): another islet holds the state lock (\(holder)); wait for it to finish."
        case .io(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
