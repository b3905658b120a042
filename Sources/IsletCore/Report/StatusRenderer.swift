import Foundation

/// `islet status`: what the state records per node, and with a fresh plan, how each step checks live.
public struct StatusRenderer: Sendable {
    public var style: Style

    public init(style: Style) {
        self.style = style
    }

    /// 1 when a node could not be checked; with `detailedExitcode`, 2 when a step drifted or would change;
    /// else 0. Without `--refresh` (no live plan) there is nothing to judge: 0.
    public static func exitStatus(live plan: Plan?, detailedExitcode: Bool) -> Int32 {
        guard let plan else { return 0 }
        if !plan.failures.isEmpty { return 1 }
        return detailedExitcode && plan.hasChanges ? 2 : 0
    }

    public func render(_ workspace: Workspace, live plan: Plan?) -> String {
        guard let state = workspace.state else { return "No state yet: nothing has been applied. Run islet plan." }
        var lines = ["State \(workspace.store.statePath): serial \(state.serial), lineage \(state.lineage)"]
        let liveActions = Dictionary(
            (plan?.changes ?? []).map { ("\($0.node)/\($0.step)", $0.action) }, uniquingKeysWith: { a, _ in a })
        let nodeNames = Set(state.nodes.keys).union(workspace.inventory.nodes.map(\.name))
        for node in workspace.inventory.nodes.map(\.name)
            + nodeNames.subtracting(workspace.inventory.nodes.map(\.name)).sorted()
        {
            let record = state.nodes[node]
            let inInventory = workspace.inventory.node(named: node) != nil
            let location =
                record.map { "\($0.connection.address):\($0.connection.ssh.port)" } ?? workspace.inventory.node(
                    named: node)?.address ?? ""
            lines.append(style.bold(node) + style.dim("  \(location)\(inInventory ? "" : "  (not in the inventory)")"))
            if let failure = plan?.failures.first(where: { $0.node == node }) {
                lines.append("  " + style.red("unreachable: \(failure.message)"))
            }
            guard let record else {
                lines.append("  nothing applied")
                continue
            }
            for key in record.steps.keys.sorted() {
                let step = record.steps[key]!
                var line = "  \(key)  \(step.fingerprint.prefix(19))  \(step.appliedAt)"
                if plan != nil {
                    switch liveActions["\(node)/\(key)"] {
                    case .noChange?: line += "  " + style.green("ok")
                    case .repair?: line += "  " + style.paint("drifted", "35")
                    case .update?: line += "  " + style.yellow("outdated")
                    case .remove?: line += "  " + style.red("to remove")
                    case nil: line += "  " + style.dim("not checked")
                    default: break
                    }
                }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// `islet output`: the outputs steps recorded, secret ones masked unless asked for.
public struct OutputListing: Sendable {
    public struct Entry: Sendable, Equatable {
        public var node: String
        public var step: StepID
        public var name: String
        public var value: String
        public var secret: Bool

        public var path: String { "\(node)/\(step).\(name)" }
    }

    public static func entries(_ workspace: Workspace) -> [Entry] {
        guard let state = workspace.state else { return [] }
        var entries: [Entry] = []
        for (node, step) in state.recordedPairs {
            guard let record = state.record(node: node, step: step) else { continue }
            for (name, value) in record.outputs {
                entries.append(Entry(node: node, step: step, name: name, value: value, secret: false))
            }
            for output in workspace.catalog.step(step)?.outputs ?? [] where output.secret {
                if let value = workspace.secrets[SecretStore.outputKey(node: node, step, output.name)] {
                    entries.append(Entry(node: node, step: step, name: output.name, value: value, secret: true))
                }
            }
            for secret in workspace.catalog.step(step)?.secrets ?? [] {
                guard let stored = workspace.secrets[SecretStore.generatedKey(step, secret.name)] else { continue }
                for variable in secret.variables {
                    let value = StepResolver.variable(variable, of: secret, stored: stored)
                    entries.append(
                        Entry(node: node, step: step, name: variable, value: value, secret: secret.isSecret(variable)))
                }
            }
        }
        return entries.sorted { $0.path < $1.path }
    }

    /// Lines `node/stack/step.NAME = value`; `name` filters by NAME or by the whole path.
    public static func render(_ entries: [Entry], name: String?, showSecrets: Bool) -> [String] {
        entries.filter { name == nil || $0.name == name || $0.path == name }
            .map { "\($0.path) = \($0.secret && !showSecrets ? "*** (secret; --show-secrets to reveal)" : $0.value)" }
    }
}
