import Foundation

/// How `HTTPClient` connects: trust, timeouts, identity, redirects and proxies.
public struct HTTPOptions: Sendable {
    /// A PEM file of CA certificates to trust instead of the system's (`--cacert`); libcurl's CAINFO.
    public var caCertificatePath: String?
    /// Seconds to wait for a connection (TCP and TLS) before giving up.
    public var connectTimeout: Double
    /// A transfer slower than `lowSpeedLimit` bytes/s for `lowSpeedTime` seconds is stalled: a timeout.
    /// There is no overall time limit, since a large file on a slow link may rightly take hours.
    public var lowSpeedLimit: Int
    public var lowSpeedTime: Int
    public var userAgent: String
    /// Redirects followed before the request fails.
    public var maxRedirects: Int
    /// Where the proxy variables are read: http_proxy, HTTPS_PROXY/https_proxy, ALL_PROXY/all_proxy,
    /// NO_PROXY/no_proxy (lowercase first, as libcurl does, and also HTTP_PROXY). The process environment
    /// unless given, so that tests can set a proxy for one client without changing the whole process.
    public var environment: [String: String]
    /// `HOST:PORT:CONNECT-HOST:CONNECT-PORT` entries (libcurl's CONNECT_TO): requests for HOST:PORT connect
    /// there instead, while TLS still checks HOST. How a push through a port forward verifies the store.
    public var connectTo: [String] = []

    public init(
        caCertificatePath: String? = nil, connectTimeout: Double = 30, lowSpeedLimit: Int = 1024,
        lowSpeedTime: Int = 60, userAgent: String = "islet", maxRedirects: Int = 10,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.caCertificatePath = caCertificatePath
        self.connectTimeout = connectTimeout
        self.lowSpeedLimit = lowSpeedLimit
        self.lowSpeedTime = lowSpeedTime
        self.userAgent = userAgent
        self.maxRedirects = maxRedirects
        self.environment = environment
    }
}

/// The proxy to use for a URL's scheme and the hosts that bypass it, resolved from environment variables
/// the way libcurl does, and then handed to libcurl explicitly (CURLOPT_PROXY, CURLOPT_NOPROXY), which
/// keeps libcurl's own NO_PROXY matching (domains, IPs, CIDR, `*`). Unlike libcurl, uppercase HTTP_PROXY is
/// honoured too: libcurl skips it only to protect CGI programs, which islet is not.
struct ProxySettings: Equatable {
    var http: String?
    var https: String?
    var noProxy: String?

    init(environment: [String: String]) {
        func first(_ names: String...) -> String? {
            names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        }
        let all = first("all_proxy", "ALL_PROXY")
        http = first("http_proxy", "HTTP_PROXY") ?? all
        https = first("https_proxy", "HTTPS_PROXY") ?? all
        noProxy = first("no_proxy", "NO_PROXY")
    }

    /// The proxy for `url`, or nil to connect directly (before NO_PROXY, which libcurl applies).
    func proxy(for url: String) -> String? {
        let scheme = url.prefix { $0 != ":" }.lowercased()
        switch scheme {
        case "http": return http
        case "https": return https
        default: return nil
        }
    }
}
