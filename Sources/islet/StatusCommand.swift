import ArgumentParser
import IsletCore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show what the state records per node; --refresh also checks the nodes live.")

    @OptionGroup var options: WorkspaceOptions

    @Flag(help: "Run every check on the nodes now and show which steps hold, drifted or are outdated.")
    var refresh = false

    // Unconditional, so `--parallel -3` is read as a number (and refused as below 1), not as a missing value.
    @Option(parsing: .unconditional, help: "How many nodes to check at once (1 or more).")
    var parallel: Int = 10

    @Flag(help: "With --refresh: exit 0 when every step holds, 2 when something drifted or changed, 1 on error.")
    var detailedExitcode = false

    func run() async throws {
        var plan: Plan?
        do {
            let parallel = try Selection.parallel(parallel)
            let workspace = try options.loadWorkspace(connecting: refresh)
            if refresh {
                let connections = Connections(transport: options.transport(workspace))
                plan = await Planner(workspace: workspace, parallel: parallel).plan(connections: connections)
                await connections.closeAll()
            }
            say(StatusRenderer(style: .detect()).render(workspace, live: plan))
        } catch {
            throw fail(error)
        }
        let status = StatusRenderer.exitStatus(live: plan, detailedExitcode: detailedExitcode)
        if status != 0 { throw ExitCode(status) }
    }
}
