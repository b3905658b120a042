import Foundation
import Testing

@testable import IsletBundle

@Suite struct ProxyAndTLSTests {
    @Test func httpProxyFromTheEnvironmentCarriesHttpRequests() throws {
        let server = try LoopbackHTTPServer()
        let proxy = try LoopbackHTTPServer(proxy: true)
        let content = patternBytes(300_000)
        try server.serve("/f", bytes: content)
        let client = HTTPClient(options: HTTPOptions(environment: ["HTTP_PROXY": proxy.baseURL]))
        let (response, body) = try client.fetch(HTTPRequest(url: server.url("/f")))
        #expect(response.status == 200)
        #expect(response.header("via") == "1.1 islet-test-proxy")
        #expect(body == content)
        #expect(try proxy.requests(to: server.url("/f")).count == 1)
        #expect(try server.requests(to: "/f").count == 1)
    }

    @Test func noProxyBypassesTheProxy() throws {
        let server = try LoopbackHTTPServer()
        let proxy = try LoopbackHTTPServer(proxy: true)
        try server.serve("/f", bytes: patternBytes(10))
        let environment = ["http_proxy": proxy.baseURL, "NO_PROXY": "localhost,127.0.0.1"]
        let (response, _) = try HTTPClient(options: HTTPOptions(environment: environment))
            .fetch(HTTPRequest(url: server.url("/f")))
        #expect(response.status == 200)
        #expect(try proxy.requests().isEmpty)
        #expect(try server.requests(to: "/f").count == 1)
    }

    @Test func httpsProxyTunnelsToATLSServerTrustedThroughTheGivenCA() throws {
        let scratch = try makeScratchDirectory("islet-tls")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let certificates = try TestCertificates(in: scratch)
        let server = try LoopbackHTTPServer(tls: certificates)
        let proxy = try LoopbackHTTPServer(proxy: true)
        let content = patternBytes(50_000)
        try server.serve("/f", bytes: content)
        let options = HTTPOptions(
            caCertificatePath: certificates.caCertificate, environment: ["HTTPS_PROXY": proxy.baseURL])
        let (response, body) = try HTTPClient(options: options).fetch(HTTPRequest(url: server.url("/f")))
        #expect(response.status == 200)
        #expect(body == content)
        #expect(try proxy.requests().map(\.method) == ["CONNECT"])
        #expect(try proxy.requests().first?.path == "127.0.0.1:\(server.port)")
    }

    @Test func cacertIsTrustedAndWithoutItTheServerIsRefusedWithAClearError() throws {
        let scratch = try makeScratchDirectory("islet-tls")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let certificates = try TestCertificates(in: scratch)
        let server = try LoopbackHTTPServer(tls: certificates)
        try server.serve("/f", bytes: patternBytes(1_000))
        let trusted = HTTPClient(options: HTTPOptions(caCertificatePath: certificates.caCertificate, environment: [:]))
        let (response, body) = try trusted.fetch(HTTPRequest(url: server.url("/f")))
        #expect(response.status == 200)
        #expect(body.count == 1_000)

        let untrusted = HTTPClient(options: HTTPOptions(environment: [:]))
        let error = try #require(throws: HTTPError.self) { try untrusted.fetch(HTTPRequest(url: server.url("/f"))) }
        #expect(error.kind == .tls)
        #expect(!error.isRetryable)
        #expect(error.description.hasPrefix("GET \(server.url("/f")): "))
        #expect(error.description.contains("certificate"))
        #expect(error.description.contains("--cacert"))

        // Another CA's file: refused too, and the message names the file that did not vouch for it.
        let otherScratch = try makeScratchDirectory("islet-tls")
        defer { try? FileManager.default.removeItem(atPath: otherScratch) }
        let other = try TestCertificates(in: otherScratch)
        let wrongCA = HTTPClient(options: HTTPOptions(caCertificatePath: other.caCertificate, environment: [:]))
        let wrong = try #require(throws: HTTPError.self) { try wrongCA.fetch(HTTPRequest(url: server.url("/f"))) }
        #expect(wrong.kind == .tls)
        #expect(wrong.description.contains(other.caCertificate))
    }

    @Test func proxySettingsFollowLibcurlsPrecedence() {
        let lowerFirst = ProxySettings(environment: [
            "http_proxy": "http://lower:1", "HTTP_PROXY": "http://upper:1", "HTTPS_PROXY": "http://secure:1",
            "no_proxy": "a", "NO_PROXY": "b",
        ])
        #expect(lowerFirst.proxy(for: "http://x/") == "http://lower:1")
        #expect(lowerFirst.proxy(for: "HTTPS://x/") == "http://secure:1")
        #expect(lowerFirst.noProxy == "a")
        let allProxy = ProxySettings(environment: ["ALL_PROXY": "http://all:1", "https_proxy": ""])
        #expect(allProxy.proxy(for: "https://x/") == "http://all:1")
        #expect(allProxy.proxy(for: "http://x/") == "http://all:1")
        #expect(ProxySettings(environment: [:]).proxy(for: "http://x/") == nil)
    }
}
