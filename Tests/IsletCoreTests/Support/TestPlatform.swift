import Foundation

@testable import IsletCore

/// A throwaway platform on disk: stacks and an inventory written from strings, nodes as local folders.
/// One helper runs plan and apply the way the CLI does, so each test reads as a story.
final class TestPlatform: @unchecked Sendable {
    let directory: String
    var stacksDirectory: String { directory + "/stacks" }
    var inventoryPath: String { directory + "/inventory.yaml" }
    var nodesDirectory: String { directory + "/nodes" }

    init() {
        directory = NSTemporaryDirectory() + "islet-unit-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: directory + "/stacks", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Writes `stacks/<name>/stack.yaml` (header added) and any extra files of the stack.
    func stack(_ name: String, _ body: String, files: [String: String] = [:]) {
        let folder = stacksDirectory + "/" + name
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        write(folder + "/stack.yaml", "apiVersion: islet/v1\nkind: Stack\nname: \(name)\n" + body)
        for (path, text) in files {
            try? FileManager.default.createDirectory(
                atPath: (folder + "/" + path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true)
            write(folder + "/" + path, text)
        }
    }

    /// Writes the inventory with the given nodes (`name: roles`) and optional settings YAML.
    func inventory(nodes: [(String, [String])], settings: String = "") {
        var text = "apiVersion: islet/v1\nkind: Inventory\ncluster:\n  name: test\nnodes:\n"
        for (index, node) in nodes.enumerated() {
            text += "  - {name: \(node.0), address: 10.9.0.\(index + 1), roles: [\(node.1.joined(separator: ", "))]}\n"
        }
        if !settings.isEmpty { text += "settings:\n" + settings }
        write(inventoryPath, text)
    }

    func write(_ path: String, _ text: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }

    func workspace() throws -> Workspace {
        try Workspace.load(inventoryPath: inventoryPath, stacksDirectory: stacksDirectory, statePath: nil)
    }

    func plan(target: String? = nil, replace: Set<StepInstance> = [], transport: (any Transport)? = nil) async throws
        -> Plan
    {
        let connections = Connections(transport: transport ?? LocalTransport(baseDirectory: nodesDirectory))
        defer { Task { await connections.closeAll() } }
        return await Planner(workspace: try workspace(), target: target, replace: replace).plan(
            connections: connections)
    }

    /// Plans and applies, as `islet apply --yes` does.
    @discardableResult
    func apply(
        parallel: Int = 10, interruption: Interruption = Interruption(), transport: (any Transport)? = nil,
        observer: ApplyObserver = ApplyObserver(), artifacts: (any ArtifactSource)? = nil
    ) async throws -> (Plan, ApplyResult) {
        let workspace = try self.workspace()
        let connections = Connections(transport: transport ?? LocalTransport(baseDirectory: nodesDirectory))
        let plan = await Planner(workspace: workspace).plan(connections: connections)
        let log = try RunLog(runsDirectory: workspace.store.runsDirectory, masker: Masker())
        let result = await Applier(
            workspace: workspace, parallel: parallel, interruption: interruption, artifacts: artifacts
        )
        .apply(plan, connections: connections, log: log, observer: observer)
        await connections.closeAll()
        return (plan, result)
    }

    /// Path of a file on a node.
    func node(_ name: String, _ path: String) -> String { nodesDirectory + "/" + name + path }

    func read(node: String, _ path: String) -> String? {
        try? String(contentsOfFile: self.node(node, path), encoding: .utf8)
    }
}

extension Plan {
    /// `node step action` for every change that does something, in plan order: easy to compare whole.
    var table: [String] {
        actionable.map { "\($0.node) \($0.step) \($0.action.rawValue)" }
    }

    func action(_ node: String, _ step: String) -> Action? {
        changes.first { $0.node == node && $0.step.description == step }?.action
    }
}
