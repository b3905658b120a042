import ArgumentParser
import Foundation
import IsletCore

/// Options every command that reads an inventory shares.
struct WorkspaceOptions: ParsableArguments {
    @Option(name: [.short, .customLong("inventory")], help: "The inventory file.")
    var inventory: String = "inventory.yaml"

    @Option(help: "The folder of stacks (default: ./stacks, else stacks/ or ../stacks beside the inventory).")
    var stacks: String?

    @Option(help: "The state file (default: .islet/state.json beside the inventory).")
    var state: String?

    @Option(help: ArgumentHelp(
        "Run against local folders instead of SSH: node N is DIR/N, seen by scripts as $ISLET_ROOT. For trying stacks.",
        valueName: "DIR"))
    var local: String?

    var stacksDirectory: String {
        if let stacks { return stacks }
        let inventoryFolder = URL(fileURLWithPath: inventory).deletingLastPathComponent().path
        let candidates = ["stacks", inventoryFolder + "/stacks", inventoryFolder + "/../stacks"]
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/.") } ?? "stacks"
    }

    func loadWorkspace() throws -> Workspace {
        try Workspace.load(inventoryPath: inventory, stacksDirectory: stacksDirectory, statePath: state)
    }

    func transport() throws -> any Transport {
        if let local { return LocalTransport(baseDirectory: local) }
        throw ValidationError("the SSH transport is not built into this islet yet; use --local DIR")
    }
}

/// Prints an engine error once, at the edge, and exits non-zero.
func fail(_ error: Error) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    return ExitCode(1)
}

/// Writes to standard output unbuffered, so plan, prompts and live progress appear in the order written.
func say(_ text: String = "", terminator: String = "\n") {
    FileHandle.standardOutput.write(Data((text + terminator).utf8))
}
