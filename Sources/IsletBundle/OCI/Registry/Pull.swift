import Foundation

/// What a pull put in the layout for one image.
public struct PulledImage: Sendable {
    public let reference: ImageReference
    /// The layout's (and later the internal registry's) image: the index.json entry's descriptor.
    public let descriptor: Descriptor
    /// The digest the reference resolved to upstream; differs from `descriptor.digest` when the index was
    /// trimmed to the requested platforms.
    public let upstreamDigest: Digest
    /// The platforms present in the layout for this image.
    public let platforms: [Platform]
    /// Requested platforms the image does not offer (only when `requireAllPlatforms` was false).
    public let unavailablePlatforms: [Platform]
    public let blobsFetched: Int
    public let bytesFetched: Int64

    public var digest: Digest { descriptor.digest }
    public var mediaType: String { descriptor.mediaType }
    public var trimmed: Bool { upstreamDigest != descriptor.digest }
}

extension RegistryClient {
    /// Pulls `reference` into `layout` for `platforms` (all of them when empty), fetching only what the
    /// layout lacks.
    ///
    /// A tag is resolved with a HEAD (a digest is used as it is); a manifest already in the layout is read
    /// from there. Of an index only the entries serving the requested platforms are pulled. An index
    /// pulled whole keeps its bytes and digest; otherwise the layout records a trimmed index (the same
    /// document with only those entries, hence a new digest) and keeps the original beside it, named in
    /// the entry's `io.islet.image.upstream-digest`. Registries such as distribution refuse an index whose
    /// entries they do not hold, so the original could not be pushed to the internal registry.
    ///
    /// - Parameter requireAllPlatforms: when true, a requested platform the image lacks is an error;
    ///   when false, the image is pulled for the ones it has and the rest are reported.
    /// - Throws: `OCIError` naming the reference or URL: unknown image, refused credentials, digest or size
    ///   mismatch (nothing of that blob is stored), schema 1, platforms not available.
    @discardableResult
    public func pull(
        _ reference: ImageReference, platforms: [Platform], into layout: ImageLayout,
        requireAllPlatforms: Bool = true
    ) throws -> PulledImage {
        let location = location(registry: reference.registry, repository: reference.repository)
        let counter = TransferCount()
        let root = try resolve(reference, at: location, layout: layout, counter: counter)
        var wanted: [Descriptor] = []
        var present: [Platform] = []
        var unavailable: [Platform] = []
        var stored = root
        switch root.content {
        case .index(let index):
            let candidates = index.manifests.filter { MediaType.isImageManifest($0.mediaType) && $0.platform != nil }
            var chosen: [Descriptor] = []
            if platforms.isEmpty {
                chosen = candidates
            } else {
                for platform in platforms {
                    let best = candidates.filter { $0.platform!.serves(platform) }
                        .min { $0.platform!.preference(for: platform) < $1.platform!.preference(for: platform) }
                    if let best {
                        if !chosen.contains(best) { chosen.append(best) }
                    } else {
                        unavailable.append(platform)
                    }
                }
            }
            if chosen.isEmpty || (requireAllPlatforms && !unavailable.isEmpty) {
                throw OCIError.platformsNotAvailable(
                    reference: reference.description, requested: platforms,
                    available: candidates.compactMap(\.platform))
            }
            for child in chosen {
                let manifest = try manifest(child, at: location, layout: layout, counter: counter)
                guard case .image(let image) = manifest.content else {
                    throw OCIError.unsupportedManifest(
                        source: location.url("manifests/\(child.digest)"), mediaType: manifest.mediaType,
                        reason: "an index inside an index is not supported")
                }
                wanted += image.blobs
                present.append(child.platform!)
            }
            if chosen.count != index.manifests.count {
                let kept = Set(chosen.map(\.digest))
                stored = try root.trimmed { kept.contains($0.digest) }
                try layout.write(stored.bytes, mediaType: stored.mediaType)
            }
        case .image(let image):
            // A single-platform image says its platform in its config: fetch that first, then decide.
            let configBytes = try blob(image.config, at: location, layout: layout, counter: counter)
            let config = try? JSONDecoder().decode(ConfigPlatform.self, from: Data(configBytes))
            guard let platform = config?.platform else {
                throw OCIError.malformed(
                    source: location.url("blobs/\(image.config.digest)"), reason: "config names no os/architecture")
            }
            if !platforms.isEmpty {
                unavailable = platforms.filter { !platform.serves($0) }
                if unavailable.count == platforms.count || (requireAllPlatforms && !unavailable.isEmpty) {
                    throw OCIError.platformsNotAvailable(
                        reference: reference.description, requested: platforms, available: [platform])
                }
            }
            present = [platform]
            wanted = image.layers
        }

        var seen: Set<Digest> = []
        let missing = wanted.filter { seen.insert($0.digest).inserted && !layout.contains($0) }
        try forEachConcurrently(missing, width: options.parallelTransfers) { [self] descriptor in
            try download(descriptor, at: location, into: layout, counter: counter)
        }

        var entry = stored.descriptor
        entry.annotations = [Annotation.platforms: present.map(\.description).joined(separator: ",")]
        if stored.bytes != root.bytes {
            entry.annotations?[Annotation.upstreamDigest] = root.descriptor.digest.description
        }
        try layout.setEntry(entry, for: reference)
        return PulledImage(
            reference: reference, descriptor: entry, upstreamDigest: root.descriptor.digest, platforms: present,
            unavailablePlatforms: unavailable, blobsFetched: counter.blobs, bytesFetched: counter.bytes)
    }

    /// The manifest `reference` names: by digest from the layout when it is there, else from the registry
    /// (a tag resolved by HEAD first, so a manifest the layout holds is not downloaded again).
    private func resolve(
        _ reference: ImageReference, at location: Location, layout: ImageLayout, counter: TransferCount
    ) throws -> Manifest {
        var digest = reference.digest
        let url = location.url("manifests/\(reference.manifestReference)")
        let accept = [(name: "Accept", value: MediaType.manifestAccept)]
        if digest == nil {
            let (response, body) = try fetch(
                "HEAD", url, at: location, scope: Self.pullScope(location), headers: accept)
            guard response.status == 200 else { throw Self.failure("HEAD", url, response, body: body) }
            digest = response.header("docker-content-digest").flatMap { try? Digest($0) }
        }
        if let digest, let local = try layout.manifest(digest: digest) { return local }
        let (response, body) = try fetch("GET", url, at: location, scope: Self.pullScope(location), headers: accept)
        guard response.status == 200 else { throw Self.failure("GET", url, response, body: body) }
        let actual = Digest.of(body)
        if let expected = digest ?? response.header("docker-content-digest").flatMap({ try? Digest($0) }),
            expected != actual
        {
            throw OCIError.digestMismatch(source: url, expected: expected, actual: actual)
        }
        let manifest = try Manifest(bytes: body, contentType: response.header("content-type"), source: url)
        try layout.write(body, mediaType: manifest.mediaType)
        counter.add(Int64(body.count))
        return manifest
    }

    /// A child manifest of an index, from the layout or the registry, checked against its descriptor.
    private func manifest(
        _ descriptor: Descriptor, at location: Location, layout: ImageLayout, counter: TransferCount
    ) throws -> Manifest {
        let bytes = try blob(descriptor, at: location, layout: layout, counter: counter)
        return try Manifest(bytes: bytes, expected: descriptor, source: layout.blobPath(descriptor.digest))
    }

    /// A small blob (manifest or config), downloaded into the layout if absent, then read back verified.
    private func blob(
        _ descriptor: Descriptor, at location: Location, layout: ImageLayout, counter: TransferCount
    ) throws -> [UInt8] {
        if !layout.contains(descriptor) {
            try download(descriptor, at: location, into: layout, counter: counter)
        }
        return try layout.read(descriptor, limit: 16 << 20)
    }

    /// Streams one blob (or, for a manifest type, the manifest by digest) into the layout, verified.
    func download(
        _ descriptor: Descriptor, at location: Location, into layout: ImageLayout, counter: TransferCount
    ) throws {
        let kind = MediaType.isManifest(descriptor.mediaType) ? "manifests" : "blobs"
        let url = location.url("\(kind)/\(descriptor.digest)")
        let writer = try layout.blobWriter(expecting: descriptor, source: url)
        defer { writer.discard() }
        let headers = kind == "manifests" ? [(name: "Accept", value: MediaType.manifestAccept)] : []
        let shown = BoardTransfer(options.board, location: location, blob: descriptor)
        do {
            try options.retry.run { _ in
                // A blob cut off part-way is resumed with a Range request; the hash carries on where the bytes
                // stopped. A registry that answers 200 instead sends it all again.
                let offset = writer.count
                do {
                    let (response, errorBody) = try send(
                        "GET", url, at: location, scope: Self.pullScope(location), headers: headers,
                        resumeFrom: kind == "blobs" && offset > 0 ? offset : nil,
                        onSuccess: { head in
                            if head.status == 206 {
                                guard head.header("content-range")?.hasPrefix("bytes \(offset)-") == true else {
                                    throw OCIError.malformed(
                                        source: url, reason: "answered a range other than the one from byte \(offset)")
                                }
                            } else if writer.count > 0 {
                                try writer.reset()
                            }
                        },
                        receive: {
                            try writer.write($0)
                            shown.update(writer.count)
                        })
                    guard response.status == 200 || response.status == 206 else {
                        throw Self.failure("GET", url, response, body: errorBody)
                    }
                } catch let error where writer.count > offset {
                    throw RetryPolicy.Progressed(error)  // bytes arrived: the retry budget starts again
                }
            }
            try writer.commit()
        } catch {
            shown.end(failed: true)
            throw error
        }
        shown.end(failed: false)
        counter.add(descriptor.size)
    }
}

/// One blob transfer on the progress board, if there is one: named by repository and short digest.
struct BoardTransfer {
    let board: TransferBoard?
    let id: Int
    let total: Int64

    init(_ board: TransferBoard?, location: RegistryClient.Location, blob: Descriptor) {
        self.board = board
        total = blob.size
        id = board?.begin("\(location.repository) \(blob.digest.hex.prefix(12))", total: blob.size) ?? 0
        board?.update(id, DownloadProgress(bytes: 0, total: total))
    }

    func update(_ bytes: Int64) { board?.update(id, DownloadProgress(bytes: bytes, total: total)) }

    func end(failed: Bool) {
        if failed {
            board?.fail(id)
        } else {
            update(total)
            board?.finish(id)
        }
    }
}

/// Blobs and bytes moved by concurrent transfers.
final class TransferCount: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var blobs = 0
    private(set) var bytes: Int64 = 0

    func add(_ size: Int64) {
        lock.lock()
        blobs += 1
        bytes += size
        lock.unlock()
    }
}
