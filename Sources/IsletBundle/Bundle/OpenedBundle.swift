import Foundation
import IsletCore

/// A bundle as plan and apply use it on the closed side: its manifest, its stacks, and the bytes of its
/// file artifacts for delivery. An archive is read in place; only what a node needs is copied out, once.
public final class OpenedBundle: ArtifactSource, @unchecked Sendable {
    public let source: BundleSource
    public let manifest: BundleManifest
    /// Where members copied out of an archive go (removed by `close`).
    private let scratch: String
    private let lock = NSLock()
    private var copied: [String: String] = [:]

    /// - Throws: `BundleSourceError` or the manifest's decoding error, naming the bundle.
    public init(opening path: String) throws {
        source = try BundleSource(opening: path)
        manifest = try BundleManifest.decode(
            source.contents(of: BundleManifest.fileName), file: source.describe(BundleManifest.fileName))
        scratch = NSTemporaryDirectory() + "islet-bundle-\(getpid())-\(UUID().uuidString)"
    }

    deinit { close() }

    /// Removes what was copied out of an archive.
    public func close() {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// The stacks the bundle was made for: its own folder, or a copy out of the archive.
    public func stacksFolder() throws -> String {
        if source.form == .folder { return source.location + "/" + manifest.stacks.path }
        return try copiedOut(manifest.stacks.path)
    }

    /// The folder `folder` of an archive bundle, copied out under the scratch folder once (streaming, member
    /// by member); marked complete only once every member is out, so a failed copy is not taken for whole.
    private func copiedOut(_ folder: String) throws -> String {
        try lock.withLock {
            let done = scratch + "/" + folder + ".copied"
            if !FileManager.default.fileExists(atPath: done) {
                for member in source.members.values where member.path.hasPrefix(folder + "/") && member.kind == .file {
                    let path = scratch + "/" + member.path
                    try FileManager.default.createDirectory(
                        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    try source.copy(member, to: path)
                }
                _ = FileManager.default.createFile(atPath: done, contents: nil)
            }
            return scratch + "/" + folder
        }
    }

    /// A local file with the blob's bytes: in place for a folder, copied out (streaming) for an archive.
    public func localFile(sha256: String) throws -> String? {
        let path = BundleManifest.Blob.path(ofDigest: BundleManifest.Blob.prefix + sha256)
        guard let member = source.members[path], member.kind == .file else { return nil }
        if source.form == .folder { return source.location + "/" + path }
        if let done = lock.withLock({ copied[sha256] }) { return done }
        let target = scratch + "/blobs/" + sha256
        try FileManager.default.createDirectory(atPath: scratch + "/blobs", withIntermediateDirectories: true)
        try source.copy(member, to: target)
        lock.withLock { copied[sha256] = target }
        return target
    }

    /// Pushes an image from the bundle's layout to the store (reached through a forward, so no proxy applies)
    /// under its internal name. Over HTTPS the connection goes to the forward while TLS checks the store's own
    /// name against the authority islet made, and nothing else is trusted.
    public func pushImage(reference: String, to store: StoreEndpoint) throws -> String {
        let upstream = try ImageReference(parsing: reference)
        var options = HTTPOptions(environment: [:])
        var registry = store.connectAddress
        var plainHTTPHosts: Set<String> = [store.connectAddress]
        if let authority = store.certificateAuthority {
            let file = scratch + "/store-ca.pem"
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            try Data(authority.utf8).write(to: URL(fileURLWithPath: file))
            options.caCertificatePath = file
            options.connectTo = ["\(store.authority):\(store.connectAddress)"]
            registry = store.authority
            plainHTTPHosts = []
        }
        var credentials = RegistryCredentials.none
        if let user = store.credentials {
            credentials = RegistryCredentials(
                host: registry, basic: .init(username: user.username, password: user.password))
        }
        let client = RegistryClient(
            http: HTTPClient(options: options),
            options: RegistryOptions(credentials: credentials, plainHTTPHosts: plainHTTPHosts))
        let report = try client.push(upstream, from: try layout(), to: try upstream.internalReference(at: registry))
        return "\(reference) → \(report.target): \(report.blobsSent) blob(s) sent (\(report.bytesSent) bytes), "
            + "\(report.blobsSkipped) already there"
    }

    /// The image layout: in place for a folder; for an archive, its `oci/` copied out once.
    private func layout() throws -> ImageLayout {
        if source.form == .folder { return try ImageLayout.open(at: source.location + "/oci") }
        return try ImageLayout.open(at: try copiedOut("oci"))
    }

    /// One line for the plan: what the bundle is, and what in it was replaced or is unpinned.
    public func summary(needs: ArtifactNeeds) -> String {
        var text =
            "Bundle \(source.location): made by islet \(manifest.islet.version) on \(ISO8601DateFormatter().string(from: manifest.createdAt)), "
            + "\(manifest.files.count) file(s), \(manifest.images.count) image(s)."
        if !needs.replaced.isEmpty {
            text +=
                "\n  \(needs.replaced.count) artifact(s) replaced by local files: \(needs.replaced.joined(separator: "; "))"
        }
        if !needs.unpinned.isEmpty {
            text +=
                "\n  \(needs.unpinned.count) artifact(s) unpinned (digest recorded at bundle create, not pinned by a stack): "
                + needs.unpinned.joined(separator: "; ")
        }
        return text
    }
}
