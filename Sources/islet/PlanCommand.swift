import ArgumentParser
import Foundation
import IsletCore

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change on which node, reading the live nodes and changing nothing.")

    @OptionGroup var options: WorkspaceOptions
    @OptionGroup var selection: SelectionOptions

    @Flag(help: "Print the plan as JSON (the schema is in README.md).")
    var json = false

    @Option(help: ArgumentHelp("Save the plan for `islet apply PLAN`.", valueName: "PLAN"))
    var out: String?

    @Flag(help: "Exit 0 when there is nothing to do, 2 when there are changes, 1 on error.")
    var detailedExitcode = false

    func run() async throws {
        let plan: Plan
        var bundleSummary: String?
        do {
            let bundle = try options.openBundle()
            let workspace = try options.loadWorkspace(rotateSecrets: selection.rotateSecrets, bundle: bundle)
            bundleSummary = bundle?.summary(needs: workspace.graph.artifacts)
            if let notice = workspace.rotationNotice { say(notice) }
            let connections = Connections(transport: options.transport(workspace))
            plan = try await selection.makePlan(workspace, connections: connections)
            await connections.closeAll()
            if let out { try SavedPlan.write(plan, to: out) }
        } catch {
            throw fail(error)
        }
        if json {
            say(String(decoding: try SavedPlan.encode(plan), as: UTF8.self))
        } else {
            if let bundleSummary { say(bundleSummary) }
            say(PlanRenderer(style: .detect()).render(plan))
            if let out { say("Saved the plan to \(out). Apply it exactly with: islet apply \(out)") }
        }
        if !plan.failures.isEmpty || !plan.stepErrors.isEmpty { throw ExitCode(1) }
        if detailedExitcode && plan.hasChanges { throw ExitCode(2) }
    }
}

/// Options that choose what a plan covers.
struct SelectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Plan only this node's steps.", valueName: "NODE"))
    var target: String?

    @Option(
        help: ArgumentHelp("Run this step again even if nothing changed (repeatable).", valueName: "NODE/STACK/STEP"))
    var replace: [String] = []

    // Unconditional, so `--parallel -3` is read as a number (and refused as below 1), not as a missing value.
    @Option(parsing: .unconditional, help: "How many nodes to work on at once (1 or more).")
    var parallel: Int = 10

    @Flag(
        help:
            "Go on when the secrets file lacks secrets the state records: make them anew (plan lists them). Passwords on the nodes change."
    )
    var rotateSecrets = false

    func makePlan(_ workspace: Workspace, connections: Connections) async throws -> Plan {
        var planner = try Selection(target: target, replace: replace, parallel: parallel, workspace: workspace)
            .planner(workspace)
        planner.notice = { FileHandle.standardError.write(Data(("note: " + $0 + "\n").utf8)) }
        return await planner.plan(connections: connections)
    }
}
