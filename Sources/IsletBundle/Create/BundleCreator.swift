import Foundation
import IsletCore

/// What `islet bundle create` is asked to make.
public struct BundleRequest: Sendable {
    /// The workspace: stacks, inventory and the artifacts they need.
    public var workspace: Workspace
    public var inventoryPath: String
    /// The bundle folder to make or complete.
    public var output: String
    /// `NAME=FILE`: a local file in place of a declared download (NAME is `STACK/NAME` or a unique `NAME`).
    public var replacements: [String: String]
    public var mirrors: Mirrors
    public var http: HTTPOptions
    public var registry: RegistryOptions
    /// The islet binary to carry in (normally the one running).
    public var isletBinary: String
    public var isletVersion: String
    /// Downloads and image pulls at once.
    public var parallel: Int

    public init(
        workspace: Workspace, inventoryPath: String, output: String, replacements: [String: String] = [:],
        mirrors: Mirrors = Mirrors(), http: HTTPOptions = HTTPOptions(), registry: RegistryOptions = RegistryOptions(),
        isletBinary: String, isletVersion: String, parallel: Int = 4
    ) {
        self.workspace = workspace
        self.inventoryPath = inventoryPath
        self.output = output
        self.replacements = replacements
        self.mirrors = mirrors
        self.http = http
        self.registry = registry
        self.isletBinary = isletBinary
        self.isletVersion = isletVersion
        self.parallel = parallel
    }
}

/// Makes a bundle folder: every file and image the inventory needs, verified while it streams, the stacks
/// and the islet binary, and `bundle.json` last (a folder without it is unfinished). Running it again
/// fetches only what is missing.
public struct BundleCreator: Sendable {
    public let request: BundleRequest

    public init(_ request: BundleRequest) { self.request = request }

    /// - Parameters:
    ///   - board: counts download progress (a display draws it).
    ///   - say: one line per thing done, for the operator.
    /// - Throws: `BundleCreateError`, `DownloadError` or `OCIError`, naming the artifact.
    public func create(board: TransferBoard? = nil, say: @escaping @Sendable (String) -> Void = { _ in }) throws
        -> BundleManifest
    {
        let needs = request.workspace.graph.artifacts
        try checkReplacements(needs)
        let layout = try openLayout()
        let files = try collectFiles(needs.files, layout: layout, board: board, say: say)
        let images = try collectImages(needs.images, layout: layout, say: say)
        let stacks = try copyStacks()
        let binary = try copyBinary()
        if let folder = SwiftRuntimeLinkage.sharedRuntimeFolder() {
            say(
                "warning: bin/islet loads the Swift runtime from \(folder) and will not start where that folder is "
                    + "missing; `make install` builds an islet with the runtime linked in")
        }
        let inventory = try FileDigest.sha256(ofFileAt: request.inventoryPath)
        let architectures = Set(needs.files.compactMap(\.arch) + needs.images.flatMap(\.platforms))
            .map(\.rawValue).sorted()
        let manifest = BundleManifest(
            createdAt: Date(), islet: binary, inventory: .init(sha256: inventory.digest), stacks: stacks,
            architectures: architectures.isEmpty ? [Architecture.amd64.rawValue] : architectures, files: files,
            images: images,
            blobs: try layout.blobs().map { BundleManifest.Blob(digest: $0.digest.description, size: $0.size) })
        let path = request.output + "/" + BundleManifest.fileName
        try write(manifest.encoded(), to: path)
        return manifest
    }

    // MARK: files

    private func checkReplacements(_ needs: ArtifactNeeds) throws {
        for name in request.replacements.keys.sorted() {
            let matching = needs.files.filter { $0.id.description == name || $0.id.name == name }
            let ids = Set(matching.map(\.id))
            if ids.isEmpty {
                let known = Set(needs.files.map(\.id.description)).sorted()
                throw BundleCreateError.unknownReplacement(name: name, known: known)
            }
            if ids.count > 1 {
                throw BundleCreateError.ambiguousReplacement(name: name, candidates: ids.map(\.description).sorted())
            }
            if Set(matching.map(\.arch)).count > 1 {
                throw BundleCreateError.replacementForManyArchitectures(
                    name: name, labels: matching.map(\.label))
            }
        }
    }

    private func replacement(for need: ArtifactNeeds.File) -> String? {
        request.replacements[need.id.description] ?? request.replacements[need.id.name]
    }

    private func collectFiles(
        _ needs: [ArtifactNeeds.File], layout: ImageLayout, board: TransferBoard?,
        say: @escaping @Sendable (String) -> Void
    ) throws -> [BundleManifest.File] {
        let results = Locked<[Int: Result<BundleManifest.File, Error>]>([:])
        let downloader = FileDownloader(client: HTTPClient(options: request.http))
        let queue = Locked(0)
        let workers = max(1, min(request.parallel, needs.count))
        let group = DispatchGroup()
        for _ in 0..<workers {
            group.enter()
            Thread {
                defer { group.leave() }
                while true {
                    let index = queue.withLock { next -> Int in
                        defer { next += 1 }
                        return next
                    }
                    guard index < needs.count else { return }
                    let outcome = Result {
                        try collect(needs[index], layout: layout, downloader: downloader, board: board, say: say)
                    }
                    results.withLock { $0[index] = outcome }
                }
            }.start()
        }
        group.wait()
        let all = results.withLock { $0 }
        return try (0..<needs.count).map { try all[$0]!.get() }
    }

    private func collect(
        _ need: ArtifactNeeds.File, layout: ImageLayout, downloader: FileDownloader, board: TransferBoard?,
        say: @Sendable (String) -> Void
    ) throws -> BundleManifest.File {
        let blobs = layout.path + "/blobs/sha256"
        func record(sha256: String, size: Int64, replaced: String? = nil) -> BundleManifest.File {
            BundleManifest.File(
                name: need.id.name, stack: need.id.stack, version: need.version, arch: need.arch?.rawValue,
                url: need.url, sha256: sha256, size: size, extract: need.extract, pinned: need.sha256 != nil,
                replaced: replaced.map { BundleManifest.File.Replacement(source: $0) })
        }
        if let local = replacement(for: need) {
            let (digest, size) = try FileDigest.sha256(ofFileAt: local)
            try copyIntoBlobs(local, sha256: digest, folder: blobs)
            say("\(need.label): replaced by \(local) (sha256 \(digest))")
            return record(sha256: digest, size: size, replaced: local)
        }
        let url = request.mirrors.url(for: need.url)
        let id = board?.begin(need.label)
        do {
            let result: DownloadResult
            if let pinned = need.sha256 {
                result = try downloader.download(
                    need.label, from: url, to: blobs + "/" + pinned, sha256: pinned,
                    progress: { progress in if let id { board?.update(id, progress) } })
            } else {
                // Unpinned: the digest is known only once it has arrived.
                let staging =
                    request.output + "/downloads/"
                    + need.label.replacingOccurrences(of: "/", with: "_")
                    .replacingOccurrences(of: " ", with: "-")
                result = try downloader.download(
                    need.label, from: url, to: staging,
                    progress: { progress in if let id { board?.update(id, progress) } })
                try moveIntoBlobs(staging, sha256: result.sha256, folder: blobs)
            }
            if let id { board?.finish(id) }
            say(
                "\(need.label): "
                    + (result.alreadyPresent ? "already in the bundle" : "downloaded \(result.size) bytes")
                    + (need.sha256 == nil ? " (unpinned: sha256 \(result.sha256))" : ""))
            return record(sha256: result.sha256, size: result.size)
        } catch {
            if let id { board?.fail(id) }
            throw error
        }
    }

    private func copyIntoBlobs(_ source: String, sha256: String, folder: String) throws {
        let target = folder + "/" + sha256
        if FileManager.default.fileExists(atPath: target) { return }
        let temporary = folder + "/.incoming-" + UUID().uuidString
        do {
            try FileManager.default.copyItem(atPath: source, toPath: temporary)
            // It must still be what was hashed: a file changed while being copied is refused.
            guard try FileDigest.sha256(ofFileAt: temporary).digest == sha256 else {
                throw BundleCreateError.changedWhileCopied(path: source)
            }
            try FileManager.default.moveItem(atPath: temporary, toPath: target)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    private func moveIntoBlobs(_ path: String, sha256: String, folder: String) throws {
        let target = folder + "/" + sha256
        if FileManager.default.fileExists(atPath: target) {
            try FileManager.default.removeItem(atPath: path)
        } else {
            try FileManager.default.moveItem(atPath: path, toPath: target)
        }
    }

    // MARK: images

    private func collectImages(_ needs: [ArtifactNeeds.Image], layout: ImageLayout, say: @Sendable (String) -> Void)
        throws -> [BundleManifest.Image]
    {
        let client = RegistryClient(http: HTTPClient(options: request.http), options: request.registry)
        return try needs.map { need in
            var reference = try ImageReference(parsing: need.reference)
            if let digest = need.digest {
                reference = try ImageReference(
                    registry: reference.registry, repository: reference.repository, tag: reference.tag,
                    digest: try Digest(digest))
            }
            let platforms = need.platforms.map { Platform(os: "linux", architecture: $0.rawValue) }
            let pulled = try client.pull(reference, platforms: platforms, into: layout)
            say(
                "\(need.label): \(pulled.digest)" + (pulled.blobsFetched == 0 ? " (already in the bundle)" : "")
                    + (need.pinned ? "" : " (unpinned)"))
            return BundleManifest.Image(
                name: need.id.name, stack: need.id.stack,
                version: need.version ?? reference.tag ?? pulled.digest.description,
                reference: need.reference,
                digest: pulled.digest.description, mediaType: pulled.mediaType,
                platforms: pulled.platforms.map { "\($0.os)/\($0.architecture)" }.sorted(), pinned: need.pinned)
        }
    }

    // MARK: stacks, binary, layout

    private func openLayout() throws -> ImageLayout {
        let path = request.output + "/oci"
        if FileManager.default.fileExists(atPath: path + "/oci-layout") { return try ImageLayout.open(at: path) }
        return try ImageLayout.create(at: path)
    }

    /// The stacks the bundle was made for, copied whole (a fresh copy each time: an edited stack is not mixed
    /// with an older one).
    private func copyStacks() throws -> BundleManifest.StacksTree {
        let target = request.output + "/stacks"
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: request.workspace.catalog.directory, toPath: target)
        return BundleManifest.StacksTree(sha256: try StacksTreeDigest.digest(ofFolderAt: target))
    }

    private func copyBinary() throws -> BundleManifest.IsletBinary {
        let target = request.output + "/bin/islet"
        try FileManager.default.createDirectory(
            atPath: request.output + "/bin", withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: request.isletBinary, toPath: target)
        chmod(target, 0o755)
        let (digest, size) = try FileDigest.sha256(ofFileAt: target)
        return BundleManifest.IsletBinary(version: request.isletVersion, sha256: digest, size: size)
    }

    private func write(_ data: Data, to path: String) throws {
        let temporary = path + ".new"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw BundleCreateError.cannotWrite(path: path)
        }
        guard rename(temporary, path) == 0 else { throw BundleCreateError.cannotWrite(path: path) }
    }
}

public enum BundleCreateError: Error, CustomStringConvertible, Equatable {
    case unknownReplacement(name: String, known: [String])
    case ambiguousReplacement(name: String, candidates: [String])
    case replacementForManyArchitectures(name: String, labels: [String])
    case changedWhileCopied(path: String)
    case cannotWrite(path: String)

    public var description: String {
        switch self {
        case .unknownReplacement(let name, let known):
            return "--replace \(name): no file artifact of that name is needed; expected one of "
                + (known.isEmpty ? "(none: this inventory needs no files)" : known.joined(separator: ", "))
        case .ambiguousReplacement(let name, let candidates):
            return
                "--replace \(name): several stacks declare it (\(candidates.joined(separator: ", "))); expected STACK/NAME"
        case .replacementForManyArchitectures(let name, let labels):
            return
                "--replace \(name): it is needed for several architectures (\(labels.joined(separator: ", "))); one local file cannot stand for all of them"
        case .changedWhileCopied(let path):
            return "\(path) changed while it was copied into the bundle; expected a file that stays the same"
        case .cannotWrite(let path):
            return "\(path): cannot write it"
        }
    }
}

/// A value behind a lock, for the download threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
