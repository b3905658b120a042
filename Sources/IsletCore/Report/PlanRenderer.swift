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
        var byNode: [String: [PlannedChange]] = [:]
        for change in acting {
            if byNode[change.node] == nil { nodes.append(change.node) }
            byNode[change.node, default: []].append(change)
        }
        for node in nodes {
            lines.append(style.bold(node))
            let changes = byNode[node] ?? []
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
        let errors = plan.stepErrors
        if !errors.isEmpty {
            if !lines.isEmpty { lines.append("") }
            lines.append(
                style.red(style.bold("Steps that cannot be planned (apply skips them and what depends on them):")))
            for change in errors { lines.append("  " + style.red("✗ \(change.error ?? "")")) }
        }
        if !lines.isEmpty { lines.append("") }
        if !plan.hasChanges && plan.failures.isEmpty {
            lines.append("No changes. The platform matches the inventory.")
        }
        lines.append(style.bold(plan.summary))
        return lines.joined(separator: "\n")
    }
}
