import Foundation

/// How `RegistryClient` reaches registries.
public struct RegistryOptions: Sendable {
    /// Credentials for hosts that ask for them (Docker's config.json).
    public var credentials: RegistryCredentials
    /// Hosts (`host[:port]`, as contacted after mirroring) spoken to over plain HTTP instead of HTTPS.
    public var plainHTTPHosts: Set<String>
    /// Registry hosts pulled through another host (a Nexus or Artifactory proxy) and path prefix instead.
    /// Digests must still match.
    public var mirrors: Mirrors
    /// Blobs transferred at once by one pull or push.
    public var parallelTransfers: Int
    /// How requests that failed for a passing reason (5xx, 429, timeouts, cut connections) are retried.
    public var retry: RetryPolicy
    /// Where blob transfers are shown as they run (the bundle's progress display), if anywhere.
    public var board: TransferBoard?

    public init(
        credentials: RegistryCredentials = .none, plainHTTPHosts: Set<String> = [], mirrors: Mirrors = Mirrors(),
        parallelTransfers: Int = 4, retry: RetryPolicy = RetryPolicy(), board: TransferBoard? = nil
    ) {
        self.credentials = credentials
        self.plainHTTPHosts = plainHTTPHosts
        self.mirrors = mirrors
        self.parallelTransfers = parallelTransfers
        self.retry = retry
        self.board = board
    }
}

/// A client of the OCI distribution API: pulls images into an `ImageLayout`, pushes them from it, and
/// moves single blobs by digest. Every manifest and blob it reads is checked against its digest.
public final class RegistryClient: Sendable {
    let http: HTTPClient
    let options: RegistryOptions
    let authenticator: Authenticator
    let seenBlobs = SeenBlobs()

    public init(http: HTTPClient = HTTPClient(), options: RegistryOptions = RegistryOptions()) {
        self.http = http
        self.options = options
        authenticator = Authenticator(http: http, credentials: options.credentials)
    }

    /// Where a repository of a registry is reached: base URL, and the repository path there.
    struct Location {
        let host: String
        let baseURL: String
        let repository: String

        func url(_ path: String) -> String { "\(baseURL)/v2/\(repository)/\(path)" }
    }

    /// `repository` of `registry`, through its mirror if one is configured; Docker Hub's API host for docker.io.
    func location(registry: String, repository: String) -> Location {
        var host = registry == ImageReference.dockerHub ? "registry-1.docker.io" : registry
        var path = repository
        if let mirror = options.mirrors.registry(for: registry) {
            host = mirror.host
            path = mirror.repository(repository)
        }
        let scheme = options.plainHTTPHosts.contains(host) ? "http" : "https"
        return Location(host: host, baseURL: "\(scheme)://\(host)", repository: path)
    }

    /// Sends one request, authorizing it as the host demands: up front once the host has challenged, else
    /// by answering its 401 and retrying once. Only a 2xx body goes to `receive`, after `onSuccess` saw its
    /// head; another status's body is returned (its first 64 KiB), for the error message.
    func send(
        _ method: String, _ url: String, at location: Location, scope: String,
        headers: [(name: String, value: String)] = [], body: HTTPBody = .none, resumeFrom: Int64? = nil,
        onSuccess: (HTTPResponse) throws -> Void = { _ in }, receive: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> (response: HTTPResponse, errorBody: [UInt8]) {
        var authorization = try authenticator.authorization(host: location.host, scope: scope)
        for attempt in 0..<2 {
            let request = HTTPRequest(
                method: method, url: url,
                headers: headers + (authorization.map { [(name: "Authorization", value: $0)] } ?? []), body: body,
                resumeFrom: resumeFrom)
            var success = false
            var errorBody: [UInt8] = []
            let response = try http.send(
                request,
                onHead: { head in
                    success = head.isSuccess
                    if success { try onSuccess(head) }
                },
                receive: { chunk in
                    if success {
                        try receive(chunk)
                    } else if errorBody.count < 64 << 10 {
                        errorBody.append(contentsOf: chunk.prefix(64 << 10 - errorBody.count))
                    }
                })
            guard response.status == 401 else { return (response, errorBody) }
            guard attempt == 0 else {
                throw OCIError.unauthorized(
                    host: location.host, reason: authenticator.refusal(host: location.host, scope: scope))
            }
            authorization = try authenticator.answer(
                host: location.host, wwwAuthenticate: response.header("www-authenticate"), scope: scope,
                sent: authorization)
        }
        fatalError("unreachable: the second attempt returns or throws")
    }

    /// Sends a request whose answer is small (a manifest, an error) and returns its body, retrying
    /// passing failures.
    func fetch(
        _ method: String, _ url: String, at location: Location, scope: String,
        headers: [(name: String, value: String)] = [], body: HTTPBody = .none, limit: Int = 4 << 20
    ) throws -> (HTTPResponse, [UInt8]) {
        try options.retry.run { _ in
            var bytes: [UInt8] = []
            let (response, errorBody) = try send(
                method, url, at: location, scope: scope, headers: headers, body: body,
                receive: { chunk in
                    guard bytes.count + chunk.count <= limit else {
                        throw OCIError.malformed(source: redactedURL(url), reason: "answer larger than \(limit) bytes")
                    }
                    bytes.append(contentsOf: chunk)
                })
            if Self.isPassing(response.status) { throw Self.failure(method, url, response, body: errorBody) }
            return (response, response.isSuccess ? bytes : errorBody)
        }
    }

    /// 5xx, 429 and 408 are the server's passing trouble: worth a retry.
    static func isPassing(_ status: Int) -> Bool { status >= 500 || status == 429 || status == 408 }

    /// The error for an unexpected answer, with the registry's error codes and messages from its body.
    static func failure(_ method: String, _ url: String, _ response: HTTPResponse, body: [UInt8]) -> OCIError {
        struct Errors: Decodable {
            struct Entry: Decodable {
                var code: String?
                var message: String?
            }
            var errors: [Entry]
        }
        var detail = ""
        if let errors = try? JSONDecoder().decode(Errors.self, from: Data(body)) {
            detail = errors.errors.map { [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ") }
                .joined(separator: "; ")
        }
        return .registry(method: method, url: redactedURL(url), status: response.status, detail: detail)
    }

    static func pullScope(_ location: Location) -> String { "repository:\(location.repository):pull" }
    static func pushScope(_ location: Location) -> String { "repository:\(location.repository):pull,push" }
}

/// Which repository of which registry this client has seen holding a blob, so that pushing it to another
/// repository of the same registry can mount it instead of sending it again.
final class SeenBlobs: @unchecked Sendable {
    private let lock = NSLock()
    private var repositories: [String: [Digest: String]] = [:]

    func record(_ digest: Digest, at location: RegistryClient.Location) {
        lock.lock()
        repositories[location.host, default: [:]][digest] = location.repository
        lock.unlock()
    }

    /// A repository other than `location`'s of the same registry known to hold `digest`.
    func repository(of digest: Digest, at location: RegistryClient.Location) -> String? {
        lock.lock()
        defer { lock.unlock() }
        guard let repository = repositories[location.host]?[digest], repository != location.repository else {
            return nil
        }
        return repository
    }
}

/// Runs `body` for every item on up to `width` threads (transfers block in libcurl), stopping at the first
/// error, which it rethrows.
func forEachConcurrently<Item: Sendable>(
    _ items: [Item], width: Int, _ body: @escaping @Sendable (Item) throws -> Void
) throws {
    if items.count <= 1 || width <= 1 {
        for item in items { try body(item) }
        return
    }
    let progress = TransferQueue()
    let group = DispatchGroup()
    for _ in 0..<min(width, items.count) {
        group.enter()
        let thread = Thread {
            defer { group.leave() }
            while true {
                progress.lock.lock()
                guard progress.failure == nil, progress.next < items.count else {
                    progress.lock.unlock()
                    return
                }
                let item = items[progress.next]
                progress.next += 1
                progress.lock.unlock()
                do {
                    try body(item)
                } catch {
                    progress.lock.lock()
                    if progress.failure == nil { progress.failure = error }
                    progress.lock.unlock()
                }
            }
        }
        thread.start()
    }
    group.wait()
    if let failure = progress.failure { throw failure }
}

/// The next item to hand out and the first failure, shared by `forEachConcurrently`'s threads.
private final class TransferQueue: @unchecked Sendable {
    let lock = NSLock()
    var next = 0
    var failure: Error?
}
