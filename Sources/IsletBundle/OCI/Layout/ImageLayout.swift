import Foundation

/// One image of a layout, as a pull recorded it in index.json.
public struct LayoutImage: Sendable {
    /// The upstream reference (the entry's ref.name).
    public let reference: ImageReference
    /// The index or manifest stored for it: digest, media type, size.
    public let descriptor: Descriptor
    /// The digest the reference resolved to upstream (differs from `descriptor.digest` when trimmed).
    public let upstreamDigest: Digest
    /// The platforms present.
    public let platforms: [Platform]
}

/// An OCI image layout (`DIR/oci`): `oci-layout`, `index.json` with one entry per image named by its
/// upstream reference (`org.opencontainers.image.ref.name`), and every blob once under
/// `blobs/sha256/<hex>`, whichever images share it. Blob files are only ever complete and verified
/// (see `BlobWriter`), so a blob that exists with its size is trusted without re-hashing.
public final class ImageLayout: @unchecked Sendable {
    /// The layout's folder (`DIR/oci`).
    public let path: String
    let blobDirectory: String
    private let indexLock = NSLock()

    private init(path: String) {
        self.path = path
        blobDirectory = "\(path)/blobs/sha256"
    }

    /// Opens the layout at `path`, creating it (and its parents) when absent. Partial files left by
    /// processes that no longer run are removed.
    public static func create(at path: String) throws -> ImageLayout {
        let layout = ImageLayout(path: path)
        do {
            try FileManager.default.createDirectory(atPath: layout.blobDirectory, withIntermediateDirectories: true)
        } catch {
            throw OCIError.io(
                path: layout.blobDirectory, reason: "cannot create the folder (\(error.localizedDescription))")
        }
        let marker = "\(path)/oci-layout"
        if !FileManager.default.fileExists(atPath: marker) {
            try layout.writeAtomically(Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), to: marker)
        }
        if !FileManager.default.fileExists(atPath: layout.indexPath) {
            try layout.writeIndex(entries: [])
        }
        layout.removeAbandonedPartials()
        return layout
    }

    /// Opens an existing layout.
    /// - Throws: `.io` or `.malformed` when `path` holds no OCI layout of version 1.0.0.
    public static func open(at path: String) throws -> ImageLayout {
        let layout = ImageLayout(path: path)
        let marker = "\(path)/oci-layout"
        let bytes = try layout.readFile(marker, limit: 4096)
        struct Marker: Decodable { var imageLayoutVersion: String }
        guard let version = try? JSONDecoder().decode(Marker.self, from: Data(bytes)).imageLayoutVersion,
            version == "1.0.0"
        else {
            throw OCIError.malformed(source: marker, reason: "expected {\"imageLayoutVersion\": \"1.0.0\"}")
        }
        return layout
    }

    public var indexPath: String { "\(path)/index.json" }

    public func blobPath(_ digest: Digest) -> String { "\(blobDirectory)/\(digest.hex)" }

    /// Whether the blob is present with the expected size.
    public func contains(_ descriptor: Descriptor) -> Bool {
        var info = stat()
        return stat(blobPath(descriptor.digest), &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
            && Int64(info.st_size) == descriptor.size
    }

    /// Starts writing the blob `expected` from `source` (named in errors).
    public func blobWriter(expecting expected: Descriptor, source: String) throws -> BlobWriter {
        try BlobWriter(layout: self, expected: expected, source: source)
    }

    /// Stores `bytes` as a blob of `mediaType` (once: a blob already present is left as it is).
    @discardableResult
    public func write(_ bytes: [UInt8], mediaType: String) throws -> Descriptor {
        let descriptor = Descriptor(mediaType: mediaType, bytes: bytes)
        if contains(descriptor) { return descriptor }
        let writer = try blobWriter(expecting: descriptor, source: "\(mediaType) \(descriptor.digest)")
        try bytes.withUnsafeBytes { try writer.write($0) }
        try writer.commit()
        return descriptor
    }

    /// Reads a whole blob (a manifest or config, never a layer), checking its size and digest.
    public func read(_ descriptor: Descriptor, limit: Int = 16 << 20) throws -> [UInt8] {
        let path = blobPath(descriptor.digest)
        guard descriptor.size <= Int64(limit) else {
            throw OCIError.malformed(source: path, reason: "\(descriptor.size) bytes, more than \(limit) read whole")
        }
        let bytes = try readFile(path, limit: limit)
        guard Int64(bytes.count) == descriptor.size else {
            throw OCIError.sizeMismatch(source: path, expected: descriptor.size, actual: Int64(bytes.count))
        }
        let actual = Digest.of(bytes)
        guard actual == descriptor.digest else {
            throw OCIError.digestMismatch(source: path, expected: descriptor.digest, actual: actual)
        }
        return bytes
    }

    /// Reads and parses the manifest or index `descriptor` names.
    public func manifest(_ descriptor: Descriptor) throws -> Manifest {
        try Manifest(bytes: read(descriptor, limit: 4 << 20), expected: descriptor, source: blobPath(descriptor.digest))
    }

    /// The manifest stored under `digest`, or nil when the layout does not hold it (size unknown: a
    /// reference by digest says none).
    public func manifest(digest: Digest) throws -> Manifest? {
        let path = blobPath(digest)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let bytes = try readFile(path, limit: 4 << 20)
        return try Manifest(
            bytes: bytes, expected: Descriptor(mediaType: "", digest: digest, size: Int64(bytes.count)), source: path)
    }

    /// Every blob present, sorted by digest: files of the layout named by a sha256 (partial files skipped).
    public func blobs() throws -> [(digest: Digest, size: Int64)] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: blobDirectory)
        } catch {
            throw OCIError.io(path: blobDirectory, reason: "cannot list (\(error.localizedDescription))")
        }
        return names.compactMap { name -> (Digest, Int64)? in
            guard let digest = try? Digest(sha256Hex: name) else { return nil }
            var info = stat()
            guard stat("\(blobDirectory)/\(name)", &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            return (digest, Int64(info.st_size))
        }.sorted { $0.0 < $1.0 }
    }

    // MARK: index.json

    /// The entries of index.json: one descriptor per image, in the order they are stored.
    public func entries() throws -> [Descriptor] {
        let bytes = try readFile(indexPath, limit: 64 << 20)
        do {
            return try JSONDecoder().decode(ImageIndex.self, from: Data(bytes)).manifests
        } catch {
            throw OCIError.malformed(source: indexPath, reason: "not an OCI index (\(Manifest.summary(error)))")
        }
    }

    /// The entry whose ref.name is `reference` (the normalised upstream reference).
    public func entry(for reference: ImageReference) throws -> Descriptor? {
        try entries().first { $0.annotations?[Annotation.refName] == reference.description }
    }

    /// Records `descriptor` as the image `reference`, replacing the entry of that name if there is one.
    public func setEntry(_ descriptor: Descriptor, for reference: ImageReference) throws {
        var entry = descriptor
        entry.annotations = (entry.annotations ?? [:]).merging([Annotation.refName: reference.description]) { $1 }
        indexLock.lock()
        defer { indexLock.unlock() }
        var entries = try entries().filter { $0.annotations?[Annotation.refName] != reference.description }
        entries.append(entry)
        entries.sort { ($0.annotations?[Annotation.refName] ?? "") < ($1.annotations?[Annotation.refName] ?? "") }
        try writeIndex(entries: entries)
    }

    /// The images index.json names, as pulls recorded them (for the bundle manifest and for checks
    /// before a push). Entries without a valid upstream reference are left out: islet never writes them.
    public func images() throws -> [LayoutImage] {
        try entries().compactMap { entry in
            guard let name = entry.annotations?[Annotation.refName],
                let reference = try? ImageReference(parsing: name)
            else { return nil }
            let platforms = (entry.annotations?[Annotation.platforms] ?? "").split(separator: ",")
                .compactMap { try? Platform(parsing: String($0)) }
            let upstream = entry.annotations?[Annotation.upstreamDigest].flatMap { try? Digest($0) }
            return LayoutImage(
                reference: reference, descriptor: entry, upstreamDigest: upstream ?? entry.digest, platforms: platforms)
        }
    }

    /// Moves the file at `path` into the layout as the blob `expected` (a downloaded or replaced file
    /// artifact), after hashing it; copies it instead when it is on another file system. A blob already
    /// present is kept and the file left where it is.
    /// - Throws: `.digestMismatch` or `.sizeMismatch` naming `path` (the file is left where it is).
    public func adopt(fileAt path: String, as expected: Descriptor) throws {
        if contains(expected) { return }
        let (hex, size) = try FileDigest.sha256(ofFileAt: path)
        guard size == expected.size else {
            throw OCIError.sizeMismatch(source: path, expected: expected.size, actual: size)
        }
        guard hex == expected.digest.hex else {
            throw OCIError.digestMismatch(source: path, expected: expected.digest, actual: Digest(verifiedHex: hex))
        }
        if rename(path, blobPath(expected.digest)) == 0 { return }
        guard errno == EXDEV else {
            throw OCIError.io(
                path: path, reason: "cannot move into \(blobDirectory) (\(String(cString: strerror(errno))))")
        }
        let writer = try blobWriter(expecting: expected, source: path)
        guard let input = FileHandle(forReadingAtPath: path) else {
            throw OCIError.io(path: path, reason: "cannot open (\(String(cString: strerror(errno))))")
        }
        defer { try? input.close() }
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            try chunk.withUnsafeBytes { try writer.write($0) }
        }
        try writer.commit()
    }

    // MARK: What an image needs

    /// Every blob of the image `root` names (itself, child manifests, configs, layers), each once, and those
    /// of them that are not in the layout. A missing manifest hides what it would name: it is reported alone.
    public func closure(of root: Descriptor) throws -> (all: [Descriptor], missing: [Descriptor]) {
        var all: [Descriptor] = []
        var missing: [Descriptor] = []
        var seen: Set<Digest> = []
        func visit(_ descriptor: Descriptor) throws {
            guard seen.insert(descriptor.digest).inserted else { return }
            all.append(descriptor)
            guard contains(descriptor) else {
                missing.append(descriptor)
                return
            }
            guard MediaType.isManifest(descriptor.mediaType) else { return }
            switch try manifest(descriptor).content {
            case .index(let index): for child in index.manifests { try visit(child) }
            case .image(let image): for blob in image.blobs { try visit(blob) }
            }
        }
        try visit(root)
        return (all, missing)
    }

    /// What the layout lacks for the image `reference`: nil when index.json has no entry for it.
    public func missingBlobs(for reference: ImageReference) throws -> [Descriptor]? {
        guard let root = try entry(for: reference) else { return nil }
        return try closure(of: root).missing
    }

    // MARK: Files

    private func writeIndex(entries: [Descriptor]) throws {
        struct Index: Encodable {
            var schemaVersion = 2
            var mediaType = MediaType.ociIndex
            var manifests: [Descriptor]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        let data = try encoder.encode(Index(manifests: entries))
        try writeAtomically([UInt8](data) + [0x0a], to: indexPath)
    }

    private func writeAtomically(_ bytes: [UInt8], to target: String) throws {
        let temporary = "\(target).tmp-\(getpid())"
        let fd = Foundation.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OCIError.io(path: temporary, reason: String(cString: strerror(errno))) }
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw OCIError.io(path: target, reason: "cannot write (\(reason))")
        }
    }

    func readFile(_ file: String, limit: Int) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw OCIError.io(path: file, reason: "cannot open (\(String(cString: strerror(errno))))")
        }
        defer { try? handle.close() }
        do {
            let data = try handle.read(upToCount: limit + 1) ?? Data()
            guard data.count <= limit else {
                throw OCIError.io(path: file, reason: "larger than \(limit) bytes")
            }
            return [UInt8](data)
        } catch let error as OCIError {
            throw error
        } catch {
            throw OCIError.io(path: file, reason: "cannot read (\(error.localizedDescription))")
        }
    }

    /// Partial files are named `.partial-<pid>-<random>`: those whose process is gone are leftovers.
    private func removeAbandonedPartials() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: blobDirectory) else { return }
        for name in names where name.hasPrefix(".partial-") {
            guard let pid = Int32(name.dropFirst(9).prefix { $0 != "-" }) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH { unlink("\(blobDirectory)/\(name)") }
        }
    }
}
