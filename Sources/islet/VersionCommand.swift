import ArgumentParser
import IsletCore

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print islet's version.")

    func run() {
        say("islet \(Islet.version)")
    }
}
