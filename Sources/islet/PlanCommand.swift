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
        do {
            let workspace = try options.loadWorkspace()
            let connections = Connections(transport: options.transport(workspace))
            plan = try await selection.makePlan(workspace, connections: connections)
            await connections.closeAll()
            if let out {
                try encodePlan(plan).write(to: URL(fileURLWithPath: out), options: .atomic)
            }
        } catch {
            throw fail(error)
        }
        if json {
            say(String(decoding: try encodePlan(plan), as: UTF8.self))
        } else {
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

    @Option(help: "How many nodes to work on at once.")
    var parallel: Int = 10

    func makePlan(_ workspace: Workspace, connections: Connections) async throws -> Plan {
        if let target, workspace.inventory.node(named: target) == nil && workspace.state?.nodes[target] == nil {
            throw ValidationError("--target \(target): no such node in the inventory or the state")
        }
        var instances: Set<StepInstance> = []
        for text in replace {
            let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let step = StepID(parts[1], defaultStack: nil),
                workspace.graph.contains(StepInstance(step: step, node: parts[0]))
            else {
                throw ValidationError(
                    "--replace \(text): expected NODE/STACK/STEP naming a step that runs on that node")
            }
            instances.insert(StepInstance(step: step, node: parts[0]))
        }
        return await Planner(workspace: workspace, target: target, replace: instances, parallel: parallel)
            .plan(connections: connections)
    }
}

func encodePlan(_ plan: Plan) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return try encoder.encode(plan)
}
