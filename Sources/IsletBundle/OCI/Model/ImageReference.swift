/// An image reference normalised as Docker does: `nginx` is `docker.io/library/nginx:latest`.
///
/// The first path element is a registry host when it contains `.` or `:` or is `localhost`; otherwise the
/// image is on Docker Hub, where a single-element name lives under `library/`. A reference with neither tag
/// nor digest means `:latest`; with both, the digest decides what is pulled and the tag names it.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible {
    /// The registry host as written (lowercased), `docker.io` for Docker Hub: `quay.io`, `127.0.0.1:5000`.
    public let registry: String
    /// The repository path inside the registry: `library/nginx`, `argoproj/argocd`.
    public let repository: String
    public let tag: String?
    public let digest: Digest?

    public static let dockerHub = "docker.io"

    public init(registry: String, repository: String, tag: String?, digest: Digest?) throws {
        let text = "\(registry)/\(repository)" + (tag.map { ":\($0)" } ?? "") + (digest.map { "@\($0)" } ?? "")
        try Self.validate(repository: repository, reference: text)
        if let tag { try Self.validate(tag: tag, reference: text) }
        self.registry = registry.lowercased()
        self.repository = repository
        self.tag = tag ?? (digest == nil ? "latest" : nil)
        self.digest = digest
    }

    /// Parses and normalises `text`.
    /// - Throws: `OCIError.invalidReference` naming `text` and what is wrong with it.
    public init(parsing text: String) throws {
        func invalid(_ reason: String) -> OCIError { .invalidReference(text, reason: reason) }
        guard !text.isEmpty else { throw invalid("it is empty") }
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw invalid("it contains spaces, control or non-ASCII characters")
        }
        var rest = Substring(text)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            do {
                digest = try Digest(String(rest[rest.index(after: at)...]))
            } catch {
                throw invalid("the part after '@' is not a sha256 digest ('sha256:' and 64 lowercase hex)")
            }
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !components.contains(where: \.isEmpty) else { throw invalid("it has an empty path element") }
        var registry = Self.dockerHub
        if components.count > 1,
            components[0].contains(".") || components[0].contains(":") || components[0] == "localhost"
        {
            registry = components.removeFirst()
            guard Self.isHost(registry) else { throw invalid("'\(registry)' is not a registry host[:port]") }
        }
        if registry == "index.docker.io" || registry == "registry-1.docker.io" { registry = Self.dockerHub }
        if registry == Self.dockerHub && components.count == 1 { components.insert("library", at: 0) }
        do {
            try self.init(registry: registry, repository: components.joined(separator: "/"), tag: tag, digest: digest)
        } catch OCIError.invalidReference(_, let reason) {
            throw invalid(reason)  // named as the user wrote it, not as normalised
        }
    }

    /// `registry/repository`, without tag or digest.
    public var name: String { "\(registry)/\(repository)" }

    /// The full normalised reference: `docker.io/library/redis:8`, `quay.io/x/y:v1@sha256:...`.
    public var description: String {
        name + (tag.map { ":\($0)" } ?? "") + (digest.map { "@\($0)" } ?? "")
    }

    /// What the registry's manifest endpoint is asked for: the digest when there is one, else the tag.
    public var manifestReference: String { digest?.description ?? tag ?? "latest" }

    /// The repository this image gets in the internal registry: the upstream host, then the upstream path
    /// (`quay.io/argoproj/argocd`, `docker.io/library/redis`), so images of two sources with the same path
    /// never overwrite each other, and containerd can map any upstream name to the internal registry with
    /// one rule. A port separator becomes `_` (`127.0.0.1_5000/x`), which no DNS host name contains.
    public var internalRepository: String {
        registry.replacingOccurrences(of: ":", with: "_") + "/" + repository
    }

    /// This image's name in the internal registry at `host` (`host[:port]`), keeping tag and digest.
    public func internalReference(at host: String) throws -> ImageReference {
        try ImageReference(registry: host, repository: internalRepository, tag: tag, digest: digest)
    }

    private static func validate(repository: String, reference: String) throws {
        guard repository.utf8.count + 1 <= 255 else {
            throw OCIError.invalidReference(reference, reason: "the repository name is longer than 255 characters")
        }
        for component in repository.split(separator: "/", omittingEmptySubsequences: false) {
            guard isPathComponent(component) else {
                let uppercase = component.contains(where: \.isUppercase)
                throw OCIError.invalidReference(
                    reference,
                    reason: uppercase
                        ? "the repository name must be lowercase ('\(component)')"
                        : "'\(component)' is not a valid path element (lowercase letters and digits, "
                            + "separated by '.', '_', '__' or dashes)")
            }
        }
    }

    private static func validate(tag: String, reference: String) throws {
        let bytes = Array(tag.utf8)
        func word(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == 0x5f
        }
        guard (1...128).contains(bytes.count), word(bytes[0]),
            bytes.dropFirst().allSatisfy({ word($0) || $0 == 0x2e || $0 == 0x2d })
        else {
            throw OCIError.invalidReference(
                reference, reason: "tag '\(tag)' is not valid (letters, digits, '_', then also '.' and '-', ≤ 128)")
        }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, distribution's path component.
    private static func isPathComponent(_ component: Substring) -> Bool {
        let bytes = Array(component.utf8)
        func alphanumeric(_ byte: UInt8) -> Bool { (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7a) }
        var index = 0
        while true {
            let start = index
            while index < bytes.count && alphanumeric(bytes[index]) { index += 1 }
            guard index > start else { return false }
            if index == bytes.count { return true }
            let separatorStart = index
            while index < bytes.count && !alphanumeric(bytes[index]) { index += 1 }
            let separator = bytes[separatorStart..<index]
            let valid =
                separator == [0x2e] || separator == [0x5f] || separator == [0x5f, 0x5f]
                || separator.allSatisfy { $0 == 0x2d }
            guard valid, index < bytes.count else { return false }
        }
    }

    /// A DNS name or IPv4 address, optionally with `:port`.
    private static func isHost(_ host: String) -> Bool {
        var name = Substring(host)
        if let colon = host.lastIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber) else {
                return false
            }
            name = host[..<colon]
        }
        return !name.isEmpty
            && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
                !label.isEmpty && label.first != "-" && label.last != "-"
                    && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
    }
}
