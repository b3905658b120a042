import Foundation

/// What islet has applied: per node and step, the fingerprint, when, and the step's non-secret outputs.
public struct State: Codable, Sendable, Equatable {
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    /// Identifies one platform's history; a plan or secrets file of another lineage is refused.
    public var lineage: String
    /// Grows with every write, so a saved plan can tell the state moved since it was made.
    public var serial: Int
    /// The inventory's cluster name: a state file of another cluster is refused.
    public var cluster: String
    public var nodes: [String: NodeRecord]
    /// The names (never the values) of the entries the secrets file held at the last write, so a lost or
    /// replaced secrets file is noticed instead of silently generating new secrets. Absent in older states.
    public var secretKeys: [String]?

    public init(cluster: String, lineage: String = UUID().uuidString.lowercased()) {
        self.formatVersion = Self.currentFormatVersion
        self.lineage = lineage
        self.serial = 0
        self.cluster = cluster
        self.nodes = [:]
    }

    public func record(node: String, step: StepID) -> StepRecord? {
        nodes[node]?.steps[step.description]
    }

    public mutating func setRecord(_ record: StepRecord, node: NodeAddress, step: StepID) {
        var entry = nodes[node.name] ?? NodeRecord(connection: node, steps: [:])
        entry.connection = node
        entry.steps[step.description] = record
        nodes[node.name] = entry
    }

    public mutating func removeRecord(node: String, step: StepID) {
        nodes[node]?.steps[step.description] = nil
        if nodes[node]?.steps.isEmpty == true { nodes[node] = nil }
    }

    /// Every recorded (node, step) pair, in a stable order.
    public var recordedPairs: [(node: String, step: StepID)] {
        nodes.keys.sorted().flatMap { node in
            nodes[node]!.steps.keys.sorted().compactMap { key in
                StepID(key, defaultStack: nil).map { (node, $0) }
            }
        }
    }
}

/// A node as last reached: kept so that a node deleted from the inventory can still be reached to remove it.
public struct NodeRecord: Codable, Sendable, Equatable {
    public var connection: NodeAddress
    public var steps: [String: StepRecord]
}

public struct StepRecord: Codable, Sendable, Equatable {
    public var fingerprint: String
    public var appliedAt: String
    public var isletVersion: String
    /// Non-secret outputs only; secret ones live in the secrets file.
    public var outputs: [String: String]

    public init(fingerprint: String, appliedAt: Date, isletVersion: String, outputs: [String: String]) {
        self.fingerprint = fingerprint
        self.appliedAt = appliedAt.formatted(.iso8601)
        self.isletVersion = isletVersion
        self.outputs = outputs
    }
}
