import Foundation

/// What a push sent to the registry.
public struct PushReport: Sendable, Equatable {
    /// Where the image went: `host/upstream-host/path:tag`.
    public let target: ImageReference
    /// The digest of the pushed image (its index or manifest), as in the layout.
    public let digest: Digest
    public let blobsSent: Int
    public let bytesSent: Int64
    /// Blobs the repository already had (a HEAD answered 200), not sent again.
    public let blobsSkipped: Int
    /// Blobs this client had seen in another repository of the registry, mounted from there, not sent.
    public let blobsMounted: Int
    public let manifestsSent: Int
}

extension RegistryClient {
    /// Pushes the image the layout holds as `reference` (its upstream name) to `target`, usually
    /// `reference.internalReference(at: host)`; `target.registry` is the host[:port] pushed to.
    ///
    /// Each blob is asked for with a HEAD first and uploaded only when the registry lacks it (POST, then
    /// one PUT of the whole file); child manifests go before the index that names them, and the tag last,
    /// so the registry never holds a tag whose content is incomplete. Running it again sends nothing.
    /// - Throws: `.notInLayout`, `.missingBlob` (naming the blob) before anything is sent; registry errors
    ///   with the registry's codes and messages.
    @discardableResult
    public func push(_ reference: ImageReference, from layout: ImageLayout, to target: ImageReference) throws
        -> PushReport
    {
        guard let root = try layout.entry(for: reference) else {
            throw OCIError.notInLayout(reference: reference.description, layout: layout.path)
        }
        let closure = try layout.closure(of: root)
        if let missing = closure.missing.first {
            throw OCIError.missingBlob(missing.digest, image: reference.description, layout: layout.path)
        }
        let location = location(registry: target.registry, repository: target.repository)
        let manifests = closure.all.filter { MediaType.isManifest($0.mediaType) }
        let blobs = closure.all.filter { !MediaType.isManifest($0.mediaType) }
        let sent = TransferCount()
        let skipped = TransferCount()
        let mounted = TransferCount()
        try forEachConcurrently(blobs, width: options.parallelTransfers) { [self] blob in
            switch try upload(
                .file(path: layout.blobPath(blob.digest), offset: 0, length: blob.size), as: blob, to: location)
            {
            case .sent: sent.add(blob.size)
            case .present: skipped.add(blob.size)
            case .mounted: mounted.add(blob.size)
            }
        }
        // The walk lists a parent before its children: push in reverse, the root last and by tag.
        var manifestsSent = 0
        for manifest in manifests.reversed() {
            let isRoot = manifest.digest == root.digest
            let tagOrDigest = isRoot ? (target.tag ?? manifest.digest.description) : manifest.digest.description
            if try putManifest(
                layout.read(manifest, limit: 4 << 20), as: manifest, tagOrDigest: tagOrDigest, at: location)
            {
                manifestsSent += 1
            }
        }
        return PushReport(
            target: target, digest: root.digest, blobsSent: sent.blobs, bytesSent: sent.bytes,
            blobsSkipped: skipped.blobs, blobsMounted: mounted.blobs, manifestsSent: manifestsSent)
    }

    /// Pushes one blob of the layout to `repository` of `registry` (file artifacts are blobs).
    /// - Returns: whether it was sent (false: the registry had it).
    @discardableResult
    public func pushBlob(_ blob: Descriptor, from layout: ImageLayout, to registry: String, repository: String)
        throws -> Bool
    {
        guard layout.contains(blob) else {
            throw OCIError.missingBlob(blob.digest, image: repository, layout: layout.path)
        }
        let location = location(registry: registry, repository: repository)
        let body = HTTPBody.file(path: layout.blobPath(blob.digest), offset: 0, length: blob.size)
        return try upload(body, as: blob, to: location) == .sent
    }

    /// Fetches one blob by digest from `repository` of `registry` into the layout, verified.
    /// - Returns: whether it was downloaded (false: the layout had it).
    @discardableResult
    public func fetchBlob(_ blob: Descriptor, from registry: String, repository: String, into layout: ImageLayout)
        throws -> Bool
    {
        guard !layout.contains(blob) else { return false }
        try download(
            blob, at: location(registry: registry, repository: repository), into: layout, counter: TransferCount())
        return true
    }

    /// What `upload` did with a blob.
    enum UploadOutcome {
        case present
        case mounted
        case sent
    }

    /// HEADs the blob, and uploads `body` when the repository lacks it: POST for an upload session, then
    /// one PUT with the digest, which the registry checks. A blob this client saw in another repository
    /// of the same registry is mounted from there instead (no bytes sent), unless the registry uses
    /// tokens, whose scope would have to cover both repositories.
    func upload(_ body: HTTPBody, as blob: Descriptor, to location: Location) throws -> UploadOutcome {
        let scope = Self.pushScope(location)
        let blobURL = location.url("blobs/\(blob.digest)")
        let (head, headBody) = try fetch("HEAD", blobURL, at: location, scope: scope)
        if head.status == 200 {
            seenBlobs.record(blob.digest, at: location)
            return .present
        }
        guard head.status == 404 else { throw Self.failure("HEAD", blobURL, head, body: headBody) }

        var startURL = location.url("blobs/uploads/")
        if !authenticator.usesTokens(host: location.host),
            let source = seenBlobs.repository(of: blob.digest, at: location)
        {
            startURL += "?mount=\(blob.digest)&from=\(source)"
        }
        let (started, startBody) = try fetch("POST", startURL, at: location, scope: scope)
        if started.status == 201 {
            seenBlobs.record(blob.digest, at: location)
            return .mounted
        }
        guard started.status == 202, let session = started.header("location") else {
            throw Self.failure("POST", startURL, started, body: startBody)
        }
        let sessionURL = session.hasPrefix("/") ? location.baseURL + session : session
        let putURL = sessionURL + (sessionURL.contains("?") ? "&" : "?") + "digest=\(blob.digest)"
        // libcurl reads the file as it sends: the board sees the blob start and end.
        let shown = BoardTransfer(options.board, location: location, blob: blob)
        let put: HTTPResponse
        let putBody: [UInt8]
        do {
            (put, putBody) = try fetch(
                "PUT", putURL, at: location, scope: scope,
                headers: [(name: "Content-Type", value: "application/octet-stream")], body: body)
        } catch {
            shown.end(failed: true)
            throw error
        }
        shown.end(failed: put.status != 201)
        guard put.status == 201 else { throw Self.failure("PUT", putURL, put, body: putBody) }
        seenBlobs.record(blob.digest, at: location)
        return .sent
    }

    /// PUTs a manifest under `tagOrDigest` unless the registry already serves exactly it there.
    /// - Returns: whether it was sent.
    func putManifest(_ bytes: [UInt8], as manifest: Descriptor, tagOrDigest: String, at location: Location) throws
        -> Bool
    {
        let scope = Self.pushScope(location)
        let url = location.url("manifests/\(tagOrDigest)")
        let (head, _) = try fetch(
            "HEAD", url, at: location, scope: scope, headers: [(name: "Accept", value: MediaType.manifestAccept)])
        if head.status == 200, head.header("docker-content-digest") == manifest.digest.description { return false }
        let (put, putBody) = try fetch(
            "PUT", url, at: location, scope: scope, headers: [(name: "Content-Type", value: manifest.mediaType)],
            body: .bytes(bytes))
        guard put.status == 201 else { throw Self.failure("PUT", url, put, body: putBody) }
        if let answered = put.header("docker-content-digest"), answered != manifest.digest.description {
            throw OCIError.digestMismatch(
                source: redactedURL(url), expected: manifest.digest,
                actual: (try? Digest(answered)) ?? manifest.digest)
        }
        return true
    }
}
