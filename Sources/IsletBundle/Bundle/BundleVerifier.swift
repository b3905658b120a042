import Foundation
import IsletCore

/// `bundle verify`: re-hashes everything `bundle.json` lists and checks the records against each other.
///
/// Every blob (image blobs and file artifacts alike), the islet binary and every file of the stacks is read in
/// full and hashed, the largest first, on as many threads as there are cores; the OCI layout's index and each
/// image's manifests are then read from blobs that verified. Problems are collected, never thrown: a user
/// wants the whole list in one pass.
public enum BundleVerifier {
    /// Verifies the bundle `source` holds.
    /// - Parameter threads: how many members to hash at once; by default one per core.
    /// - Throws: `BundleSourceError` or `BundleManifestError` when `bundle.json` itself cannot be read: without
    ///   it there is nothing to verify against.
    public static func verify(
        _ source: BundleSource, threads: Int = ProcessInfo.processInfo.activeProcessorCount
    ) throws -> BundleVerification {
        let manifest = try BundleManifest.decode(
            source.contents(of: BundleManifest.fileName), file: source.describe(BundleManifest.fileName))
        var problems: [BundleProblem] = []
        var jobs: [HashJob] = []

        jobs.append(
            HashJob(
                path: manifest.islet.path, item: "islet binary", expectedSize: manifest.islet.size,
                expectedSHA256: manifest.islet.sha256))
        for blob in manifest.blobs {
            jobs.append(
                HashJob(
                    path: blob.path, item: nil, expectedSize: blob.size, expectedSHA256: blob.hex, digest: blob.digest))
        }
        let listed = Dictionary(manifest.blobs.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
        var fileUses: [String: [String]] = [:]
        for file in manifest.files {
            let item = "file " + describe(file)
            fileUses[file.blobDigest, default: []].append(item)
            let blobPath = BundleManifest.Blob.path(ofDigest: file.blobDigest)
            if let blob = listed[file.blobDigest] {
                if blob.size != file.size {
                    problems.append(
                        BundleProblem(
                            item: item, path: source.describe(blobPath),
                            kind: .inconsistent(
                                "bundle.json records \(file.size) bytes for the file, \(blob.size) for its blob")))
                }
            } else {
                problems.append(
                    BundleProblem(
                        item: item, path: source.describe(blobPath),
                        kind: .inconsistent("its blob \(file.blobDigest) is not among bundle.json's blobs")))
                jobs.append(
                    HashJob(path: blobPath, item: item, expectedSize: file.size, expectedSHA256: file.sha256))
            }
        }
        let stacksPrefix = manifest.stacks.path + "/"
        if source.members[manifest.stacks.path]?.kind != .directory {
            problems.append(
                BundleProblem(item: "stacks", path: source.describe(manifest.stacks.path), kind: .missing))
        }
        let stackFiles = source.members.values.filter { $0.kind == .file && $0.path.hasPrefix(stacksPrefix) }
        for member in stackFiles {
            jobs.append(HashJob(path: member.path, item: "stacks", expectedSize: nil, expectedSHA256: nil))
        }

        let outcomes = hash(jobs, in: source, threads: threads)
        var verified: Set<String> = []
        var treeEntries: [StacksTreeDigest.Entry] = []
        var hashedBytes: Int64 = 0
        var hashedMembers = 0
        var blobProblems: [(digest: String, problem: BundleProblem)] = []
        for (job, outcome) in zip(jobs, outcomes) {
            if case .hashed(_, let size) = outcome {
                hashedBytes += size
                hashedMembers += 1
            }
            if job.expectedSHA256 == nil, case .hashed(let digest, _) = outcome {
                treeEntries.append(.init(path: String(job.path.dropFirst(stacksPrefix.count)), sha256: digest))
                continue
            }
            guard let kind = problemKind(outcome, job) else {
                if let digest = job.digest { verified.insert(digest) }
                continue
            }
            let problem = BundleProblem(item: job.item ?? "", path: source.describe(job.path), kind: kind)
            if let digest = job.digest { blobProblems.append((digest, problem)) } else { problems.append(problem) }
        }
        let actualTree = StacksTreeDigest.digest(of: treeEntries)
        if source.members[manifest.stacks.path]?.kind == .directory && actualTree != manifest.stacks.sha256 {
            problems.append(
                BundleProblem(
                    item: "stacks", path: source.describe(manifest.stacks.path),
                    kind: .corrupt(expected: manifest.stacks.sha256, actual: actualTree)))
        }

        let graph = BundleImageGraph(source: source, manifest: manifest, readable: verified)
        problems += graph.problems
        for (digest, problem) in blobProblems {
            var named = problem
            let uses = (fileUses[digest] ?? []) + (graph.uses[digest] ?? [])
            named.item = uses.isEmpty ? "blob \(digest)" : uses.joined(separator: ", ")
            problems.append(named)
        }
        problems += unexpectedMembers(source, manifest, extra: jobs.map(\.path))
        problems += source.archiveProblems.map {
            BundleProblem(item: "archive", path: source.location, kind: .inconsistent($0))
        }
        problems.sort { ($0.path, $0.label, $0.item) < ($1.path, $1.label, $1.item) }
        return BundleVerification(problems: problems, hashedMembers: hashedMembers, hashedBytes: hashedBytes)
    }

    /// `kubeadm (kubernetes 1.36.4 amd64)`.
    static func describe(_ file: BundleManifest.File) -> String {
        "\(file.name) (\(file.stack) \(file.version)\(file.arch.map { " " + $0 } ?? ""))"
    }

    // MARK: Hashing

    private struct HashJob: Sendable {
        var path: String
        /// What to call it in a problem; nil for a blob, named once the images are known.
        var item: String?
        var expectedSize: Int64?
        /// nil for a stacks file, whose digest counts only in the tree's.
        var expectedSHA256: String?
        /// `sha256:<hex>` for a listed blob.
        var digest: String?
    }

    private enum HashOutcome: Sendable {
        case hashed(digest: String, size: Int64)
        case missing
        case notAFile
        case wrongSize(Int64)
        case unreadable(String)
    }

    private static func problemKind(_ outcome: HashOutcome, _ job: HashJob) -> BundleProblem.Kind? {
        switch outcome {
        case .missing: return .missing
        case .notAFile: return .unreadable("not a regular file")
        case .unreadable(let reason): return .unreadable(reason)
        case .wrongSize(let actual): return .wrongSize(expected: job.expectedSize ?? 0, actual: actual)
        case .hashed(let digest, let size):
            if let expected = job.expectedSize, size != expected { return .wrongSize(expected: expected, actual: size) }
            if let expected = job.expectedSHA256, digest != expected {
                return .corrupt(expected: expected, actual: digest)
            }
            return nil
        }
    }

    /// Hashes the jobs, the largest first so that one large blob never runs alone at the end.
    private static func hash(_ jobs: [HashJob], in source: BundleSource, threads: Int) -> [HashOutcome] {
        let sizes = jobs.map { source.members[$0.path]?.available ?? 0 }
        let order = jobs.indices.sorted { sizes[$0] > sizes[$1] }
        let results = ParallelResults<HashOutcome>(count: jobs.count)
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, jobs.count))) { _ in
            while let next = results.claim() {
                let job = jobs[order[next]]
                results.store(hashOne(job, in: source), at: order[next])
            }
        }
        return results.values(default: .missing)
    }

    private static func hashOne(_ job: HashJob, in source: BundleSource) -> HashOutcome {
        guard let member = source.members[job.path] else { return .missing }
        guard member.kind == .file else { return .notAFile }
        if let expected = job.expectedSize, member.size != expected || member.available != member.size {
            return .wrongSize(member.available)
        }
        do {
            let (digest, size) = try source.sha256(of: member)
            return .hashed(digest: digest, size: size)
        } catch {
            return .unreadable("\(error)")
        }
    }

    // MARK: Unexpected members

    /// Members `bundle.json` does not account for: not the manifest, the binary, the OCI layout's files, a
    /// listed blob, the stacks, or a folder on the way to one of these.
    private static func unexpectedMembers(_ source: BundleSource, _ manifest: BundleManifest, extra: [String])
        -> [BundleProblem]
    {
        var expected = Set([BundleManifest.fileName, "oci/oci-layout", "oci/index.json"] + extra)
        var folders: Set<String> = []
        for path in expected {
            var components = path.split(separator: "/").dropLast()
            while !components.isEmpty {
                folders.insert(components.joined(separator: "/"))
                components = components.dropLast()
            }
        }
        folders.insert(manifest.stacks.path)
        expected.formUnion(folders)
        let stacksPrefix = manifest.stacks.path + "/"
        var problems: [BundleProblem] = []
        for member in source.members.values {
            if member.kind == .directory && member.path.hasPrefix(stacksPrefix) { continue }
            if member.kind != .other && expected.contains(member.path) { continue }
            problems.append(BundleProblem(item: member.path, path: source.describe(member.path), kind: .unexpected))
        }
        return problems
    }
}

/// Work handed out one index at a time to threads, and their results kept by index.
private final class ParallelResults<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var slots: [Value?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func claim() -> Int? {
        lock.withLock {
            guard next < slots.count else { return nil }
            defer { next += 1 }
            return next
        }
    }

    func store(_ value: Value, at index: Int) { lock.withLock { slots[index] = value } }

    func values(default value: Value) -> [Value] { lock.withLock { slots.map { $0 ?? value } } }
}
