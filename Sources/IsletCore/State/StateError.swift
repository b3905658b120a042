import Foundation

public enum StateError: Error, Sendable, CustomStringConvertible {
    case corrupt(path: String, reason: String)
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
