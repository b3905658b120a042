import Foundation

/// Brings file artifacts to the nodes that need them during one apply: it asks each node once which it
/// already has, uploads each missing one once per node, and the step's script moves it into place at its
/// path by digest after checking the sha256 there.
actor ArtifactDelivery {
    private let source: (any ArtifactSource)?
    /// Per node: every digest this apply's steps may read there, asked about in one go.
    private let wanted: [String: Set<String>]
    /// Per node: the digests it already holds (asked once, on first need).
    private var present: [String: Task<Set<String>, Error>] = [:]
    /// Per node and digest: the staged upload, shared by every step that needs it.
    private var uploads: [String: Task<String, Error>] = [:]

    init(source: (any ArtifactSource)?, wanted: [String: Set<String>]) {
        self.source = source
        self.wanted = wanted
    }

    /// What the changes of a plan may read: the file artifacts of every step that will act.
    static func wanted(by plan: Plan, graph: DesiredGraph) -> [String: Set<String>] {
        var wanted: [String: Set<String>] = [:]
        for change in plan.actionable where change.action != .remove && change.action != .adopt {
            guard let step = graph.catalog.step(change.step) else { continue }
            for file in graph.artifacts.files(readBy: step, on: change.node) {
                wanted[change.node, default: []].insert(file.sha256)
            }
        }
        return wanted
    }

    /// The staged path of each digest the node lacks (nil entries: already in place), in `digests` order.
    /// - Throws: `ArtifactDeliveryError` when the node lacks a file and the bundle does not hold it.
    func stage(_ digests: [String], on node: String, session: any NodeSession, labels: [String: String]) async throws
        -> [String: String]
    {
        guard !digests.isEmpty else { return [:] }
        let held = try await holdings(of: node, session: session, asking: wanted[node, default: []].union(digests))
        var staged: [String: String] = [:]
        for digest in digests where !held.contains(digest) {
            staged[digest] = try await upload(digest, to: node, session: session, label: labels[digest] ?? digest)
        }
        return staged
    }

    private func holdings(of node: String, session: any NodeSession, asking digests: Set<String>) async throws
        -> Set<String>
    {
        if let known = present[node] { return try await known.value }
        let task = Task { try await Self.ask(session, which: digests) }
        present[node] = task
        return try await task.value
    }

    private func upload(_ digest: String, to node: String, session: any NodeSession, label: String) async throws
        -> String
    {
        let key = node + " " + digest
        if let running = uploads[key] { return try await running.value }
        let source = self.source
        let task = Task { () throws -> String in
            guard let source else { throw ArtifactDeliveryError.noBundle(label: label, node: node) }
            guard let local = try source.localFile(sha256: digest) else {
                throw ArtifactDeliveryError.notInBundle(label: label, sha256: digest)
            }
            return try await session.upload(file: local, as: "artifact.\(digest)")
        }
        uploads[key] = task
        return try await task.value
    }

    /// One short script: which of these digests the node holds at their paths.
    private static func ask(_ session: any NodeSession, which digests: Set<String>) async throws -> Set<String> {
        let directory = "\"$ISLET_ROOT\"" + ShellQuoting.quote(ArtifactNeeds.nodePath(sha256: ""))
        let script =
            "ISLET_ROOT=\(ShellQuoting.quote(session.filesystemRoot))\n"
            + "for h in \(digests.sorted().joined(separator: " ")); do [ -f \(directory)\"$h\" ] && echo \"$h\"; done; exit 0\n"
        let printed = OutputCollector()
        let status = try await session.run(script: script) { chunk in
            if chunk.stream == .stdout { printed.append(chunk.bytes) }
        }
        guard status.code == 0 else { throw ArtifactDeliveryError.probe(status: "\(status)") }
        return Set(printed.text.split(separator: "\n").map(String.init).filter(isSHA256Hex))
    }
}

enum ArtifactDeliveryError: Error, CustomStringConvertible {
    case noBundle(label: String, node: String)
    case notInBundle(label: String, sha256: String)
    case probe(status: String)

    var description: String {
        switch self {
        case .noBundle(let label, let node):
            return "artifact \(label) is not on node \(node) yet; expected --bundle DIR|FILE.tar holding it"
        case .notInBundle(let label, let sha256):
            return
                "artifact \(label) (sha256 \(sha256)) is not in the bundle; expected a bundle made for these stacks and versions (islet bundle create)"
        case .probe(let status):
            return "could not ask the node which artifacts it holds (\(status))"
        }
    }
}
