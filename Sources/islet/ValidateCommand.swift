import ArgumentParser
import IsletCore

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Check the inventory and the stacks without contacting any node.")

    @OptionGroup var options: WorkspaceOptions

    func run() async throws {
        do {
            let workspace = try options.loadWorkspace(connecting: false)
            say(
                "\(options.inventory): valid: \(workspace.inventory.nodes.count) nodes, \(workspace.catalog.stacks.count) stacks, \(workspace.catalog.steps.count) steps."
            )
        } catch {
            throw fail(error)
        }
    }
}
