import ArgumentParser
import Foundation
import IsletCore

struct SSHCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssh",
        abstract: "Run a command on a node with the inventory's connection settings, or check the connection.",
        discussion: """
            The command runs like a step's script: sent on stdin to sh, as root when the node's become is sudo. \
            Without a command, islet connects and reports how. Exit status is the command's.
            """)

    @OptionGroup var options: WorkspaceOptions

    @Argument(help: "The node, by its inventory name (or a removed node the state still knows).")
    var node: String

    @Argument(parsing: .postTerminator, help: "The command, after `--`.")
    var command: [String] = []

    func run() async throws {
        let workspace: Workspace
        let address: NodeAddress
        do {
            workspace = try options.loadWorkspace()
            if let known = workspace.inventory.node(named: node) {
                address = known.connection
            } else if let recorded = workspace.state?.nodes[node]?.connection {
                address = recorded
            } else {
                throw ValidationError(
                    "no node named \(node) in \(options.inventory) or in the state; expected one of \(workspace.inventory.nodes.map(\.name).joined(separator: ", "))"
                )
            }
        } catch {
            throw fail(error)
        }
        let connections = Connections(transport: options.transport(workspace))
        let session: any NodeSession
        switch await connections.session(for: address) {
        case .success(let open): session = open
        case .failure(let failure): throw fail(failure)
        }
        let words = command
        guard !words.isEmpty else {
            say("\(node): connected, \(session.summary)")
            await connections.closeAll()
            return
        }
        let lines = MaskedLines(masker: Masker(secrets: workspace.secretValues)) { stream, text in
            (stream == .stdout ? FileHandle.standardOutput : FileHandle.standardError).write(Data((text + "\n").utf8))
        }
        let status: ExitStatus
        do {
            status = try await session.run(script: words.joined(separator: " ") + "\n") { lines.append($0) }
            lines.flush()
        } catch {
            await connections.closeAll()
            throw fail(error)
        }
        await connections.closeAll()
        if !status.succeeded { throw ExitCode(status.code ?? 255) }
    }
}
