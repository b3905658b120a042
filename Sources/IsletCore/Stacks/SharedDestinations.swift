import Foundation

extension Catalog {
    /// Two steps that write the same file on one node never converge: each apply repairs what the other wrote.
    /// Whether two steps meet on a node depends on which roles the nodes hold together, so this is checked
    /// against the inventory: at the later `destination:` line, naming both steps and a node they share.
    /// - Throws: `ValidationFailure` with one problem per clashing pair of files.
    public func checkSharedDestinations(on inventory: Inventory) throws {
        var reported: Set<[SourceLocation]> = []
        var diagnostics: [Diagnostic] = []
        for node in inventory.nodes {
            var writers: [String: [(step: StepID, file: ManagedFile)]] = [:]
            for step in steps where Self.runs(step, on: node, in: inventory) {
                for file in step.files { writers[file.destination, default: []].append((step.id, file)) }
            }
            for (destination, claims) in writers where claims.count > 1 {
                let ordered = claims.sorted { $0.file.location < $1.file.location }
                let first = ordered[0]
                for later in ordered.dropFirst()
                where reported.insert([first.file.location, later.file.location]).inserted {
                    let other = first.step == later.step ? "another file of the same step" : "step '\(first.step)'"
                    diagnostics.append(
                        Diagnostic(
                            later.file.location,
                            "destination '\(destination)' of step '\(later.step)' is also written by \(other) (\(first.file.location)) on node '\(node.name)'; expected each file on a node to be written by one step"
                        ))
                }
            }
        }
        if !diagnostics.isEmpty { throw ValidationFailure(diagnostics) }
    }

    /// A node step runs on every node holding one of its roles; a cluster step on the first such node.
    private static func runs(_ step: Step, on node: Node, in inventory: Inventory) -> Bool {
        guard node.hasAny(of: step.roles) else { return false }
        guard step.scope == .cluster else { return true }
        return inventory.nodes.first { $0.hasAny(of: step.roles) }?.name == node.name
    }
}
