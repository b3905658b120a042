import ArgumentParser
import Foundation
import IsletBundle
import IsletCore
import IsletSSH

/// Options every command that reads an inventory shares.
struct WorkspaceOptions: ParsableArguments {
    @Option(name: [.short, .customLong("inventory")], help: "The inventory file.")
    var inventory: String = "inventory.yaml"

    @Option(
        help: """
            The folder of stacks (default: ./stacks, else stacks/ or ../stacks beside the inventory, else the \
            stacks installed with islet in <its folder>/../share/islet/stacks).
            """)
    var stacks: String?

    @Option(help: "The state file (default: .islet/state.json beside the inventory).")
    var state: String?

    @Option(
        help: ArgumentHelp(
            "Run against local folders instead of SSH: node N is DIR/N, seen by scripts as $ISLET_ROOT. For trying stacks.",
            valueName: "DIR"))
    var local: String?

    @Option(
        help: ArgumentHelp(
            "The offline bundle (folder, tar, or split parts) that artifacts come from; its stacks are used unless --stacks is given.",
            valueName: "DIR|FILE"))
    var bundle: String?

    @Flag(
        help: "Accept and record host keys not yet known (like OpenSSH's accept-new); a changed key is always refused.")
    var acceptNewHostKeys = false

    /// Where the stacks are looked for; `loadWorkspace` adds the bundle's.
    var stacksSearch: StacksSearch {
        StacksSearch(explicit: stacks, inventoryPath: inventory)
    }

    /// Loads and validates. Before connecting over SSH (`connecting`, without `--local`), a missing identity file is
    /// an error unless ssh-agent or a password can stand in; then it is a warning, as at validate.
    /// - Parameter bundle: opened with `openBundle()`: its stacks stand in for a missing `--stacks`, and its
    ///   manifest must hold every artifact the plan needs.
    func loadWorkspace(connecting: Bool = true, rotateSecrets: Bool = false, bundle: OpenedBundle? = nil) throws
        -> Workspace
    {
        var search = stacksSearch
        if let bundle {
            if let stacks {
                guard try StacksTreeDigest.digest(ofFolderAt: stacks) == bundle.manifest.stacks.sha256 else {
                    throw ValidationError(
                        "--stacks \(stacks) differs from the stacks the bundle \(bundle.source.location) was made for; expected the bundle's own stacks (leave out --stacks) or a bundle made from these (islet bundle create)"
                    )
                }
            } else {
                search.bundleStacks = try bundle.stacksFolder()
            }
        }
        let (stacksDirectory, searched) = search.resolve()
        let workspace = try Workspace.load(
            inventoryPath: inventory, stacksDirectory: stacksDirectory, statePath: state, rotateSecrets: rotateSecrets,
            searchedStacks: searched, bundle: bundle?.manifest)
        var warnings = workspace.inventory.missingIdentityFiles.map(\.warning)
        if connecting && local == nil {
            warnings = try workspace.inventory.checkIdentityFilesForSSH(
                environment: ProcessInfo.processInfo.environment)
        }
        for warning in warnings { warn(warning.description) }
        return workspace
    }

    /// The bundle `--bundle` names, or nil without one.
    func openBundle() throws -> OpenedBundle? {
        try bundle.map { try OpenedBundle(opening: $0) }
    }

    /// SSH as the inventory says, or local folders with `--local`.
    func transport(_ workspace: Workspace) -> any Transport {
        if let local { return LocalTransport(baseDirectory: local) }
        let environment = ProcessInfo.processInfo.environment
        let identityFiles = workspace.inventory.nodes.compactMap(\.ssh.identityFile)
        // Host keys are the operator's: one file per user, whatever --state says; the file islet used to keep
        // beside the inventory is still read.
        var policy = SSHTransport.hostKeyPolicy(
            isletKnownHosts: StateStore.knownHostsPath(), acceptNew: acceptNewHostKeys)
        policy.knownHostsFiles.append(StateStore.legacyKnownHostsPath(inventoryPath: inventory))
        return SSHTransport(
            hostKeys: policy,
            credentials: SSHCredentials.fromEnvironment(
                environment, promptingForPassphraseOf: Array(Set(identityFiles))),
            becomePassword: environment["ISLET_BECOME_PASSWORD"])
    }
}

/// Prints an engine error once, at the edge, and exits non-zero.
func fail(_ error: Error) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    return ExitCode(1)
}

/// A problem that does not stop the command, on standard error.
func warn(_ text: String) {
    FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
}

/// Writes to standard output unbuffered, so plan, prompts and live progress appear in the order written.
func say(_ text: String = "", terminator: String = "\n") {
    FileHandle.standardOutput.write(Data((text + terminator).utf8))
}
