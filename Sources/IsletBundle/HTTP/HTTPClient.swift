import CCurl
import Foundation

/// A blocking HTTP client over libcurl's easy API, safe to call from many threads at once: each call
/// borrows its own easy handle from a small pool (so connections are reused across calls) and runs the
/// whole transfer on the calling thread. Call it from threads of your own, not from Swift's cooperative
/// pool, which a transfer of minutes would starve.
///
/// Redirects are followed here rather than by libcurl, so that the rule for credentials is ours and
/// visible: an `Authorization` header goes only to the origin (scheme, host, port) of the first request,
/// never to the CDN a registry redirects a blob download to.
public final class HTTPClient: Sendable {
    public let options: HTTPOptions
    private let proxies: ProxySettings
    private let handles = EasyHandlePool()

    public init(options: HTTPOptions = HTTPOptions()) {
        self.options = options
        self.proxies = ProxySettings(environment: options.environment)
    }

    /// Sends `request` and streams the final response's body, whatever its status, to `receive`.
    /// - Returns: The final response after redirects; a non-2xx status is not an error here.
    /// - Throws: `HTTPError` when the transfer fails, or whatever `receive` threw (which aborts it).
    public func send(_ request: HTTPRequest, receive: (UnsafeRawBufferPointer) throws -> Void) throws -> HTTPResponse {
        try send(request, onHead: { _ in }, receive: receive)
    }

    /// `send`, with `onHead` called once with the final response's status and headers before any of its
    /// body, so that a caller can decide how to take the body (append to a partial file, or start over),
    /// or refuse it by throwing.
    public func send(
        _ request: HTTPRequest, onHead: (HTTPResponse) throws -> Void,
        receive: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> HTTPResponse {
        let global = curlGlobalInit
        guard global == CURLE_OK else {
            throw HTTPError(
                method: request.method, url: request.url, kind: .other(code: Int(global.rawValue)),
                message: "libcurl did not initialise: \(String(cString: curl_easy_strerror(global)))")
        }
        let handle = handles.take()
        defer { handles.giveBack(handle) }
        let origin = Origin(request.url)
        var hop = request
        var redirects = 0
        while true {
            switch try perform(hop, handle: handle, onHead: onHead, receive: receive) {
            case .final(let response):
                return response
            case .redirect(let status, let location):
                guard redirects < options.maxRedirects else {
                    throw HTTPError(
                        method: request.method, url: request.url, kind: .tooManyRedirects,
                        message: "more than \(options.maxRedirects) redirects")
                }
                redirects += 1
                hop = Self.nextHop(after: hop, status: status, location: location, original: request, origin: origin)
            }
        }
    }

    /// Sends `request` and returns its whole body, for small documents (JSON, manifests); the body of
    /// any status is returned, so that a caller can read a registry's error document.
    /// - Throws: `HTTPError` of kind `.tooLarge` when the body is longer than `limit` bytes.
    public func fetch(_ request: HTTPRequest, limit: Int = 8 << 20) throws -> (HTTPResponse, [UInt8]) {
        var body: [UInt8] = []
        let tooLarge = HTTPError(
            method: request.method, url: request.url, kind: .tooLarge(limit: limit),
            message: "response body larger than \(limit) bytes")
        let response = try send(
            request,
            onHead: { head in
                guard request.method != "HEAD", let length = head.contentLength else { return }
                guard length <= limit else { throw tooLarge }
                body.reserveCapacity(Int(length))
            },
            receive: { chunk in
                guard body.count + chunk.count <= limit else { throw tooLarge }
                body.append(contentsOf: chunk)
            })
        return (response, body)
    }

    // MARK: - One hop

    private enum Hop {
        case final(HTTPResponse)
        case redirect(status: Int, location: String)
    }

    private func perform(
        _ request: HTTPRequest, handle: EasyHandle, onHead: (HTTPResponse) throws -> Void,
        receive: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> Hop {
        try withoutActuallyEscaping(onHead) { onHead in
            try withoutActuallyEscaping(receive) { receive in
                let transfer = Transfer(url: request.url, onHead: onHead, receive: receive)
                defer { transfer.close() }
                var headers = CurlStringList()
                var connectTo = CurlStringList()
                defer {
                    headers.free()
                    connectTo.free()
                }
                let code =
                    try configure(handle, for: request, transfer: transfer, headers: &headers, connectTo: &connectTo)
                    ?? withExtendedLifetime(transfer) { curl_easy_perform(handle.pointer) }
                if let error = transfer.callbackError { throw error }
                guard code == CURLE_OK else {
                    throw HTTPError(
                        method: request.method, url: request.url, code: code, detail: handle.errorMessage,
                        caCertificatePath: options.caCertificatePath)
                }
                if let status = transfer.redirectStatus, let location = handle.redirectURL {
                    return .redirect(status: status, location: location)
                }
                guard let response = transfer.response else {
                    throw HTTPError(
                        method: request.method, url: request.url, kind: .other(code: 0),
                        message: "no response received")
                }
                return .final(response)
            }
        }
    }

    /// Sets every option for one hop; returns a libcurl error if one was refused.
    private func configure(
        _ handle: EasyHandle, for request: HTTPRequest, transfer: Transfer, headers: inout CurlStringList,
        connectTo: inout CurlStringList
    ) throws -> CURLcode? {
        curl_easy_reset(handle.pointer)
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        var codes: [CURLcode] = [
            islet_curl_setopt_pointer(handle.pointer, CURLOPT_ERRORBUFFER, handle.errorBuffer),
            islet_curl_setopt_string(handle.pointer, CURLOPT_URL, request.url),
            islet_curl_setopt_string(handle.pointer, CURLOPT_PROTOCOLS_STR, "http,https"),
            islet_curl_setopt_long(handle.pointer, CURLOPT_NOSIGNAL, 1),
            islet_curl_setopt_long(handle.pointer, CURLOPT_TCP_KEEPALIVE, 1),
            islet_curl_setopt_long(handle.pointer, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1),
            islet_curl_setopt_long(handle.pointer, CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000)),
            islet_curl_setopt_long(handle.pointer, CURLOPT_LOW_SPEED_LIMIT, options.lowSpeedLimit),
            islet_curl_setopt_long(handle.pointer, CURLOPT_LOW_SPEED_TIME, options.lowSpeedTime),
            islet_curl_setopt_long(handle.pointer, CURLOPT_BUFFERSIZE, 256 << 10),
            islet_curl_setopt_long(handle.pointer, CURLOPT_UPLOAD_BUFFERSIZE, 256 << 10),
            islet_curl_setopt_string(handle.pointer, CURLOPT_USERAGENT, options.userAgent),
            islet_curl_setopt_string(handle.pointer, CURLOPT_PROXY, proxies.proxy(for: request.url) ?? ""),
            islet_curl_setopt_string(handle.pointer, CURLOPT_NOPROXY, proxies.noProxy ?? ""),
            islet_curl_setopt_header_function(handle.pointer, Transfer.headerCallback),
            islet_curl_setopt_pointer(handle.pointer, CURLOPT_HEADERDATA, context),
            islet_curl_setopt_write_function(handle.pointer, Transfer.writeCallback),
            islet_curl_setopt_pointer(handle.pointer, CURLOPT_WRITEDATA, context),
        ]
        if let path = options.caCertificatePath {
            codes.append(islet_curl_setopt_string(handle.pointer, CURLOPT_CAINFO, path))
            codes.append(islet_curl_setopt_string(handle.pointer, CURLOPT_PROXY_CAINFO, path))
        }
        if !options.connectTo.isEmpty {
            for entry in options.connectTo { connectTo.append(entry) }
            codes.append(islet_curl_setopt_pointer(handle.pointer, CURLOPT_CONNECT_TO, connectTo.list))
        }
        if let offset = request.resumeFrom {
            codes.append(islet_curl_setopt_string(handle.pointer, CURLOPT_RANGE, "\(offset)-"))
        }
        for header in request.headers {
            // "Name:" would remove a header libcurl adds; "Name;" is how libcurl sends an empty one.
            headers.append(header.value.isEmpty ? "\(header.name);" : "\(header.name): \(header.value)")
        }
        switch (request.method, request.body) {
        case ("GET", .none):
            codes.append(islet_curl_setopt_long(handle.pointer, CURLOPT_HTTPGET, 1))
        case ("HEAD", .none):
            codes.append(islet_curl_setopt_long(handle.pointer, CURLOPT_NOBODY, 1))
        case ("DELETE", .none), ("OPTIONS", .none):
            codes.append(islet_curl_setopt_string(handle.pointer, CURLOPT_CUSTOMREQUEST, request.method))
        default:
            // Any other method, or any body: an upload of a known length read through the read callback,
            // so libcurl sends Content-Length (also 0) and never needs the whole body in memory.
            try transfer.open(request.body)
            headers.append("Expect:")  // no 100-continue round trip before every upload
            codes += [
                islet_curl_setopt_long(handle.pointer, CURLOPT_UPLOAD, 1),
                islet_curl_setopt_offset(handle.pointer, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body.length)),
                islet_curl_setopt_read_function(handle.pointer, Transfer.readCallback),
                islet_curl_setopt_pointer(handle.pointer, CURLOPT_READDATA, context),
                islet_curl_setopt_string(handle.pointer, CURLOPT_CUSTOMREQUEST, request.method),
            ]
        }
        if let list = headers.list {
            codes.append(islet_curl_setopt_pointer(handle.pointer, CURLOPT_HTTPHEADER, list))
        }
        return codes.first { $0 != CURLE_OK }
    }

    /// The request for the next hop of a redirect: the method and body as browsers and libcurl change
    /// them (303 becomes GET, and so do 301 and 302 after a POST), and no `Authorization` header unless
    /// the new URL has the first request's origin.
    static func nextHop(
        after hop: HTTPRequest, status: Int, location: String, original: HTTPRequest, origin: Origin
    ) -> HTTPRequest {
        var next = hop
        next.url = location
        let becomesGet =
            (status == 303 && hop.method != "HEAD") || ((status == 301 || status == 302) && hop.method == "POST")
        if becomesGet {
            next.method = "GET"
            next.body = .none
            next.headers.removeAll { $0.name.lowercased() == "content-type" }
        }
        next.headers.removeAll { $0.name.lowercased() == "authorization" }
        if Origin(location) == origin {
            next.headers += original.headers.filter { $0.name.lowercased() == "authorization" }
        }
        return next
    }
}

/// Scheme, host and port of a URL, with the default port filled in: credentials go only to the origin
/// they were meant for.
struct Origin: Equatable {
    var scheme: String
    var host: String
    var port: Int

    init(_ url: String) {
        let components = URLComponents(string: url)
        scheme = components?.scheme?.lowercased() ?? ""
        host = components?.host?.lowercased() ?? ""
        port = components?.port ?? (scheme == "https" ? 443 : 80)
    }
}

/// libcurl's global state, set up exactly once (Swift runs a global's initialiser once, thread-safely).
/// SIGPIPE is ignored for the process: libcurl cannot ignore it per call when CURLOPT_NOSIGNAL is set,
/// which threads require, and a TLS write to a closed peer would otherwise kill islet.
private let curlGlobalInit: CURLcode = {
    signal(SIGPIPE, SIG_IGN)
    return islet_curl_global_init_all()
}()
