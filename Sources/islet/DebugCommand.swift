import ArgumentParser
import Foundation
import IsletBundle
import IsletCore

/// Developer commands: not part of the workflow, hidden from help, kept for benchmarks and diagnosis.
struct DebugCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Developer commands for benchmarks and diagnosis.", shouldDisplay: false,
        subcommands: [DebugUploadCommand.self, DebugPushCommand.self])
}

/// One transport upload, timed: what `Tests/bench/transport/upload` compares with `scp`.
struct DebugUploadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload one local file to a node with islet's transport and print how long it took.",
        discussion: """
            Without --to, the file goes to the session's staging directory under its own name. The login \
            user must be able to write the destination.
            """)

    @OptionGroup var options: WorkspaceOptions

    @Argument(help: "The node, by its inventory name.")
    var node: String

    @Argument(help: "The local file.")
    var file: String

    @Option(help: "An absolute path on the node.")
    var to: String?

    @Option(help: "Permission bits, octal.")
    var mode: String = "600"

    @Option(help: "The file's expected sha256: skip when the node has it, refuse a source that differs.")
    var sha256: String?

    @Flag(help: "Continue DESTINATION.partial left by an earlier upload.")
    var resume = false

    func run() async throws {
        guard let bits = Int32(mode, radix: 8) else { throw ValidationError("--mode \(mode) is not octal") }
        let workspace: Workspace
        do { workspace = try options.loadWorkspace() } catch { throw fail(error) }
        guard let address = workspace.inventory.node(named: node)?.connection else {
            throw fail(ValidationError("no node named \(node) in \(options.inventory)"))
        }
        let connections = Connections(transport: options.transport(workspace))
        let session: any NodeSession
        switch await connections.session(for: address) {
        case .success(let open): session = open
        case .failure(let failure): throw fail(failure)
        }
        let destination: Upload.Destination =
            to.map { .path($0) } ?? .staging(URL(fileURLWithPath: file).lastPathComponent)
        let clock = ContinuousClock()
        let started = clock.now
        let result: UploadResult
        do {
            result = try await session.upload(
                Upload(.file(file), to: destination, mode: bits, expectedSHA256: sha256, resume: resume))
        } catch {
            await connections.closeAll()
            throw fail(error)
        }
        let elapsed = (clock.now - started).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        await connections.closeAll()
        let rate = Double(result.bytesSent) / 1_048_576 / max(seconds, 1e-9)
        say(
            "\(node): \(result.outcome) to \(result.path): \(result.bytesSent) bytes in "
                + String(format: "%.3f s (%.1f MiB/s)", seconds, rate))
    }
}

/// One image push from an OCI layout, timed: what `Tests/bench/bundle/push` compares with `skopeo copy`.
struct DebugPushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push the image a layout names REFERENCE to a plain-HTTP registry under its internal name.")

    @Argument(help: "The OCI image layout (a bundle's oci/ folder).")
    var layout: String

    @Argument(help: "The upstream reference the layout's index.json names.")
    var reference: String

    @Argument(help: "The registry, HOST:PORT (plain HTTP).")
    var registry: String

    func run() throws {
        let started = Date()
        do {
            let upstream = try ImageReference(parsing: reference)
            let client = RegistryClient(
                http: HTTPClient(options: HTTPOptions(environment: [:])),
                options: RegistryOptions(plainHTTPHosts: [registry]))
            let report = try client.push(
                upstream, from: try ImageLayout.open(at: layout), to: try upstream.internalReference(at: registry))
            say(
                "pushed \(report.target) in \(String(format: "%.3f", Date().timeIntervalSince(started))) s: "
                    + "\(report.blobsSent) blob(s) sent (\(report.bytesSent) bytes), \(report.blobsSkipped) already there"
            )
        } catch {
            throw fail(error)
        }
    }
}
