/// Where an image runs: `linux/amd64`, `linux/arm64/v8`. Nodes declare `os/architecture`; an index entry may
/// add a variant, which is then matched by the defaults containerd uses (arm64 means v8, arm means v7).
public struct Platform: Hashable, Sendable, CustomStringConvertible, Codable {
    public var os: String
    public var architecture: String
    public var variant: String?
    public var osVersion: String?
    public var osFeatures: [String]?

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// Parses `os/architecture[/variant]`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw OCIError.malformed(source: "platform '\(text)'", reason: "expected os/architecture[/variant]")
        }
        self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }

    public var description: String {
        [os, architecture, variant].compactMap { $0 }.joined(separator: "/")
    }

    /// Whether an image for `self` (from an index or a config) serves a node that asked for `requested`:
    /// os and architecture equal, and the variant equal once defaults are filled in, or not asked for.
    public func serves(_ requested: Platform) -> Bool {
        guard os == requested.os, architecture == requested.architecture else { return false }
        guard let wanted = requested.variant else { return true }
        return (variant ?? Self.defaultVariant(architecture)) == wanted
    }

    /// How closely `self` fits a request without a variant: an entry with the default (or no) variant first.
    func preference(for requested: Platform) -> Int {
        if requested.variant != nil || variant == nil { return 0 }
        return variant == Self.defaultVariant(architecture) ? 0 : 1
    }

    private static func defaultVariant(_ architecture: String) -> String? {
        switch architecture {
        case "arm64": return "v8"
        case "arm": return "v7"
        default: return nil
        }
    }

    enum CodingKeys: String, CodingKey {
        case os, architecture, variant
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }
}
