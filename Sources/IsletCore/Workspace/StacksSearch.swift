import Foundation

/// Where islet finds its stacks, first match wins: `--stacks`; the bundle's stacks (a bundle carries the
/// stacks it was made for); `./stacks`, then `stacks/` and `../stacks` beside the inventory (a checkout or a
/// site folder); then the stacks installed with islet, `<folder of the executable>/../share/islet/stacks`
/// (what `make install` lays out). `--stacks` or a bundle is the only place looked when given.
public struct StacksSearch: Sendable {
    /// `--stacks`.
    public var explicit: String?
    /// The stacks folder inside the bundle given with `--bundle`; set by the bundle code once a bundle is open.
    public var bundleStacks: String?
    /// The inventory, for the folders beside it; nil for a command without one.
    public var inventoryPath: String?
    /// The running islet, for the installed stacks; nil to leave them out.
    public var executablePath: String?

    public init(
        explicit: String? = nil, bundleStacks: String? = nil, inventoryPath: String? = nil,
        executablePath: String? = StacksSearch.runningExecutable
    ) {
        self.explicit = explicit
        self.bundleStacks = bundleStacks
        self.inventoryPath = inventoryPath
        self.executablePath = executablePath
    }

    /// The folders looked in, in order.
    public var candidates: [String] {
        if let explicit { return [explicit] }
        if let bundleStacks { return [bundleStacks] }
        var candidates = ["stacks"]
        if let inventoryPath {
            let folder = URL(fileURLWithPath: inventoryPath).deletingLastPathComponent().path
            candidates += [folder + "/stacks", folder + "/../stacks"]
        }
        if let installed { candidates.append(installed) }
        var unique: [String] = []
        for candidate in candidates where !unique.contains(candidate) { unique.append(candidate) }
        return unique
    }

    /// `<folder of the executable>/../share/islet/stacks`, normalised.
    public var installed: String? {
        guard let executablePath else { return nil }
        return URL(fileURLWithPath: executablePath).deletingLastPathComponent()
            .appendingPathComponent("../share/islet/stacks").standardizedFileURL.path
    }

    /// The first candidate that is a folder (else the first candidate, for the error), and every place
    /// looked when more than one was, for the message when it holds no stacks.
    public func resolve() -> (directory: String, searched: [String]) {
        let candidates = self.candidates
        let found = candidates.first { candidate in
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: candidate, isDirectory: &isFolder) && isFolder.boolValue
        }
        return (found ?? candidates[0], candidates.count > 1 ? candidates : [])
    }

    /// The path of the running executable, symbolic links resolved (Linux: /proc/self/exe).
    public static var runningExecutable: String? {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        guard let first = CommandLine.arguments.first, first.contains("/") else { return nil }
        return URL(fileURLWithPath: first).resolvingSymlinksInPath().path
    }
}
