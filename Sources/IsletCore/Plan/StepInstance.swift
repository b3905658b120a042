import Foundation

/// A step as it applies to one node: the unit plan decides and apply runs.
public struct StepInstance: Sendable, Hashable {
    public var step: StepID
    public var node: String

    public init(step: StepID, node: String) {
        self.step = step
        self.node = node
    }
}

/// Which steps run on which nodes, derived from the inventory's roles.
public struct Placement: Sendable {
    public let catalog: Catalog
    public let inventory: Inventory
    /// Every desired instance, in dependency order of the steps, then inventory order of the nodes.
    public let instances: [StepInstance]

    public init(catalog: Catalog, inventory: Inventory) {
        self.catalog = catalog
        self.inventory = inventory
        var instances: [StepInstance] = []
        for step in catalog.steps {
            instances += Self.nodes(for: step, in: inventory).map { StepInstance(step: step.id, node: $0.name) }
        }
        self.instances = instances
    }

    /// A node step runs on every node with one of its roles; a cluster step on the first such node.
    static func nodes(for step: Step, in inventory: Inventory) -> [Node] {
        let holders = inventory.nodes.filter { $0.hasAny(of: step.roles) }
        return step.scope == .cluster ? Array(holders.prefix(1)) : holders
    }

    public func instances(of step: StepID) -> [StepInstance] { instances.filter { $0.step == step } }

    /// The instance of `source` whose outputs `reader` sees: the cluster instance, the one on the same node,
    /// or else the first one in inventory order.
    public func producer(of source: StepID, for reader: StepInstance) -> StepInstance? {
        let candidates = instances(of: source)
        return candidates.first { $0.node == reader.node } ?? candidates.first
    }

    /// The instances `instance` must wait for. A cluster step waits for every instance of a node step it
    /// depends on; a node step waits for the same node's instance when there is one, else for all of them.
    public func dependencies(of instance: StepInstance) -> [StepInstance] {
        guard let step = catalog.step(instance.step) else { return [] }
        var result: [StepInstance] = []
        for dependency in catalog.dependencies(of: instance.step) {
            let candidates = instances(of: dependency)
            let sameNode = candidates.filter { $0.node == instance.node }
            if step.scope == .node, catalog.step(dependency)?.scope == .node, !sameNode.isEmpty {
                result += sameNode
            } else {
                result += candidates
            }
        }
        return result
    }
}
