import ArgumentParser
import Dispatch
import Foundation
import IsletBundle
import IsletCore

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Make the nodes match the inventory: plan, confirm, run the steps, record state.",
        discussion:
            "Given a saved PLAN, applies exactly that plan, or refuses it if the state, inventory or stacks moved since."
    )

    @OptionGroup var options: WorkspaceOptions
    @OptionGroup var selection: SelectionOptions

    @Argument(help: "A plan saved by `islet plan --out`.")
    var planFile: String?

    @Flag(help: "Apply without asking.")
    var yes = false

    func run() async throws {
        let style = Style.detect()
        let workspace: Workspace
        let lock: StateLock
        let connections: Connections
        let plan: Plan
        let bundle: OpenedBundle?
        do {
            _ = try Selection.parallel(selection.parallel)
            bundle = try options.openBundle()
            workspace = try options.loadWorkspace(rotateSecrets: selection.rotateSecrets, bundle: bundle)
            if let bundle { say(bundle.summary(needs: workspace.graph.artifacts)) }
            if let notice = workspace.rotationNotice { say(notice) }
            lock = try StateLock.acquire(workspace.store, command: CommandLine.arguments.joined(separator: " "))
            connections = Connections(transport: options.transport(workspace))
            if let planFile {
                plan = try SavedPlan.load(from: planFile, for: workspace)
            } else {
                plan = try await selection.makePlan(workspace, connections: connections)
            }
        } catch {
            throw fail(error)
        }
        say(PlanRenderer(style: style).render(plan))
        guard plan.hasChanges else {
            await connections.closeAll()
            if !plan.failures.isEmpty { throw ExitCode(1) }
            return
        }
        if planFile == nil && !yes && !confirm(plan) {
            await connections.closeAll()
            say("Apply cancelled; nothing was changed.")
            throw ExitCode(1)
        }
        let interruption = Interruption()
        let signals = watchInterrupts(interruption)
        let masker = Masker()
        let result: ApplyResult
        do {
            let log = try RunLog(runsDirectory: workspace.store.runsDirectory, masker: masker)
            let progress = ApplyProgress(style: style, live: isatty(STDOUT_FILENO) == 1) { text in
                FileHandle.standardOutput.write(Data(text.utf8))
            }
            say("")
            result = await Applier(
                workspace: workspace, parallel: selection.parallel, interruption: interruption, artifacts: bundle
            )
            .apply(plan, connections: connections, log: log, observer: progress.observer)
            progress.finish()
            say("")
            say(ApplyProgress.summary(result, plan: plan, style: style))
            if !result.artifacts.isEmpty { say(result.artifacts.summary) }
        } catch {
            await connections.closeAll()
            throw fail(error)
        }
        await connections.closeAll()
        signals.cancel()
        withExtendedLifetime(lock) {}
        if !result.succeeded || !plan.failures.isEmpty { throw ExitCode(1) }
    }

    /// Asks on the terminal; removals were listed first by the plan, and are named again here.
    private func confirm(_ plan: Plan) -> Bool {
        let removals = plan.count(.remove)
        if removals > 0 {
            say("\n\(removals) step(s) will be REMOVED (their remove scripts run: drain, delete, reset).")
        }
        say("\nDo you want to apply these changes? Only 'yes' is accepted: ", terminator: "")
        return readLine()?.trimmingCharacters(in: .whitespaces) == "yes"
    }
}

/// First Ctrl-C: stop starting new steps, let running ones finish and be recorded. Second: abort at once.
func watchInterrupts(_ interruption: Interruption) -> DispatchSourceSignal {
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    source.setEventHandler {
        if interruption.isRequested {
            FileHandle.standardError.write(
                Data("\nAborted. Steps that were running are not recorded; the next apply resumes.\n".utf8))
            exit(130)
        }
        interruption.request()
        FileHandle.standardError.write(
            Data("\nInterrupted: no new steps start; waiting for running ones (Ctrl-C again aborts).\n".utf8))
    }
    source.resume()
    return source
}
