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

/// Which steps run on which nodes and in what order: built once per run from the catalog and the
/// inventory, indexed both ways. Plan, apply, status and the scheduler read it; nothing else derives edges.
///
/// The rules it owns:
/// - a node step runs on every node holding one of its roles (every node when it names none); a cluster
///   step on the first such node in inventory order;
/// - a node step waits for the same node's instance of a node step it depends on when there is one, and
///   otherwise for every instance (for none, with `afterOnNode`); a cluster step waits for every instance of
///   what it depends on;
/// - a step reading another's outputs reads the same node's instance, else the first in inventory order;
/// - removals run in reverse: a step is removed after the steps that depend on it.
public struct DesiredGraph: Sendable {
    public let catalog: Catalog
    public let inventory: Inventory
    /// Every desired instance: steps in dependency order, then nodes in inventory order.
    public let instances: [StepInstance]
    /// Per instance: the instances it waits for.
    public let dependencies: [[Int]]
    /// Per instance: the instances that wait for it.
    public let dependents: [[Int]]
    /// The artifacts the instances read, resolved to versions and digests (set by the workspace).
    public internal(set) var artifacts = ArtifactNeeds()

    private let nodeOrder: [String: Int]
    /// `slots[step * nodeCount + node]`: the instance of that step on that node, or -1.
    private let slots: [Int]
    /// Per step position: its instances, in inventory order.
    private let byStep: [[Int]]

    public init(catalog: Catalog, inventory: Inventory) {
        self.catalog = catalog
        self.inventory = inventory
        let nodeCount = inventory.nodes.count
        var nodeOrder: [String: Int] = [:]
        for (index, node) in inventory.nodes.enumerated() where nodeOrder[node.name] == nil {
            nodeOrder[node.name] = index
        }
        var instances: [StepInstance] = []
        var instanceNodes: [Int] = []
        var slots = [Int](repeating: -1, count: catalog.steps.count * nodeCount)
        var byStep: [[Int]] = []
        for (position, step) in catalog.steps.enumerated() {
            var mine: [Int] = []
            for (nodeIndex, node) in inventory.nodes.enumerated()
            where step.roles.isEmpty || node.hasAny(of: step.roles) {
                slots[position * nodeCount + nodeIndex] = instances.count
                mine.append(instances.count)
                instances.append(StepInstance(step: step.id, node: node.name))
                instanceNodes.append(nodeIndex)
                if step.scope == .cluster { break }
            }
            byStep.append(mine)
        }
        var dependencies: [[Int]] = []
        dependencies.reserveCapacity(instances.count)
        var dependents = [[Int]](repeating: [], count: instances.count)
        for (index, instance) in instances.enumerated() {
            let position = catalog.position(of: instance.step)!
            let nodeIndex = instanceNodes[index]
            var mine: [Int] = []
            for dependency in catalog.waitsFor[position] {
                let sameNode = slots[dependency * nodeCount + nodeIndex]
                if catalog.steps[position].scope == .node, catalog.steps[dependency].scope == .node, sameNode >= 0 {
                    mine.append(sameNode)
                } else if catalog.steps[position].onNodeOnly.contains(catalog.steps[dependency].id) {
                    continue
                } else {
                    mine += byStep[dependency]
                }
            }
            for dependency in mine { dependents[dependency].append(index) }
            dependencies.append(mine)
        }
        self.instances = instances
        self.dependencies = dependencies
        self.dependents = dependents
        self.nodeOrder = nodeOrder
        self.slots = slots
        self.byStep = byStep
    }

    /// The index of a desired instance, or nil when it is not desired.
    public func index(of instance: StepInstance) -> Int? {
        guard let position = catalog.position(of: instance.step) else { return nil }
        return slot(position, instance.node)
    }

    /// The instance of the step at `position` on the named node, if it runs there.
    private func slot(_ position: Int, _ node: String) -> Int? {
        guard let nodeIndex = nodeOrder[node] else { return nil }
        let slot = slots[position * inventory.nodes.count + nodeIndex]
        return slot >= 0 ? slot : nil
    }

    public func contains(_ instance: StepInstance) -> Bool { index(of: instance) != nil }

    /// The instances of one step, in inventory order.
    public func instances(of step: StepID) -> [StepInstance] {
        guard let position = catalog.position(of: step) else { return [] }
        return byStep[position].map { instances[$0] }
    }

    /// The node with this name from the inventory.
    public func node(named name: String) -> Node? { nodeOrder[name].map { inventory.nodes[$0] } }

    /// The instance of `source` whose outputs `reader` sees: the cluster instance, the one on the same node,
    /// or else the first one in inventory order.
    public func producer(of source: StepID, for reader: StepInstance) -> StepInstance? {
        guard let position = catalog.position(of: source) else { return nil }
        return (slot(position, reader.node) ?? byStep[position].first).map { instances[$0] }
    }

    /// How people read a plan: nodes in inventory order (nodes gone from it last), then steps in
    /// dependency order.
    public func readingOrder(_ a: StepInstance, _ b: StepInstance) -> Bool {
        let left = (nodeOrder[a.node] ?? Int.max, catalog.position(of: a.step) ?? Int.max)
        let right = (nodeOrder[b.node] ?? Int.max, catalog.position(of: b.step) ?? Int.max)
        return left != right ? left < right : (a.node, a.step) < (b.node, b.step)
    }

    /// For removals, which of `removed` each must wait for: the removals of the steps that depend on its step
    /// (on any node), leaving out those implied through another removal.
    public func removalDependencies(_ removed: [StepInstance]) -> [[Int]] {
        var byStepID: [StepID: [Int]] = [:]
        for (index, instance) in removed.enumerated() { byStepID[instance.step, default: []].append(index) }
        // Steps no longer defined have no dependents: their records are only forgotten.
        let removedPositions = Set(byStepID.keys.compactMap { catalog.position(of: $0) })
        var nearest: [StepID: [Int]] = [:]
        for step in byStepID.keys {
            guard let position = catalog.position(of: step) else { continue }
            // Walk the dependents, stopping at each removed step: removals beyond it wait through it.
            var found: Set<Int> = []
            var seen: Set<Int> = [position]
            var queue = catalog.waitedForBy[position]
            while let next = queue.popLast() {
                guard seen.insert(next).inserted else { continue }
                if removedPositions.contains(next) {
                    found.insert(next)
                } else {
                    queue += catalog.waitedForBy[next]
                }
            }
            nearest[step] = found.sorted().flatMap { byStepID[catalog.steps[$0].id] ?? [] }
        }
        return removed.map { nearest[$0.step] ?? [] }
    }

    /// The node serving artifacts and its base URL, when a stack declares an artifact store.
    public struct ArtifactStoreNode: Sendable {
        public var node: Node
        public var url: String
        /// Where the store listens, as the node itself reaches it.
        public var host: String
        public var port: Int
        /// The certificate-authority secret the store's HTTPS certificate comes from; nil: plain HTTP.
        public var authority: (step: StepID, secret: SecretDeclaration)?
        /// The user and the password secret the store asks for; nil: it asks for none.
        public var credentials: (username: String, password: (step: StepID, secret: SecretDeclaration))?
    }

    /// Where the declared artifact store runs: the node of the store step's first instance, at the port
    /// the declaration names.
    public var artifactStoreNode: ArtifactStoreNode? {
        guard let store = catalog.artifactStore,
            let name = instances.first(where: { $0.step == store.step })?.node, let node = node(named: name)
        else { return nil }
        // The store's declaration names values by setting or literal only.
        func text(of reference: Reference) -> String? {
            switch reference {
            case .setting(let key): return inventory.settings[key]?.environmentText ?? ""
            case .literal(let value): return value.environmentText
            default: return nil
            }
        }
        guard let port = text(of: store.port).flatMap({ Int($0) }) else { return nil }
        let host = node.address.contains(":") ? "[\(node.address)]" : node.address
        // The authority counts only while its step is part of the platform: `when:` may turn TLS off.
        let authority = store.authority.flatMap { authority -> (step: StepID, secret: SecretDeclaration)? in
            guard !catalog.isDormant(authority.step),
                let secret = catalog.step(authority.step)?.secrets.first(where: { $0.name == authority.secret })
            else { return nil }
            return (authority.step, secret)
        }
        var credentials: (username: String, password: (step: StepID, secret: SecretDeclaration))?
        if let declared = store.credentials, !catalog.isDormant(declared.password.step),
            let secret = catalog.step(declared.password.step)?.secrets.first(where: {
                $0.name == declared.password.secret
            })
        {
            credentials = (text(of: declared.username) ?? "", (declared.password.step, secret))
        }
        return ArtifactStoreNode(
            node: node, url: "\(authority == nil ? "http" : "https")://\(host):\(port)", host: node.address,
            port: port, authority: authority, credentials: credentials)
    }
}
