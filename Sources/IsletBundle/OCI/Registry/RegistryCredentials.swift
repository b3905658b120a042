import Foundation

/// Registry credentials from Docker's `config.json` (`auths` entries with `auth` = base64 of
/// `user:password`, or `username` and `password`). Credential helpers (`credsStore`, `credHelpers`) run
/// programs islet does not run: a registry whose credentials live only there is reported as such when it
/// asks for them. Values are never printed, logged or put in an error.
public struct RegistryCredentials: Sendable {
    public struct Basic: Sendable, Equatable {
        public let username: String
        public let password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    /// Basic credentials for one registry host (`host:port`), and nothing else.
    public init(host: String, basic: Basic) {
        self.init(source: nil, basic: [Self.normalise(host): basic], helpers: [:], defaultHelper: nil)
    }

    /// The file the credentials were read from, named in errors; nil when there was none.
    public let source: String?
    private let basic: [String: Basic]
    private let helpers: [String: String]
    private let defaultHelper: String?

    public static let none = RegistryCredentials(source: nil, basic: [:], helpers: [:], defaultHelper: nil)

    private init(source: String?, basic: [String: Basic], helpers: [String: String], defaultHelper: String?) {
        self.source = source
        self.basic = basic
        self.helpers = helpers
        self.defaultHelper = defaultHelper
    }

    /// Credentials of the Docker config at `path`; none when the file does not exist.
    /// - Throws: `.malformed` naming the file when it is not a Docker config (never quoting it).
    public init(dockerConfigAt path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            self.init(source: nil, basic: [:], helpers: [:], defaultHelper: nil)
            return
        }
        struct Config: Decodable {
            struct Entry: Decodable {
                var auth: String?
                var username: String?
                var password: String?
            }
            var auths: [String: Entry]?
            var credsStore: String?
            var credHelpers: [String: String]?
        }
        let config: Config
        do {
            config = try JSONDecoder().decode(Config.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw OCIError.malformed(source: path, reason: "not a Docker config.json (\(Manifest.summary(error)))")
        }
        var basic: [String: Basic] = [:]
        for (key, entry) in config.auths ?? [:] {
            if let encoded = entry.auth, !encoded.isEmpty {
                guard let data = Data(base64Encoded: encoded), let text = String(data: data, encoding: .utf8),
                    let colon = text.firstIndex(of: ":")
                else {
                    throw OCIError.malformed(
                        source: path, reason: "auths.\(key).auth is not base64 of 'username:password'")
                }
                basic[Self.normalise(key)] = Basic(
                    username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
            } else if let username = entry.username, let password = entry.password {
                basic[Self.normalise(key)] = Basic(username: username, password: password)
            }
        }
        var helpers: [String: String] = [:]
        for (key, helper) in config.credHelpers ?? [:] { helpers[Self.normalise(key)] = helper }
        self.init(source: path, basic: basic, helpers: helpers, defaultHelper: config.credsStore)
    }

    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, as the docker CLI reads them.
    public static func fromEnvironment() throws -> RegistryCredentials {
        let environment = ProcessInfo.processInfo.environment
        let folder = environment["DOCKER_CONFIG"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.docker")
        return try RegistryCredentials(dockerConfigAt: folder + "/config.json")
    }

    /// The user name and password for `host` (`host[:port]`), if the config has them inline.
    public func basic(for host: String) -> Basic? { basic[Self.normalise(host)] }

    /// The credential helper the config names for `host`, which islet cannot use.
    public func helper(for host: String) -> String? { helpers[Self.normalise(host)] ?? defaultHelper }

    /// Config keys are written as `host`, `https://host`, `https://host/v1/`; Docker Hub under several names.
    static func normalise(_ key: String) -> String {
        var host = Substring(key.lowercased())
        for scheme in ["https://", "http://"] where host.hasPrefix(scheme) { host = host.dropFirst(scheme.count) }
        if let slash = host.firstIndex(of: "/") { host = host[..<slash] }
        switch host {
        case "index.docker.io", "registry-1.docker.io", "docker.io": return ImageReference.dockerHub
        default: return String(host)
        }
    }
}
