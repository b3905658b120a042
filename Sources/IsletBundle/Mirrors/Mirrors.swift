import Foundation

/// Where to fetch from instead of upstream, for sites that pull through an internal Nexus or Artifactory
/// (`--mirror UPSTREAM=LOCAL`, repeatable, or a file of such lines). Digests are checked the same either
/// way: a mirror changes where bytes come from, never which bytes are accepted.
///
/// An UPSTREAM with a scheme is a URL prefix for files (`https://dl.k8s.io/=https://nexus/k8s/`; the
/// longest matching prefix wins). One without is a registry host for images, mapped to
/// `host[:port][/path-prefix]` (`quay.io=nexus.corp:8443/quay-proxy`).
public struct Mirrors: Sendable, Equatable {
    /// Where a registry's images are found instead: another host, and a path put before each repository.
    public struct Registry: Sendable, Equatable {
        /// `host` or `host:port`.
        public var host: String
        /// Empty, or path segments without leading or trailing slash (`quay-proxy`).
        public var pathPrefix: String

        public init(host: String, pathPrefix: String = "") {
            self.host = host
            self.pathPrefix = pathPrefix
        }

        /// The repository name at the mirror: `argoproj/argocd` becomes `quay-proxy/argoproj/argocd`.
        public func repository(_ name: String) -> String {
            pathPrefix.isEmpty ? name : pathPrefix + "/" + name
        }
    }

    /// URL prefix rules, longest upstream first.
    public private(set) var urlPrefixes: [(upstream: String, local: String)] = []
    /// Registry host rules by lowercased upstream host.
    public private(set) var registries: [String: Registry] = [:]

    public init() {}

    /// Rules as given on the command line; an error names the rule.
    public init(rules: [String]) throws {
        for rule in rules { try add(rule, origin: "--mirror '\(rule)'") }
    }

    /// Rules from a file, one per line; blank lines and `#` comments are ignored; an error names file and line.
    public init(contentsOfFile path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw MirrorError(origin: path, message: "cannot read the mirrors file (\(error.localizedDescription))")
        }
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var content = Substring(line)
            if let comment = content.range(of: "#"),
                comment.lowerBound == content.startIndex
                    || content[content.index(before: comment.lowerBound)].isWhitespace
            {
                content = content[..<comment.lowerBound]
            }
            let rule = content.trimmingCharacters(in: .whitespaces)
            if !rule.isEmpty { try add(rule, origin: "\(path):\(index + 1)") }
        }
    }

    /// Adds one `UPSTREAM=LOCAL` rule; `origin` says where it came from, for errors.
    public mutating func add(_ rule: String, origin: String) throws {
        guard let equals = rule.firstIndex(of: "=") else {
            throw MirrorError(origin: origin, message: "'\(rule)' is not UPSTREAM=LOCAL")
        }
        let upstream = rule[..<equals].trimmingCharacters(in: .whitespaces)
        let local = rule[rule.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        guard !upstream.isEmpty, !local.isEmpty else {
            throw MirrorError(origin: origin, message: "'\(rule)' is not UPSTREAM=LOCAL: both sides are needed")
        }
        if upstream.contains("://") {
            try addURLPrefix(upstream: upstream, local: local, origin: origin)
        } else {
            try addRegistry(upstream: upstream, local: local, origin: origin)
        }
    }

    /// `url` rewritten by the longest matching prefix rule, or unchanged.
    public func url(for url: String) -> String {
        guard let rule = urlPrefixes.first(where: { url.hasPrefix($0.upstream) }) else { return url }
        return rule.local + url.dropFirst(rule.upstream.count)
    }

    /// The mirror for registry `host` (as written in image references, e.g. `quay.io`), or nil to use it.
    public func registry(for host: String) -> Registry? {
        registries[host.lowercased()]
    }

    public static func == (left: Mirrors, right: Mirrors) -> Bool {
        left.registries == right.registries
            && left.urlPrefixes.map { [$0.upstream, $0.local] } == right.urlPrefixes.map { [$0.upstream, $0.local] }
    }

    private mutating func addURLPrefix(upstream: String, local: String, origin: String) throws {
        for (side, value) in [("upstream", upstream), ("mirror", local)] where !Self.isHTTPURL(value) {
            throw MirrorError(origin: origin, message: "the \(side) '\(value)' is not an http(s) URL")
        }
        if let existing = urlPrefixes.first(where: { $0.upstream == upstream }) {
            guard existing.local == local else {
                throw MirrorError(origin: origin, message: "\(upstream) is already mirrored to \(existing.local)")
            }
            return
        }
        urlPrefixes.append((upstream, local))
        urlPrefixes.sort { $0.upstream.count > $1.upstream.count }
    }

    private mutating func addRegistry(upstream: String, local: String, origin: String) throws {
        guard Self.isHostAndPort(upstream) else {
            throw MirrorError(
                origin: origin,
                message: "'\(upstream)' is neither a URL prefix (with http:// or https://) nor a registry host[:port]")
        }
        guard !local.contains("://") else {
            throw MirrorError(
                origin: origin, message: "a registry mirror is host[:port][/path], without a scheme: '\(local)'")
        }
        let parts = local.split(separator: "/", maxSplits: 1)
        let host = String(parts[0])
        let prefix = parts.count > 1 ? String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: "/")) : ""
        let segment = #/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/#
        guard Self.isHostAndPort(host),
            prefix.isEmpty
                || prefix.split(separator: "/", omittingEmptySubsequences: false).allSatisfy({
                    $0.wholeMatch(of: segment) != nil
                })
        else {
            throw MirrorError(origin: origin, message: "'\(local)' is not a registry host[:port][/path-prefix]")
        }
        let registry = Registry(host: host, pathPrefix: prefix)
        if let existing = registries[upstream.lowercased()], existing != registry {
            let current = existing.host + (existing.pathPrefix.isEmpty ? "" : "/" + existing.pathPrefix)
            throw MirrorError(origin: origin, message: "\(upstream) is already mirrored to \(current)")
        }
        registries[upstream.lowercased()] = registry
    }

    private static func isHTTPURL(_ value: String) -> Bool {
        guard let components = URLComponents(string: value), let scheme = components.scheme?.lowercased() else {
            return false
        }
        return (scheme == "http" || scheme == "https") && !(components.host ?? "").isEmpty
    }

    private static func isHostAndPort(_ value: String) -> Bool {
        value.wholeMatch(of: #/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$/#) != nil
    }
}

/// A mirror rule that cannot be used, with where it came from (`mirrors.txt:3`, or the `--mirror` option).
public struct MirrorError: Error, CustomStringConvertible, Equatable {
    public var origin: String
    public var message: String

    public var description: String { "\(origin): \(message)" }
}
