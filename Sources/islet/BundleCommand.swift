import ArgumentParser
import Foundation
import IsletBundle
import IsletCore

/// `islet bundle …`: the air-gap bundle, made online and checked and read on the closed side.
struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Make an air-gap bundle online; verify and list one (a folder, a tar archive, or its parts).",
        subcommands: [BundleCreateCommand.self, BundleVerifyCommand.self, BundleListCommand.self])
}

/// The bundle argument `verify` and `list` share.
struct BundleLocation: ParsableArguments {
    @Argument(
        help: ArgumentHelp(
            "The bundle: its folder, its tar archive, or a split archive (FILE.tar.000, or FILE.tar when only its parts exist).",
            valueName: "DIR|FILE"))
    var bundle: String

    func open() throws -> BundleSource { try BundleSource(opening: bundle) }
}

struct BundleVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-hash everything bundle.json lists; name each missing, truncated, corrupt or unexpected item.",
        discussion: "Exits 1 when anything differs from bundle.json.")

    @OptionGroup var location: BundleLocation

    func run() throws {
        let verification: BundleVerification
        do {
            verification = try BundleVerifier.verify(location.open())
        } catch {
            throw fail(error)
        }
        say(verification.render(location: location.bundle), terminator: "")
        if !verification.passed { throw ExitCode(1) }
    }
}

struct BundleListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Show the files and images in a bundle, for which stack, version and arch.")

    @OptionGroup var location: BundleLocation

    func run() throws {
        do {
            say(try BundleContents(of: location.open()).render(), terminator: "")
        } catch {
            throw fail(error)
        }
    }
}

struct BundleCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Download every file and image the inventory's stacks need into a bundle folder (run it online).",
        discussion: """
            Only what steps placed on the inventory's nodes read, for those nodes' architectures. Each file's \
            sha256 is checked while it streams; running it again fetches only what is missing. The bundle also \
            carries the stacks and this islet binary. Then: islet plan/apply --bundle DIR|FILE.tar on the closed side.
            """)

    @Option(name: [.short, .customLong("inventory")], help: "The inventory file.")
    var inventory: String = "inventory.yaml"

    @Option(help: "The folder of stacks (default: ./stacks, else stacks/ or ../stacks beside the inventory).")
    var stacks: String?

    @Option(name: [.short, .customLong("output")], help: "The bundle folder to make (or complete).")
    var output: String

    @Option(help: ArgumentHelp("Also write the bundle as one tar file.", valueName: "FILE.tar"))
    var archive: String?

    @Option(
        help: ArgumentHelp(
            "With --archive: write parts of at most SIZE (700M, 4G) for removable media.", valueName: "SIZE"))
    var split: String?

    @Option(help: ArgumentHelp("Also collect for this architecture (amd64, arm64); repeatable.", valueName: "ARCH"))
    var arch: [String] = []

    @Flag(help: "Download versions the stacks do not pin, recording the sha256 each one had (marked unpinned).")
    var allowUnpinned = false

    @Option(
        help: ArgumentHelp(
            "Fetch through a mirror: a URL prefix (https://dl.k8s.io=https://nexus/dl) or a registry host (quay.io=nexus:8443/quay); repeatable.",
            valueName: "UPSTREAM=LOCAL"))
    var mirror: [String] = []

    @Option(help: ArgumentHelp("Mirror rules, one UPSTREAM=LOCAL per line (# comments).", valueName: "FILE"))
    var mirrorsFile: String?

    @Option(help: ArgumentHelp("Put a local file in place of a declared one; repeatable.", valueName: "NAME=FILE"))
    var replace: [String] = []

    @Option(help: ArgumentHelp("Trust these CA certificates (PEM) instead of the system's.", valueName: "FILE"))
    var cacert: String?

    @Option(
        help: ArgumentHelp(
            "Speak plain HTTP to this registry (an internal mirror without TLS); repeatable.", valueName: "HOST[:PORT]")
    )
    var plainHTTP: [String] = []

    @Option(help: "Downloads and image pulls at once.")
    var parallel: Int = 4

    func run() throws {
        do {
            let architectures = try arch.map { text -> Architecture in
                guard let arch = Architecture(rawValue: text) else {
                    throw ValidationError("--arch \(text): expected amd64 or arm64")
                }
                return arch
            }
            var replacements: [String: String] = [:]
            for rule in replace {
                guard let equals = rule.firstIndex(of: "="), equals != rule.startIndex,
                    rule.index(after: equals) != rule.endIndex
                else { throw ValidationError("--replace \(rule): expected NAME=FILE") }
                let file = String(rule[rule.index(after: equals)...])
                guard FileManager.default.isReadableFile(atPath: file) else {
                    throw ValidationError("--replace \(rule): \(file) is not a readable file")
                }
                replacements[String(rule[..<equals])] = file
            }
            let partSize = try split.map { try BundleArchive.partSize($0) }
            if partSize != nil && archive == nil { throw ValidationError("--split needs --archive FILE.tar") }
            var mirrors = try mirrorsFile.map { try Mirrors(contentsOfFile: $0) } ?? Mirrors()
            for rule in mirror { try mirrors.add(rule, origin: "--mirror \(rule)") }
            let (stacksDirectory, searched) = StacksSearch(explicit: stacks, inventoryPath: inventory).resolve()
            let workspace = try Workspace.load(
                inventoryPath: inventory, stacksDirectory: stacksDirectory, statePath: nil, searchedStacks: searched,
                allowUnpinned: allowUnpinned, extraArchitectures: architectures)
            let http = HTTPOptions(caCertificatePath: cacert, userAgent: "islet/\(Islet.version)")
            let display = DownloadProgressDisplay(fileDescriptor: STDERR_FILENO)
            let registry = RegistryOptions(
                credentials: try RegistryCredentials.fromEnvironment(), plainHTTPHosts: Set(plainHTTP),
                mirrors: mirrors, parallelTransfers: parallel, board: display.board)
            let request = BundleRequest(
                workspace: workspace, inventoryPath: inventory, output: output, replacements: replacements,
                mirrors: mirrors, http: http, registry: registry,
                isletBinary: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                    ?? CommandLine.arguments[0],
                isletVersion: Islet.version, parallel: parallel)
            let manifest: BundleManifest
            do {
                defer { display.close() }
                manifest = try BundleCreator(request).create(board: display.board) { line in say(line) }
            }
            let replaced = manifest.files.filter { $0.replaced != nil }
            let unpinned = manifest.files.filter { !$0.pinned }.count + manifest.images.filter { !$0.pinned }.count
            say(
                "Bundle \(output): \(manifest.files.count) file(s), \(manifest.images.count) image(s), "
                    + "\(manifest.blobs.count) blob(s), \(manifest.blobs.reduce(0) { $0 + $1.size }) bytes"
                    + (replaced.isEmpty ? "" : "; \(replaced.count) replaced")
                    + (unpinned == 0 ? "" : "; \(unpinned) unpinned"))
            if let archive {
                let written = try BundleArchive.write(folder: output, to: archive, partSize: partSize)
                say("Archive: \(written.joined(separator: ", "))")
            }
        } catch {
            throw fail(error)
        }
    }
}
