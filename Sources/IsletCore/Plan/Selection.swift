import Foundation

/// What a plan covers, as the command line asks for it (`--target`, `--replace`, `--parallel`), checked against
/// the workspace before any node is contacted.
public struct Selection: Sendable, Equatable {
    public var target: String?
    public var replace: Set<StepInstance>
    public var parallel: Int

    /// - Throws: `SelectionError` saying which option is wrong and what was expected.
    public init(target: String?, replace: [String], parallel: Int, workspace: Workspace) throws {
        self.parallel = try Self.parallel(parallel)
        if let target, workspace.inventory.node(named: target) == nil && workspace.state?.nodes[target] == nil {
            throw SelectionError(
                option: "--target", value: target,
                expected: "a node of the inventory or the state ("
                    + Self.nodeNames(workspace).joined(separator: ", ") + ")")
        }
        self.target = target
        let desired = Set(workspace.graph.instances)
        var instances: Set<StepInstance> = []
        for text in replace {
            let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let step = StepID(parts[1], defaultStack: nil),
                desired.contains(StepInstance(step: step, node: parts[0]))
            else {
                throw SelectionError(
                    option: "--replace", value: text, expected: "NODE/STACK/STEP naming a step that runs on that node")
            }
            instances.insert(StepInstance(step: step, node: parts[0]))
        }
        self.replace = instances
    }

    /// How many nodes to work on at once: 1 or more.
    public static func parallel(_ value: Int) throws -> Int {
        guard value >= 1 else {
            throw SelectionError(
                option: "--parallel", value: String(value),
                expected: "how many nodes to work on at once, a whole number of at least 1")
        }
        return value
    }

    public func planner(_ workspace: Workspace) -> Planner {
        Planner(workspace: workspace, target: target, replace: replace, parallel: parallel)
    }

    private static func nodeNames(_ workspace: Workspace) -> [String] {
        let inventory = workspace.inventory.nodes.map(\.name)
        let removed = (workspace.state?.nodes.keys.sorted() ?? []).filter { !inventory.contains($0) }
        return inventory + removed
    }
}

public struct SelectionError: Error, Sendable, CustomStringConvertible, Equatable {
    public var option: String
    public var value: String
    public var expected: String
    public var description: String { "\(option) \(value): expected \(expected)" }
}
