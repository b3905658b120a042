import CCurl

/// A transfer that did not complete: the method, the URL (without credentials or query) and libcurl's
/// own message. Never a header value, so an Authorization header cannot leak through it.
public struct HTTPError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// Connect timeout, or a transfer slower than the low-speed limit for too long (stalled).
        case timeout
        /// Could not resolve or connect, or the connection broke mid-transfer: worth trying again.
        case connection
        /// The TLS handshake failed or the server's certificate is not trusted.
        case tls
        /// More redirects than `HTTPOptions.maxRedirects`.
        case tooManyRedirects
        /// A body larger than the caller's limit (`HTTPClient.fetch`).
        case tooLarge(limit: Int)
        /// Anything else libcurl reports, with its code.
        case other(code: Int)
    }

    public var method: String
    public var url: String
    public var kind: Kind
    /// libcurl's message, with the detail of its error buffer when it has one.
    public var message: String

    public init(method: String, url: String, kind: Kind, message: String) {
        self.method = method
        self.url = redactedURL(url)
        self.kind = kind
        self.message = message
    }

    /// True for timeouts and connection failures: a later attempt may succeed.
    public var isRetryable: Bool { kind == .timeout || kind == .connection }

    public var description: String { "\(method) \(url): \(message)" }

    /// Classifies a libcurl result and words it for a user; `detail` is the error buffer's text.
    init(method: String, url: String, code: CURLcode, detail: String, caCertificatePath: String?) {
        let summary = String(cString: curl_easy_strerror(code))
        var message = detail.isEmpty || detail == summary ? summary : "\(summary): \(detail)"
        let kind: Kind
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            kind = .timeout
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT, CURLE_PARTIAL_FILE,
            CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_HTTP2, CURLE_HTTP2_STREAM:
            kind = .connection
        case CURLE_PEER_FAILED_VERIFICATION:
            kind = .tls
            message +=
                caCertificatePath.map { " (not signed by the CA in \($0))" }
                ?? " (the server's certificate is not trusted; pass --cacert FILE with the CA that signed it)"
        case CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE,
            CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE:
            kind = .tls
            if code == CURLE_SSL_CACERT_BADFILE, let caCertificatePath {
                message += " (cannot use CA file \(caCertificatePath))"
            }
        default:
            kind = .other(code: Int(code.rawValue))
        }
        self.init(method: method, url: url, kind: kind, message: message)
    }
}
