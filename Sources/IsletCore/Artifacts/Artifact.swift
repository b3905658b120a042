import Foundation

/// An artifact's name: unique within its stack, written `NAME` inside the stack and `STACK/NAME` outside.
public struct ArtifactID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var stack: String
    public var name: String

    public init(stack: String, name: String) {
        self.stack = stack
        self.name = name
    }

    public var description: String { "\(stack)/\(name)" }

    public static func < (a: ArtifactID, b: ArtifactID) -> Bool { a.description < b.description }
}

/// The node architectures islet installs for, as release URLs and OCI platforms name them.
public enum Architecture: String, Sendable, CaseIterable, Codable, Comparable {
    case amd64, arm64

    /// What `uname -m` prints on such a node.
    public var machine: String { self == .amd64 ? "x86_64" : "aarch64" }

    /// The architecture a node's `uname -m` names, or nil for one islet does not support.
    public init?(machine: String) {
        switch machine {
        case "x86_64", "amd64": self = .amd64
        case "aarch64", "arm64": self = .arm64
        default: return nil
        }
    }

    public static func < (a: Architecture, b: Architecture) -> Bool { a.rawValue < b.rawValue }
}

/// Where an artifact's version comes from: the inventory (`cluster.kubernetesVersion`, `settings.KEY`) or
/// the stack itself.
public enum ArtifactVersion: Sendable, Hashable, CustomStringConvertible {
    case inventory(Reference)
    case literal(String)

    public var description: String {
        switch self {
        case .inventory(let reference): return reference.description
        case .literal(let value): return "value \(value)"
        }
    }
}

/// A file a stack's steps need on their nodes: downloaded by `bundle create`, delivered from the bundle.
public struct FileArtifact: Sendable, Hashable {
    public var id: ArtifactID
    public var version: ArtifactVersion
    /// The download URL, with `{version}` and `{arch}` filled in per version and architecture.
    public var url: String
    /// The pinned sha256 (hex) by version, then by architecture (`any` for a file all architectures share).
    public var sha256: [String: [String: String]]
    /// A member to take out of the downloaded archive (may hold `{version}` and `{arch}`).
    public var extract: String?
    public var location: SourceLocation

    /// In place of a digest: the version is chosen, but upstream publishes no checksum islet could verify, so
    /// `bundle create` records the digest the download had (the bundle marks it unpinned).
    public static let unpublished = "unpublished"

    /// The pinned digest of this version for `arch`, if any.
    public func pinnedDigest(version: String, arch: Architecture) -> String? {
        guard let byArch = sha256[version], let digest = byArch[arch.rawValue] ?? byArch["any"] else { return nil }
        return digest == Self.unpublished ? nil : digest
    }

    /// Whether this version is chosen for `arch` (nil: any) without a published digest.
    public func isUnpublished(version: String, arch: Architecture?) -> Bool {
        let byArch = sha256[version] ?? [:]
        return (arch.flatMap { byArch[$0.rawValue] } ?? byArch["any"]) == Self.unpublished
    }

    /// Whether one file serves every architecture.
    public var isArchitectureIndependent: Bool { !url.contains("{arch}") }
}

/// A container image a stack's steps need in the internal registry.
public struct ImageArtifact: Sendable, Hashable {
    public var id: ArtifactID
    /// nil: the reference is fixed.
    public var version: ArtifactVersion?
    /// The upstream reference (`quay.io/argoproj/argocd:v3.4.4`), with `{version}` filled in.
    public var reference: String
    /// The pinned versions, each with its digest when one is known (`sha256:...`).
    public var pins: [String: String?]
    public var location: SourceLocation
}

/// What one stack declares under `artifacts:`.
public struct StackArtifacts: Sendable, Hashable {
    public var files: [FileArtifact] = []
    public var images: [ImageArtifact] = []

    public init(files: [FileArtifact] = [], images: [ImageArtifact] = []) {
        self.files = files
        self.images = images
    }

    public func declares(_ name: String) -> Bool {
        files.contains { $0.id.name == name } || images.contains { $0.id.name == name }
    }
}

/// A stack's `artifactStore:`: the step after which its node serves artifacts to the other nodes over
/// the LAN (the registry's HTTP API), so the operator's link carries each file once.
public struct ArtifactStore: Sendable, Hashable {
    /// Once this step has been applied, the store answers on its node.
    public var step: StepID
    /// The port it listens on: `settings.KEY` or a literal.
    public var port: Reference
    /// `authority: STEP.SECRET`: while that step is part of the platform (its `when:` is on), the store speaks
    /// HTTPS with a certificate from that certificate-authority secret, and whoever fetches or pushes trusts it.
    public var authority: SecretReference? = nil
    /// `credentials: {username: settings.KEY | {value: NAME}, password: STEP.SECRET}`: while that step is on, the
    /// store asks for this user and the password secret, and islet's pushes and the nodes' fetches give them.
    public var credentials: Credentials? = nil
    public var location: SourceLocation

    /// `STEP.SECRET`: a generated secret of a step.
    public struct SecretReference: Sendable, Hashable {
        public var step: StepID
        public var secret: String
    }

    public struct Credentials: Sendable, Hashable {
        public var username: Reference
        public var password: SecretReference
    }
}

/// Fills `{version}` and `{arch}` in a URL, member or reference template.
func fillArtifactTemplate(_ template: String, version: String, arch: Architecture?) -> String {
    var text = template.replacingOccurrences(of: "{version}", with: version)
    if let arch { text = text.replacingOccurrences(of: "{arch}", with: arch.rawValue) }
    return text
}
