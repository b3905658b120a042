import Foundation

/// Everything one islet command works from: the stacks, the inventory checked against them, and the state.
public struct Workspace: Sendable {
    public let catalog: Catalog
    public let inventory: Inventory
    /// Which steps run where and in what order: built once, read by plan, apply and status.
    public let graph: DesiredGraph
    public var store: StateStore
    /// nil before the first apply.
    public var state: State?
    public var secrets: SecretStore
    public var inventoryDigest: String
    public var stacksDigest: String
    /// Secrets the state records but the secrets file lacks, accepted with `--rotate-secrets`: they are
    /// generated anew (or, for secret outputs, recorded again) by this run.
    public var rotatedSecrets: [String] = []

    /// Loads and validates; nothing is written.
    /// - Parameter rotateSecrets: go on when the secrets file lacks secrets the state records (they are made
    ///   anew); without it that is refused, so a lost secrets file never silently changes every password.
    /// - Throws: `ValidationFailure` with every problem in the stacks and the inventory, or a `StateError`.
    /// - Parameter searchedStacks: the folders looked in for stacks, when `stacksDirectory` was guessed.
    /// - Parameter environment: where `{fromEnv: VARIABLE}` settings are read.
    /// - Parameter allowUnpinned: accept artifact versions the stacks do not pin (`bundle create`).
    /// - Parameter bundle: the bundle's manifest (`--bundle`): artifacts take their digests from it, and
    ///   anything it lacks is refused here, before any node is touched.
    public static func load(
        inventoryPath: String, stacksDirectory: String, statePath: String?, rotateSecrets: Bool = false,
        searchedStacks: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment,
        allowUnpinned: Bool = false, extraArchitectures: [Architecture] = [], bundle: BundleManifest? = nil
    ) throws -> Workspace {
        let stacks = try Catalog.load(directory: stacksDirectory, searched: searchedStacks)
        let inventory = try InventoryLoader(schema: stacks.schema, environment: environment).load(path: inventoryPath)
        // forEach templates become one step per item of the inventory's lists.
        let catalog = try stacks.expanded(for: inventory)
        try catalog.checkSharedDestinations(on: inventory)
        var graph = DesiredGraph(catalog: catalog, inventory: inventory)
        // A bundle may hold versions made with --allow-unpinned: it records what they are.
        graph.artifacts = try ArtifactNeeds(
            graph: graph, allowUnpinned: allowUnpinned || bundle != nil, extraArchitectures: extraArchitectures)
        if let bundle { try graph.artifacts.resolve(against: bundle) }
        let store = statePath.map(StateStore.init) ?? StateStore.besideInventory(inventoryPath)
        let state = try store.load(cluster: inventory.cluster.name)
        let secrets = try SecretStore.open(path: store.secretsPath, lineage: state?.lineage)
        let lost = secrets.missing(recordedIn: state)
        if !lost.isEmpty && !rotateSecrets {
            throw StateError.secretsLost(
                path: store.secretsPath, statePath: store.statePath, missing: lost,
                fileExists: FileManager.default.fileExists(atPath: store.secretsPath))
        }
        return Workspace(
            catalog: catalog, inventory: inventory, graph: graph,
            store: store, state: state, secrets: secrets,
            inventoryDigest: try digest(ofFile: inventoryPath),
            stacksDigest: try digest(ofDirectory: stacksDirectory), rotatedSecrets: lost)
    }

    /// With `--rotate-secrets` and secrets to make anew: what will change, to print before the plan.
    public var rotationNotice: String? {
        guard !rotatedSecrets.isEmpty else { return nil }
        return "--rotate-secrets: \(store.secretsPath) lacks \(rotatedSecrets.count) secret(s) that the state records; "
            + "they will be made anew, and the steps using them change: " + rotatedSecrets.joined(separator: ", ")
    }

    /// Every known secret value: masked in every line islet prints or logs.
    public var secretValues: [String] {
        let secretSettings = catalog.schema.secretKeys.compactMap { inventory.settings[$0]?.environmentText }
        return Array(secrets.values.values) + secretSettings
    }
}

func digest(ofFile path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw StateError.io(path: path, reason: "cannot read the file")
    }
    return "sha256:" + sha256Hex(data)
}

/// sha256 over every file's relative path and content, in sorted order: any edit to a stack changes it.
func digest(ofDirectory path: String) throws -> String {
    var manifest = ""
    let root = URL(fileURLWithPath: path).standardizedFileURL.path
    let files = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).sorted()
    for relative in files {
        var isDirectory: ObjCBool = false
        let full = root + "/" + relative
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
            let data = FileManager.default.contents(atPath: full)
        else { continue }
        manifest += "\(relative) \(sha256Hex(data))\n"
    }
    return "sha256:" + sha256Hex(Data(manifest.utf8))
}
