import ArgumentParser
import IsletCore

struct OutputCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "output", abstract: "Print the outputs steps recorded (secrets masked unless --show-secrets).")

    @OptionGroup var options: WorkspaceOptions

    @Argument(help: "An output NAME, or NODE/STACK/STEP.NAME; all outputs when omitted.")
    var name: String?

    @Flag(help: "Print secret values in clear.")
    var showSecrets = false

    func run() throws {
        let lines: [String]
        do {
            let workspace = try options.loadWorkspace(connecting: false)
            lines = OutputListing.render(OutputListing.entries(workspace), name: name, showSecrets: showSecrets)
        } catch {
            throw fail(error)
        }
        if lines.isEmpty && name != nil {
            throw fail(ValidationError("no recorded output named \(name!)"))
        }
        for line in lines { say(line) }
    }
}
