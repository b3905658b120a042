import Foundation
import Testing

@testable import IsletBundle

@Suite struct HTTPClientTests {
    @Test func getStreamsTheBodyAndReportsHeaders() throws {
        let server = try LoopbackHTTPServer()
        let content = patternBytes(700_000)
        try server.serve("/dir/file.bin", bytes: content)
        var received: [UInt8] = []
        var chunks = 0
        let response = try HTTPClient(options: .loopback).send(HTTPRequest(url: server.url("/dir/file.bin"))) { chunk in
            received.append(contentsOf: chunk)
            chunks += 1
        }
        #expect(response.status == 200)
        #expect(response.header("Content-Length") == "700000")
        #expect(response.headers["accept-ranges"] == ["bytes"])
        #expect(response.effectiveURL == server.url("/dir/file.bin"))
        #expect(received == content)
        #expect(chunks > 1, "a body of 700 kB arrives in pieces, not whole")
        #expect(try server.requests(to: "/dir/file.bin").first?.headers["user-agent"] == "islet")
    }

    @Test func resumeFromSendsARangeAndGetsTheTail() throws {
        let server = try LoopbackHTTPServer()
        let content = patternBytes(10_000)
        try server.serve("/f", bytes: content)
        let (response, body) = try HTTPClient(options: .loopback).fetch(
            HTTPRequest(url: server.url("/f"), resumeFrom: 6_000))
        #expect(response.status == 206)
        #expect(response.header("content-range") == "bytes 6000-9999/10000")
        #expect(body == Array(content[6_000...]))
        #expect(try server.requests(to: "/f").map { $0.headers["range"] } == ["bytes=6000-"])
    }

    @Test func headHasNoBodyAndNon2xxIsAResponseNotAnError() throws {
        let server = try LoopbackHTTPServer()
        try server.serve("/f", bytes: patternBytes(1_234))
        let client = HTTPClient(options: .loopback)
        let (head, headBody) = try client.fetch(HTTPRequest(method: "HEAD", url: server.url("/f")), limit: 10)
        #expect(head.status == 200)
        #expect(head.contentLength == 1_234)
        #expect(headBody.isEmpty)
        let (missing, missingBody) = try client.fetch(HTTPRequest(url: server.url("/missing")))
        #expect(missing.status == 404)
        #expect(String(decoding: missingBody, as: UTF8.self) == "not found\n")
        #expect(try server.requests().map(\.method) == ["HEAD", "GET"])
    }

    @Test func fetchRefusesABodyOverItsLimit() throws {
        let server = try LoopbackHTTPServer()
        try server.serve("/big", bytes: patternBytes(4_096))
        let error = try #require(throws: HTTPError.self) {
            try HTTPClient(options: .loopback).fetch(HTTPRequest(url: server.url("/big")), limit: 4_095)
        }
        #expect(error.kind == .tooLarge(limit: 4_095))
        #expect(!error.isRetryable)
        #expect(error.description.contains("GET \(server.url("/big"))"))
        let (_, body) = try HTTPClient(options: .loopback).fetch(HTTPRequest(url: server.url("/big")), limit: 4_096)
        #expect(body.count == 4_096)
    }

    @Test func fileBodiesAreStreamedFromTheirRegionWithContentLength() throws {
        let server = try LoopbackHTTPServer()
        let content = patternBytes(3 << 20)
        let path = try server.serve("/source.bin", bytes: content)
        let client = HTTPClient(options: .loopback)
        let region = HTTPBody.file(path: path, offset: 1_000, length: 2 << 20)
        let upload = try client.send(HTTPRequest(method: "PUT", url: server.url("/up"), body: region)) { _ in }
        #expect(upload.status == 201)
        let bytes = try client.send(
            HTTPRequest(method: "POST", url: server.url("/post"), body: .bytes(Array("{}".utf8)))
        ) { _ in }
        #expect(bytes.status == 201)
        let empty = try client.send(HTTPRequest(method: "POST", url: server.url("/empty"))) { _ in }
        #expect(empty.status == 201)

        let put = try #require(try server.requests(to: "/up").first)
        #expect(put.method == "PUT")
        #expect(put.headers["content-length"] == "\(2 << 20)")
        #expect(put.headers["expect"] == nil)
        #expect(put.bodySHA256 == sha256Hex(Array(content[1_000..<(1_000 + (2 << 20))])))
        #expect(try server.requests(to: "/post").first?.bodySHA256 == sha256Hex(Array("{}".utf8)))
        let post = try #require(try server.requests(to: "/empty").first)
        #expect(post.method == "POST")
        #expect(post.headers["content-length"] == "0")
    }

    @Test func aFileBodyShorterThanItsLengthFailsNamingTheFile() throws {
        let server = try LoopbackHTTPServer()
        let path = try server.serve("/short", bytes: patternBytes(100))
        #expect(throws: HTTPBodyError.fileShorterThanDeclared(path: path, length: 200)) {
            try HTTPClient(options: .loopback).send(
                HTTPRequest(method: "PUT", url: server.url("/up"), body: .file(path: path, offset: 0, length: 200))
            ) { _ in }
        }
    }

    @Test func anErrorThrownWhileReceivingAbortsAndIsRethrownAsIs() throws {
        struct DiskFull: Error, Equatable {}
        let server = try LoopbackHTTPServer()
        try server.serve("/f", bytes: patternBytes(1 << 20))
        var calls = 0
        #expect(throws: DiskFull()) {
            try HTTPClient(options: .loopback).send(HTTPRequest(url: server.url("/f"))) { _ in
                calls += 1
                throw DiskFull()
            }
        }
        #expect(calls == 1)
    }

    @Test func aRedirectToAnotherHostDropsAuthorizationButASameOriginOneKeepsIt() throws {
        let registry = try LoopbackHTTPServer(host: "127.0.0.1")
        let cdn = try LoopbackHTTPServer(host: "127.0.0.2")
        let content = patternBytes(5_000)
        try cdn.serve("/blob", bytes: content)
        try registry.serve("/local", bytes: content)
        try registry.setRules([
            "/v2/blob": ["redirect": cdn.url("/blob?X-Signature=secret")],
            "/moved": ["redirect": "/local"],
        ])
        let client = HTTPClient(options: .loopback)
        let headers = [(name: "Authorization", value: "Bearer sekrit-token"), (name: "X-Trace", value: "1")]
        let (response, body) = try client.fetch(HTTPRequest(url: registry.url("/v2/blob"), headers: headers))
        #expect(response.status == 200)
        #expect(body == content)
        #expect(response.effectiveURL == cdn.url("/blob?X-Signature=secret"))
        #expect(try registry.requests(to: "/v2/blob").first?.headers["authorization"] == "Bearer sekrit-token")
        let atCDN = try #require(try cdn.requests(to: "/blob?X-Signature=secret").first)
        #expect(atCDN.headers["authorization"] == nil)
        #expect(atCDN.headers["x-trace"] == "1")

        let (sameOrigin, _) = try client.fetch(HTTPRequest(url: registry.url("/moved"), headers: headers))
        #expect(sameOrigin.status == 200)
        #expect(try registry.requests(to: "/local").first?.headers["authorization"] == "Bearer sekrit-token")
    }

    @Test func redirectsAreBounded() throws {
        let server = try LoopbackHTTPServer()
        try server.setRules(["/loop": ["redirect": server.url("/loop")]])
        let client = HTTPClient(options: HTTPOptions(maxRedirects: 3, environment: [:]))
        let error = try #require(throws: HTTPError.self) { try client.fetch(HTTPRequest(url: server.url("/loop"))) }
        #expect(error.kind == .tooManyRedirects)
        #expect(try server.requests(to: "/loop").count == 4)
    }

    @Test func aRefusedConnectionIsRetryableAndNamesTheRequestButNoHeaderValue() throws {
        let server = try LoopbackHTTPServer()
        let url = server.url("/f?token=abc")
        server.stop()
        let error = try #require(throws: HTTPError.self) {
            try HTTPClient(options: .loopback).fetch(
                HTTPRequest(url: url, headers: [(name: "Authorization", value: "Basic c2VjcmV0")]))
        }
        #expect(error.kind == .connection)
        #expect(error.isRetryable)
        #expect(error.description.hasPrefix("GET \(server.url("/f"))?…: "))
        #expect(!error.description.contains("c2VjcmV0"))
        #expect(!error.description.contains("abc"))
    }

    @Test func aStalledTransferIsATimeout() throws {
        let server = try LoopbackHTTPServer()
        try server.serve("/slow", bytes: patternBytes(100_000))
        try server.setRules(["/slow": ["stall_after": 1_000, "stall_seconds": 20]])
        let client = HTTPClient(options: HTTPOptions(lowSpeedLimit: 1_000, lowSpeedTime: 1, environment: [:]))
        let error = try #require(throws: HTTPError.self) { try client.fetch(HTTPRequest(url: server.url("/slow"))) }
        #expect(error.kind == .timeout)
        #expect(error.isRetryable)
    }

    @Test func manyThreadsShareOneClient() throws {
        let server = try LoopbackHTTPServer()
        let files = (0..<8).map { patternBytes(200_000 + $0, seed: UInt64($0 + 1)) }
        for (index, content) in files.enumerated() { try server.serve("/f\(index)", bytes: content) }
        let client = HTTPClient(options: .loopback)
        let results = ResultBox<Result<[UInt8], any Error>>(count: 32)
        DispatchQueue.concurrentPerform(iterations: 32) { index in
            results.set(index, Result { try client.fetch(HTTPRequest(url: server.url("/f\(index % 8)"))).1 })
        }
        for index in 0..<32 {
            #expect(try results.get(index).get() == files[index % 8])
        }
    }

    @Test func redactedURLHidesPasswordsAndQueries() {
        #expect(redactedURL("https://user:pw@host/a/b?sig=1&x=2") == "https://user:***@host/a/b?…")
        #expect(redactedURL("https://host:8443/a") == "https://host:8443/a")
    }

    @Test func retryAfterReadsSecondsAndDates() {
        let now = Date(timeIntervalSince1970: 1_000_000_000)
        let seconds = HTTPResponse(status: 429, headers: ["retry-after": ["7"]], effectiveURL: "")
        #expect(seconds.retryAfter(now: now) == 7)
        // 2001-09-09T01:46:40Z is 1_000_000_000; 30 s later:
        let date = HTTPResponse(
            status: 503, headers: ["retry-after": ["Sun, 09 Sep 2001 01:47:10 GMT"]], effectiveURL: "")
        #expect(date.retryAfter(now: now) == 30)
        #expect(HTTPResponse(status: 503, headers: [:], effectiveURL: "").retryAfter(now: now) == nil)
    }
}

/// Results written by concurrent workers, read after they are done.
final class ResultBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Value?]

    init(count: Int) { values = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Value) { lock.withLock { values[index] = value } }

    func get(_ index: Int) -> Value { lock.withLock { values[index]! } }
}
