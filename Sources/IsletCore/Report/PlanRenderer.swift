import Foundation

/// The human form of a plan: removals first, then by node and stack, one line per step that acts.
public struct PlanRenderer: Sendable {
    public var style: Style

    public init(style: Style) {
        self.style = style
    }

    public func render(_ plan: Plan) -> String {
        var lines: [String] = []
        let removals = plan.changes.filter { $0.action == .remove }
        if !removals.isEmpty {
            lines.append(style.red(style.bold("Removals (run first):")))
            for change in removals {
                let location = change.runsOn.map { " (runs on \($0))" } ?? ""
                lines.append(
                    "  " + style.red("- \(change.node) \(change.step)") + location + style.dim("  \(change.reason)"))
            }
            lines.append("")
        }
        let acting = plan.changes.filter { $0.action != .remove && $0.action != .noChange }
        var nodes: [String] = []
        for change in acting where !nodes.contains(change.node) { nodes.append(change.node) }
        for node in nodes {
            lines.append(style.bold(node))
            let changes = acting.filter { $0.node == node }
            var stacks: [String] = []
            for change in changes where !stacks.contains(change.step.stack) { stacks.append(change.step.stack) }
            for stack in stacks {
                lines.append("  \(stack)")
                let stackChanges = changes.filter { $0.step.stack == stack }
                let width = stackChanges.map(\.step.step.count).max() ?? 0
                for change in stackChanges {
                    let label = change.step.step.padding(toLength: width, withPad: " ", startingAt: 0)
                    lines.append(
                        "    " + style.action(change.action, "\(change.action.symbol) \(label)")
                            + style.dim("  \(change.action.rawValue): \(change.reason)"))
                }
            }
        }
        if !plan.failures.isEmpty {
            if !lines.isEmpty { lines.append("") }
            lines.append(style.red(style.bold("Unreachable nodes (not planned):")))
            for failure in plan.failures { lines.append("  " + style.red("✗ \(failure.message)")) }
        }
        if !lines.isEmpty { lines.append("") }
        if !plan.hasChanges && plan.failures.isEmpty {
            lines.append("No changes. The platform matches the inventory.")
        }
        lines.append(style.bold(plan.summary))
        return lines.joined(separator: "\n")
    }
}
