import ArgumentParser
import Foundation
import IsletCore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Write a commented example inventory built from the stacks' declarations.")

    @Option(
        help: """
            The folder of stacks (default: ./stacks, else stacks/ or ../stacks beside the output, else the stacks \
            installed with islet).
            """)
    var stacks: String?

    @Option(name: .shortAndLong, help: "Where to write the inventory ('-' for standard output).")
    var output: String = "inventory.yaml"

    @Flag(help: "Overwrite an existing file.")
    var force = false

    func run() throws {
        do {
            let search = StacksSearch(explicit: stacks, inventoryPath: output == "-" ? nil : output)
            let (directory, searched) = search.resolve()
            let text = ExampleInventory.render(try Catalog.load(directory: directory, searched: searched))
            if output == "-" {
                say(text, terminator: "")
                return
            }
            if FileManager.default.fileExists(atPath: output) && !force {
                throw ValidationError("\(output) exists; pass --force to overwrite it")
            }
            try ExampleInventory.write(text, to: output)
            say("Wrote \(output). Edit the nodes and settings, then run: islet plan -i \(output)")
        } catch {
            throw fail(error)
        }
    }
}
