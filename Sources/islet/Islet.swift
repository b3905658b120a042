import ArgumentParser
import IsletCore

@main
struct IsletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "islet",
        abstract: "Bring up and keep a closed-network Kubernetes delivery platform, declaratively, over SSH.",
        version: Islet.version,
        subcommands: [
            InitCommand.self, ValidateCommand.self, PlanCommand.self, ApplyCommand.self, StatusCommand.self,
            OutputCommand.self, SSHCommand.self, VersionCommand.self,
        ]
    )
}
