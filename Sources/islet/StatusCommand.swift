import ArgumentParser
import IsletCore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show what the state records per node; --refresh also checks the nodes live.")

    @OptionGroup var options: WorkspaceOptions

    @Flag(help: "Run every check on the nodes now and show which steps hold, drifted or are outdated.")
    var refresh = false

    @Option(help: "How many nodes to check at once.")
    var parallel: Int = 10

    func run() async throws {
        do {
            let workspace = try options.loadWorkspace(connecting: refresh)
            var plan: Plan?
            if refresh {
                let connections = Connections(transport: options.transport(workspace))
                plan = await Planner(workspace: workspace, parallel: parallel).plan(connections: connections)
                await connections.closeAll()
            }
            say(StatusRenderer(style: .detect()).render(workspace, live: plan))
        } catch {
            throw fail(error)
        }
    }
}
