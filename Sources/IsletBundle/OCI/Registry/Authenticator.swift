import Foundation

/// What a registry asked for in its 401 `WWW-Authenticate` header.
enum AuthChallenge: Equatable {
    case basic
    case bearer(realm: String, service: String?, scope: String?)

    /// Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"` (quoted values may hold commas).
    init?(header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        let schemeEnd = trimmed.firstIndex(of: " ") ?? trimmed.endIndex
        let scheme = trimmed[..<schemeEnd].lowercased()
        var parameters: [String: String] = [:]
        var rest = trimmed[schemeEnd...]
        while let equals = rest.firstIndex(of: "=") {
            let key = rest[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: " ,")).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let character = rest.first, character != "\"" {
                    if character == "\\", let escaped = rest.dropFirst().first {
                        value.append(escaped)
                        rest = rest.dropFirst(2)
                    } else {
                        value.append(character)
                        rest = rest.dropFirst()
                    }
                }
                rest = rest.dropFirst()
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            parameters[key] = value
        }
        switch scheme {
        case "basic": self = .basic
        case "bearer":
            guard let realm = parameters["realm"], !realm.isEmpty else { return nil }
            self = .bearer(realm: realm, service: parameters["service"], scope: parameters["scope"])
        default: return nil
        }
    }
}

/// Authorization for registry requests: answers a host's 401 challenge once, then authorizes every later
/// request to that host up front. Bearer tokens are fetched from the challenge's realm (anonymously, or
/// with the host's Basic credentials) and cached per scope until they expire.
final class Authenticator: @unchecked Sendable {
    private let http: HTTPClient
    private let credentials: RegistryCredentials
    private let lock = NSLock()
    private let tokenFetch = NSLock()
    private var challenges: [String: AuthChallenge] = [:]
    private var tokens: [String: (value: String, expires: Date)] = [:]

    init(http: HTTPClient, credentials: RegistryCredentials) {
        self.http = http
        self.credentials = credentials
    }

    /// The Authorization header value for a request to `host` needing `scope`, when the host is known to
    /// require one; nil when it has not challenged (yet).
    func authorization(host: String, scope: String) throws -> String? {
        lock.lock()
        let challenge = challenges[host]
        lock.unlock()
        guard let challenge else { return nil }
        return try authorization(host: host, challenge: challenge, scope: scope)
    }

    /// Answers a 401 from `host`: records its challenge and returns the authorization to retry with.
    /// - Parameter sent: the authorization the refused request carried, if any.
    /// - Throws: `.unauthorized` when there is nothing (else) to try: no credentials, refused credentials,
    ///   credentials held by a helper, or a challenge islet does not understand.
    func answer(host: String, wwwAuthenticate: String?, scope: String, sent: String?) throws -> String {
        guard let header = wwwAuthenticate, let challenge = AuthChallenge(header: header) else {
            throw OCIError.unauthorized(
                host: host, reason: "HTTP 401 without a Basic or Bearer challenge islet understands")
        }
        lock.lock()
        challenges[host] = challenge
        lock.unlock()
        var scopeToAsk = scope
        if case .bearer(_, _, let asked?) = challenge, !asked.isEmpty {
            scopeToAsk = Self.merge(scope, asked)
            if let sent, sent.hasPrefix("Bearer ") {
                // The token sent for this scope was refused (expired or too narrow): never reuse it.
                forgetToken(challenge: challenge, scope: scopeToAsk)
            }
        }
        let answer = try authorization(host: host, challenge: challenge, scope: scopeToAsk)
        guard answer != sent else {
            throw OCIError.unauthorized(host: host, reason: refusalReason(host: host))
        }
        return answer
    }

    private func authorization(host: String, challenge: AuthChallenge, scope: String) throws -> String {
        switch challenge {
        case .basic:
            guard let basic = credentials.basic(for: host) else {
                throw OCIError.unauthorized(host: host, reason: missingCredentialsReason(host: host))
            }
            return Self.basicHeader(basic)
        case .bearer(let realm, let service, _):
            return "Bearer " + (try token(host: host, realm: realm, service: service, scope: scope))
        }
    }

    private func token(host: String, realm: String, service: String?, scope: String) throws -> String {
        let key = "\(realm) \(service ?? "") \(scope)"
        tokenFetch.lock()
        defer { tokenFetch.unlock() }
        lock.lock()
        let cached = tokens[key]
        lock.unlock()
        if let cached, cached.expires > Date() { return cached.value }

        var query: [String] = []
        if let service { query.append("service=\(Self.queryEscape(service))") }
        query.append("scope=\(Self.queryEscape(scope))")
        let url = realm + (realm.contains("?") ? "&" : "?") + query.joined(separator: "&")
        var headers: [(name: String, value: String)] = []
        let basic = credentials.basic(for: host)
        if let basic { headers.append((name: "Authorization", value: Self.basicHeader(basic))) }
        let response: HTTPResponse
        let body: [UInt8]
        do {
            (response, body) = try http.fetch(HTTPRequest(url: url, headers: headers), limit: 1 << 20)
        } catch {
            throw OCIError.unauthorized(host: host, reason: "token service \(realm) failed: \(error)")
        }
        guard response.status == 200 else {
            let why =
                response.status == 401 || response.status == 403
                ? (basic == nil ? missingCredentialsReason(host: host) : refusalReason(host: host))
                : "token service \(realm) answered HTTP \(response.status)"
            throw OCIError.unauthorized(host: host, reason: why)
        }
        struct TokenAnswer: Decodable {
            var token: String?
            var accessToken: String?
            var expiresIn: Int?

            enum CodingKeys: String, CodingKey {
                case token
                case accessToken = "access_token"
                case expiresIn = "expires_in"
            }
        }
        guard let answer = try? JSONDecoder().decode(TokenAnswer.self, from: Data(body)),
            let value = answer.token ?? answer.accessToken, !value.isEmpty
        else {
            throw OCIError.unauthorized(host: host, reason: "token service \(realm) answered without a token")
        }
        // Renew a little before the registry would refuse it; 60 s is the spec's default lifetime.
        let lifetime = max(Double(answer.expiresIn ?? 60) - 10, 1)
        lock.lock()
        tokens[key] = (value, Date().addingTimeInterval(lifetime))
        lock.unlock()
        return value
    }

    private func forgetToken(challenge: AuthChallenge, scope: String) {
        guard case .bearer(let realm, let service, _) = challenge else { return }
        lock.lock()
        tokens["\(realm) \(service ?? "") \(scope)"] = nil
        lock.unlock()
    }

    private func missingCredentialsReason(host: String) -> String {
        if let helper = credentials.helper(for: host) {
            return "it requires credentials, which \(credentials.source ?? "the Docker config") keeps in the "
                + "credential helper '\(helper)'; islet does not run credential helpers: add an 'auths' entry "
                + "for \(host) with 'auth' (base64 of user:password)"
        }
        let file = credentials.source ?? "~/.docker/config.json (absent)"
        return "it requires credentials and \(file) has none for \(host)"
    }

    /// Whether `host` has asked for Bearer tokens.
    func usesTokens(host: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if case .bearer = challenges[host] { return true }
        return false
    }

    /// Why a request answered with its authorization still got a 401.
    func refusal(host: String, scope: String) -> String {
        lock.lock()
        let challenge = challenges[host]
        lock.unlock()
        if challenge == .basic { return refusalReason(host: host) }
        let file = credentials.source ?? "~/.docker/config.json"
        return "access to '\(scope)' was refused"
            + (credentials.basic(for: host) == nil
                ? " (no credentials for \(host) in \(file))" : " with the credentials for \(host) in \(file)")
    }

    private func refusalReason(host: String) -> String {
        "the credentials for \(host) in \(credentials.source ?? "the Docker config") were refused"
    }

    private static func basicHeader(_ basic: RegistryCredentials.Basic) -> String {
        "Basic " + Data("\(basic.username):\(basic.password)".utf8).base64EncodedString()
    }

    /// The scope to ask a token for after a challenge: ours, with the actions the registry asked for
    /// added when it names the same resource (a HEAD asks for `pull`, and the push after it needs
    /// `pull,push`: one token serves both); the registry's own when it names another resource.
    static func merge(_ ours: String, _ asked: String) -> String {
        func split(_ scope: String) -> (resource: Substring, actions: [Substring])? {
            guard let colon = scope.lastIndex(of: ":") else { return nil }
            return (scope[..<colon], scope[scope.index(after: colon)...].split(separator: ","))
        }
        guard let mine = split(ours), let theirs = split(asked), mine.resource == theirs.resource else { return asked }
        let actions = mine.actions + theirs.actions.filter { !mine.actions.contains($0) }
        return "\(mine.resource):\(actions.joined(separator: ","))"
    }

    static func queryEscape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
