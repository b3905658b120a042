import Foundation

/// One HTTP request: what `HTTPClient` sends, hop after hop when it follows redirects.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    /// Sent as given; an `Authorization` header is dropped when a redirect leaves the origin.
    public var headers: [(name: String, value: String)]
    public var body: HTTPBody
    /// Sends `Range: bytes=N-`. The answer may still be a 200 with the whole body: check `status`.
    public var resumeFrom: Int64?

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: HTTPBody = .none,
        resumeFrom: Int64? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.resumeFrom = resumeFrom
    }
}

/// A request body. A file body is streamed from disk through libcurl's read callback, never loaded whole,
/// so a gigabyte layer costs one buffer; its Content-Length is `length`.
public enum HTTPBody: Sendable {
    case none
    case bytes([UInt8])
    case file(path: String, offset: Int64, length: Int64)

    /// The Content-Length this body is sent with.
    var length: Int64 {
        switch self {
        case .none: return 0
        case .bytes(let bytes): return Int64(bytes.count)
        case .file(_, _, let length): return length
        }
    }
}

/// The status and headers of the final response, after any redirects.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header values by lowercased name, in the order received.
    public var headers: [String: [String]]
    /// The URL that answered: the last hop of the redirects followed.
    public var effectiveURL: String

    public init(status: Int, headers: [String: [String]], effectiveURL: String) {
        self.status = status
        self.headers = headers
        self.effectiveURL = effectiveURL
    }

    /// The first value of header `name` (case-insensitive), if present.
    public func header(_ name: String) -> String? {
        headers[name.lowercased()]?.first
    }

    /// True for 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The body length the server announced, if any.
    public var contentLength: Int64? { header("content-length").flatMap { Int64($0) } }

    /// Seconds to wait before asking again, from `Retry-After` (delta-seconds or an HTTP-date).
    public func retryAfter(now: Date = Date()) -> Double? {
        guard let value = header("retry-after")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(value), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}

/// A non-2xx answer, as an error the retry policy understands: 5xx and 429 may pass, other 4xx will not.
public struct HTTPStatusError: Error, CustomStringConvertible, Sendable {
    public var method: String
    /// The request's URL, without credentials or query (see `redactedURL`).
    public var url: String
    public var status: Int
    /// From the response's `Retry-After`, when it had one.
    public var retryAfter: Double?

    public init(method: String, url: String, status: Int, retryAfter: Double? = nil) {
        self.method = method
        self.url = redactedURL(url)
        self.status = status
        self.retryAfter = retryAfter
    }

    public init(_ request: HTTPRequest, _ response: HTTPResponse) {
        self.init(method: request.method, url: request.url, status: response.status, retryAfter: response.retryAfter())
    }

    public var description: String {
        let reason = Self.reasons[status].map { " " + $0 } ?? ""
        return "\(method) \(url): HTTP \(status)\(reason)"
    }

    private static let reasons: [Int: String] = [
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
        408: "Request Timeout", 410: "Gone", 416: "Range Not Satisfiable", 429: "Too Many Requests",
        500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
    ]
}

/// `url` without a password and without its query, for errors and logs: registries redirect to signed
/// CDN URLs whose query is a credential, and a URL may carry `user:password@`.
public func redactedURL(_ url: String) -> String {
    guard var components = URLComponents(string: url) else { return url }
    if components.password != nil { components.password = "***" }
    let hadQuery = components.query != nil
    components.query = nil
    guard let text = components.string else { return url }
    return hadQuery ? text + "?…" : text
}
