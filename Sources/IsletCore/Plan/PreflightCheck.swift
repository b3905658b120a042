import Foundation

/// The stacks' `preflight:` declarations, checked against the facts plan gathered: a node unfit for a stack's
/// steps (too little memory or disk, a machine-id or host name it shares with another node) is refused before
/// anything changes on it.
enum PreflightCheck {
    /// One failure per unfit node, naming the stack's declaration and what was found.
    static func failures(stacks: [Stack], graph: DesiredGraph, facts: [String: [String: String]]) -> [NodeFailure] {
        var messages: [String: [String]] = [:]
        for stack in stacks where !stack.preflight.isEmpty {
            let preflight = stack.preflight
            let place = preflight.location.map { " (stack \(stack.name), preflight at \($0))" } ?? ""
            let nodes = Set(graph.instances.filter { $0.step.stack == stack.name }.map(\.node))
                .filter { facts[$0] != nil }.sorted()
            for node in nodes {
                let nodeFacts = facts[node] ?? [:]
                if let minimum = preflight.minimumMemoryMiB, let memory = Int(nodeFacts["memoryMiB"] ?? ""),
                    memory < minimum
                {
                    messages[node, default: []].append(
                        "the node has \(memory) MiB of memory; expected at least \(minimum) MiB\(place)")
                }
                if let minimum = preflight.minimumDiskMiB, let free = Int(nodeFacts["diskFreeMiB"] ?? ""),
                    free < minimum
                {
                    messages[node, default: []].append(
                        "the node has \(free) MiB free under /var; expected at least \(minimum) MiB\(place)")
                }
            }
            for fact in preflight.uniqueFacts {
                var holders: [String: [String]] = [:]
                for node in nodes {
                    guard let value = facts[node]?[fact.rawValue], !value.isEmpty else { continue }
                    holders[value, default: []].append(node)
                }
                for (value, sharing) in holders where sharing.count > 1 {
                    for node in sharing {
                        let others = sharing.filter { $0 != node }
                        messages[node, default: []].append(
                            "its \(fact.rawValue) '\(value)' is also that of \(humanList(others)); expected each node's to be unique (a cloned machine needs a new one)\(place)"
                        )
                    }
                }
            }
        }
        return messages.keys.sorted().map { NodeFailure(node: $0, message: messages[$0]!.joined(separator: "; ")) }
    }
}
