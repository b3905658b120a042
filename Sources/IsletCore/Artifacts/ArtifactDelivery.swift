import Foundation

/// Brings file artifacts to the nodes that need them during one apply, each byte over the operator's link
/// once where a stack declares an artifact store:
/// - a step that runs before the store answers (the store's own install, say) gets its files over SFTP;
/// - every other step's node fetches them from the store over the LAN: islet puts each file on the store
///   node once (SFTP, unless it holds it) and the store node pushes it into its own registry.
/// Either way the node checks the sha256 before the file takes its path by digest, and each node is
/// asked once which files it already holds.
actor ArtifactDelivery {
    /// How a step's script gets one file.
    enum Route: Sendable, Equatable {
        /// The node holds it already.
        case inPlace
        /// Uploaded to this staging path on the node.
        case staged(String)
        /// Fetched from the store.
        case store(StoreAccess)
    }

    /// How a node reaches the store: its base URL (`http://HOST:PORT` or `https://`), the authority to trust
    /// (PEM), the user to be.
    struct StoreAccess: Sendable, Equatable {
        var url: String
        var authority: String?
        var username: String?
        var password: String?

        /// Shell lines that write, into the folder `directory` (a shell expression), what curl needs: the authority
        /// and a curl config (`curl -K`) naming it and the user, made private first, so that no password reaches a
        /// process's argv. Afterwards `$k` is the config's path.
        func curlSetup(in directory: String) -> String {
            func quoted(_ text: String) -> String {
                "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    + "\""
            }
            var lines = ["k=\(directory)/store.curl"]
            var config = ["(umask 077 && {", ":"]
            if let authority {
                lines.append("printf '%s' \(ShellQuoting.quote(authority)) > \(directory)/store-ca.pem || exit 3")
                config.append("printf 'cacert = \"%s\"\\n' \(directory)/store-ca.pem")
            }
            if let username, let password {
                config.append("printf '%s\\n' \(ShellQuoting.quote("user = " + quoted(username + ":" + password)))")
            }
            config.append("} > \"$k\") || exit 3")
            return (lines + config).joined(separator: "\n")
        }
    }

    /// The registry repository file artifacts are pushed to: blobs are addressed by digest, the name only
    /// keeps them apart from images.
    static let storeRepository = "islet/files"
    /// The OCI empty descriptor's digest: the sha256 of `{}`.
    static let emptyConfigDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

    private let source: (any ArtifactSource)?
    private let graph: DesiredGraph
    private let connections: Connections
    /// Per node: every digest this apply's steps may read there, asked about in one go.
    private let wanted: [String: Set<String>]
    private var present: [String: Task<Set<String>, Error>] = [:]
    /// Per node and digest: the staged upload, shared by every step that needs it.
    private var uploads: [String: Task<String, Error>] = [:]
    /// Per digest: its publication into the store.
    private var published: [String: Task<Void, Error>] = [:]
    /// Per image reference: its push into the store.
    private var pushed: [String: Task<Void, Error>] = [:]
    /// What crossed the operator's link, for the apply's summary.
    private(set) var traffic = ArtifactTraffic()
    /// Told one line per transfer, for the run log.
    private let note: @Sendable (String) -> Void
    /// A generated secret's variable (`STEP`, secret, variable), once islet has made it: the store's authority
    /// and password come from its own steps, which run before it answers.
    private let secretVariable: @Sendable (StepID, SecretDeclaration, String) async -> String?

    init(
        source: (any ArtifactSource)?, graph: DesiredGraph, connections: Connections, wanted: [String: Set<String>],
        secretVariable: @escaping @Sendable (StepID, SecretDeclaration, String) async -> String? = { _, _, _ in nil },
        note: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.note = note
        self.secretVariable = secretVariable
        self.source = source
        self.graph = graph
        self.connections = connections
        self.wanted = wanted
    }

    /// What the changes of a plan may read: the file artifacts of every step that will act, and on the
    /// store node every file that other nodes will fetch.
    static func wanted(by plan: Plan, graph: DesiredGraph) -> [String: Set<String>] {
        var wanted: [String: Set<String>] = [:]
        let store = graph.artifactStoreNode
        for change in plan.actionable where change.action != .remove && change.action != .adopt {
            guard let step = graph.catalog.step(change.step) else { continue }
            for file in graph.artifacts.files(readBy: step, on: change.node) {
                wanted[change.node, default: []].insert(file.sha256)
                if let store, !graph.catalog.runsBeforeStore(step.id) {
                    wanted[store.node.name, default: []].insert(file.sha256)
                }
            }
        }
        return wanted
    }

    /// The route of each file `step` reads on `node`.
    /// - Throws: `ArtifactDeliveryError` when a file the node lacks is not in the bundle (or there is none).
    func routes(for files: [(sha256: String, label: String)], step: StepID, on node: String, session: any NodeSession)
        async throws -> [String: Route]
    {
        guard !files.isEmpty else { return [:] }
        var routes: [String: Route] = [:]
        let held = try await holdings(of: node, session: session)
        let store = graph.catalog.runsBeforeStore(step) ? nil : graph.artifactStoreNode
        for file in files where routes[file.sha256] == nil {
            if held.contains(file.sha256) {
                routes[file.sha256] = .inPlace
            } else if let store {
                // Publishing puts the file in place on the store node first: that node needs no fetch.
                try await publish(file, store: store)
                if store.node.name == node {
                    routes[file.sha256] = .inPlace
                } else {
                    routes[file.sha256] = .store(try await access(to: store))
                    traffic.storeFetches += 1
                }
            } else {
                routes[file.sha256] = .staged(try await upload(file, to: node, session: session))
            }
        }
        return routes
    }

    /// Pushes each image `step` reads into the store, once per apply, through a port forward to the store
    /// node (its registry need not be reachable from the operator's machine).
    func pushImages(_ references: [String], step: StepID) async throws {
        guard !references.isEmpty else { return }
        guard let store = graph.artifactStoreNode, !graph.catalog.runsBeforeStore(step) else {
            throw ArtifactDeliveryError.noStore(step: step.description)
        }
        for reference in references { try await push(reference, store: store) }
    }

    /// The store's URL, authority (when it speaks HTTPS) and user (when it asks for one).
    private func access(to store: DesiredGraph.ArtifactStoreNode) async throws -> StoreAccess {
        func made(_ step: StepID, _ secret: SecretDeclaration) async throws -> String {
            guard let value = await secretVariable(step, secret, secret.variables[0]), !value.isEmpty else {
                throw ArtifactDeliveryError.store(
                    node: store.node.name,
                    reason:
                        "its secret \(step).\(secret.name) is not made yet; expected its step to run before the store answers"
                )
            }
            return value
        }
        var access = StoreAccess(url: store.url)
        if let authority = store.authority { access.authority = try await made(authority.step, authority.secret) }
        if let credentials = store.credentials {
            access.username = credentials.username
            access.password = try await made(credentials.password.step, credentials.password.secret)
        }
        return access
    }

    private func push(_ reference: String, store: DesiredGraph.ArtifactStoreNode) async throws {
        if let running = pushed[reference] { return try await running.value }
        let source = self.source
        let connections = self.connections
        let access = try await access(to: store)
        let task = Task { () throws in
            guard let source else {
                throw ArtifactDeliveryError.noBundle(label: "image \(reference)", node: store.node.name)
            }
            let session: any NodeSession
            switch await connections.session(for: store.node.connection) {
            case .success(let open): session = open
            case .failure(let failure): throw ArtifactDeliveryError.store(node: store.node.name, reason: "\(failure)")
            }
            let forward = try await session.forward(toHost: store.host, port: store.port)
            defer { Task { await forward.close() } }
            do {
                let host = store.host.contains(":") ? "[\(store.host)]" : store.host
                var endpoint = StoreEndpoint(
                    authority: "\(host):\(store.port)", connectAddress: forward.address,
                    certificateAuthority: access.authority)
                if let username = access.username, let password = access.password {
                    endpoint.credentials = StoreEndpoint.Credentials(username: username, password: password)
                }
                let line = try source.pushImage(reference: reference, to: endpoint)
                self.note("image pushed to the store on \(store.node.name): \(line)")
            } catch {
                let through = forward.failures.last.map { " (\($0))" } ?? ""
                throw ArtifactDeliveryError.store(
                    node: store.node.name, reason: "could not push image \(reference): \(error)\(through)")
            }
        }
        pushed[reference] = task
        do {
            try await task.value
        } catch {
            pushed[reference] = nil
            throw error
        }
        traffic.imagesPushed += 1
    }

    private func holdings(of node: String, session: any NodeSession) async throws -> Set<String> {
        if let known = present[node] { return try await known.value }
        let digests = wanted[node, default: []]
        let task = Task { try await Self.ask(session, which: digests) }
        present[node] = task
        return try await task.value
    }

    private func upload(_ file: (sha256: String, label: String), to node: String, session: any NodeSession)
        async throws -> String
    {
        let key = node + " " + file.sha256
        if let running = uploads[key] { return try await running.value }
        let task = Task { () throws -> String in
            guard let source else { throw ArtifactDeliveryError.noBundle(label: file.label, node: node) }
            guard let local = try source.localFile(sha256: file.sha256) else {
                throw ArtifactDeliveryError.notInBundle(label: file.label, sha256: file.sha256)
            }
            let result = try await session.upload(Upload(.file(local), to: .staging("artifact.\(file.sha256)")))
            // The task runs on this actor: counted once, whoever else waits for it.
            traffic.filesSent += 1
            traffic.bytesSent += result.bytesSent
            note("artifact \(file.label) sent to \(node): \(result.bytesSent) bytes")
            return result.path
        }
        uploads[key] = task
        return try await task.value
    }

    /// Puts the file on the store node (unless it holds it) and has that node push it into the store.
    private func publish(_ file: (sha256: String, label: String), store: DesiredGraph.ArtifactStoreNode)
        async throws
    {
        if let running = published[file.sha256] { return try await running.value }
        let task = Task { () throws in
            let session: any NodeSession
            switch await connections.session(for: store.node.connection) {
            case .success(let open): session = open
            case .failure(let failure): throw ArtifactDeliveryError.store(node: store.node.name, reason: "\(failure)")
            }
            let held = try await holdings(of: store.node.name, session: session)
            let staged = held.contains(file.sha256) ? "" : try await upload(file, to: store.node.name, session: session)
            let printed = OutputCollector()
            let script = Self.publishScript(
                root: session.filesystemRoot, staged: staged, sha256: file.sha256, access: try await access(to: store))
            let status = try await session.run(script: script) { chunk in printed.append(chunk.bytes) }
            guard status.code == 0 else {
                let said = printed.text.trimmingCharacters(in: .whitespacesAndNewlines)
                throw ArtifactDeliveryError.store(
                    node: store.node.name,
                    reason: "could not publish \(file.label) to \(store.url) (\(status)): \(said)")
            }
        }
        published[file.sha256] = task
        do {
            try await task.value
        } catch {
            published[file.sha256] = nil  // a later step may find the store up: it tries again
            throw error
        }
    }

    /// One short script: which of these digests the node holds at their paths.
    private static func ask(_ session: any NodeSession, which digests: Set<String>) async throws -> Set<String> {
        guard !digests.isEmpty else { return [] }
        let directory = "\"$ISLET_ROOT\"" + ShellQuoting.quote(ArtifactNeeds.nodeDirectory)
        let script =
            "ISLET_ROOT=\(ShellQuoting.quote(session.filesystemRoot))\n"
            + "for h in \(digests.sorted().joined(separator: " ")); do [ -f \(directory)/\"$h\" ] && echo \"$h\"; done; exit 0\n"
        let printed = OutputCollector()
        let status = try await session.run(script: script) { chunk in
            if chunk.stream == .stdout { printed.append(chunk.bytes) }
        }
        guard status.code == 0 else { throw ArtifactDeliveryError.probe(status: "\(status)") }
        return Set(printed.text.split(separator: "\n").map(String.init).filter(BundleManifest.isSHA256Hex))
    }

    /// On the store node: put the staged file at its path by digest (sha256 checked), then push it into the
    /// store's registry unless the registry has it (blob upload: POST, then PUT of the file by digest).
    static func publishScript(root: String, staged: String, sha256 h: String, access: StoreAccess) -> String {
        """
        set -u
        ISLET_ROOT=\(ShellQuoting.quote(root)); s=\(ShellQuoting.quote(staged)); u=\(ShellQuoting.quote(access.url))
        a="$ISLET_ROOT"\(ShellQuoting.quote(ArtifactNeeds.nodeDirectory)); f="$a/\(h)"
        # Every curl trusts exactly islet's authority for the store and gives its user, from a private config.
        mkdir -p "$a" || exit 3
        \(access.curlSetup(in: "\"$a/..\""))
        curl() { command curl -K "$k" "$@"; }
        if [ ! -f "$f" ]; then
          [ -n "$s" ] && mkdir -p "$a" && install -m 0644 "$s" "$a/.\(h).new" || { echo "cannot place the file"; exit 3; }
          x=$(sha256sum < "$a/.\(h).new"); x=${x%% *}
          [ "$x" = \(h) ] || { rm -f "$a/.\(h).new" "$s"; echo "sha256 on the node is $x"; exit 3; }
          mv -f "$a/.\(h).new" "$f"
        fi
        [ -z "$s" ] || rm -f "$s"
        r="$u/v2/\(storeRepository)"
        push() {  # DIGEST FILE: a blob the registry lacks, by POST then PUT
          curl -fsS -o /dev/null -I "$r/blobs/$1" 2>/dev/null && return 0
          l=$(curl -fsS -X POST -D - -o /dev/null "$r/blobs/uploads/" | tr -d '\\r' | sed -n 's/^[Ll]ocation: *//p')
          [ -n "$l" ] || { echo "the store gave no upload location"; exit 4; }
          case $l in /*) l="$u$l" ;; esac
          case $l in *\\?*) l="$l&digest=$1" ;; *) l="$l?digest=$1" ;; esac
          curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' -T "$2" "$l"
        }
        push sha256:\(h) "$f"
        # A manifest names the file, so the registry's garbage collection keeps it: an OCI artifact whose one
        # layer is the file, with the empty config, tagged by the file's digest.
        t=sha256-\(h)
        curl -fsS -o /dev/null -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$r/manifests/$t" 2>/dev/null && exit 0
        e="$a/../empty.json"; printf '{}' > "$e"
        push \(Self.emptyConfigDigest) "$e"
        m='{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.islet.file.v1",'
        m="$m"'"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"\(Self.emptyConfigDigest)","size":2},'
        m="$m"'"layers":[{"mediaType":"application/octet-stream","digest":"sha256:\(h)","size":'"$(stat -c %s "$f")"'}]}'
        printf '%s' "$m" | curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \\
          --data-binary @- "$r/manifests/$t"
        """
    }
}

/// What one apply's artifact delivery moved, for its summary.
public struct ArtifactTraffic: Sendable, Equatable {
    /// Files uploaded from the operator's machine, and their bytes.
    public var filesSent = 0
    public var bytesSent: Int64 = 0
    /// Files nodes fetched from the artifact store over the LAN.
    public var storeFetches = 0
    public var imagesPushed = 0

    public var isEmpty: Bool { filesSent == 0 && storeFetches == 0 && imagesPushed == 0 }

    /// `Artifacts: 1 file sent (64.0 MiB), 3 fetched from the store, 2 images pushed.`
    public var summary: String {
        let mib = String(format: "%.1f", Double(bytesSent) / 1_048_576)
        return
            "Artifacts: \(filesSent) file(s) sent from here (\(mib) MiB), \(storeFetches) fetched by nodes from the store, "
            + "\(imagesPushed) image(s) pushed to the store."
    }
}

enum ArtifactDeliveryError: Error, CustomStringConvertible {
    case noBundle(label: String, node: String)
    case notInBundle(label: String, sha256: String)
    case probe(status: String)
    case store(node: String, reason: String)
    case noImages(reference: String)
    case noStore(step: String)

    var description: String {
        switch self {
        case .noBundle(let label, let node):
            return "artifact \(label) is not on node \(node) yet; expected --bundle DIR|FILE.tar holding it"
        case .notInBundle(let label, let sha256):
            return
                "artifact \(label) (sha256 \(sha256)) is not in the bundle; expected a bundle made for these stacks and versions (islet bundle create)"
        case .probe(let status):
            return "could not ask the node which artifacts it holds (\(status))"
        case .store(let node, let reason):
            return "the artifact store on \(node): \(reason)"
        case .noImages(let reference):
            return "image \(reference): this artifact source holds no images; expected --bundle DIR|FILE.tar"
        case .noStore(let step):
            return
                "step \(step) reads images, but no stack declares an artifactStore to push them to (or the store needs this step first); expected an artifactStore: in the stack that runs the registry"
        }
    }
}
