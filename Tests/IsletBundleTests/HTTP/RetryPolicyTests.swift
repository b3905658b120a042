import Foundation
import Testing

@testable import IsletBundle

@Suite struct RetryPolicyTests {
    private let quick = RetryPolicy(attempts: 4, initialDelay: 0.01, maxDelay: 0.05, maxRetryAfter: 0.05)

    /// GET that turns a non-2xx status into the error the policy judges.
    private func get(_ client: HTTPClient, _ url: String) throws -> [UInt8] {
        let request = HTTPRequest(url: url)
        let (response, body) = try client.fetch(request)
        guard response.isSuccess else { throw HTTPStatusError(request, response) }
        return body
    }

    @Test func a503TwiceThenSuccessIsRetriedAndHonoursRetryAfterWithinTheCap() throws {
        let server = try LoopbackHTTPServer()
        let content = patternBytes(1_000)
        try server.serve("/f", bytes: content)
        try server.setRules(["/f": ["fail_status": 503, "fail_times": 2, "retry_after": "3600"]])
        var retries: [RetryPolicy.Retry] = []
        let body = try quick.run(
            onRetry: { retries.append($0) },
            operation: { _ in try get(HTTPClient(options: .loopback), server.url("/f")) })
        #expect(body == content)
        #expect(try server.requests(to: "/f").count == 3)
        #expect(retries.map(\.attempt) == [2, 3])
        #expect(retries.map(\.delay) == [0.05, 0.05], "Retry-After: 3600 capped at maxRetryAfter")
        #expect(retries.allSatisfy { ($0.error as? HTTPStatusError)?.status == 503 })
    }

    @Test func a404FailsAtOnce() throws {
        let server = try LoopbackHTTPServer()
        var retries = 0
        let error = try #require(throws: HTTPStatusError.self) {
            try quick.run(
                onRetry: { _ in retries += 1 },
                operation: { _ in try get(HTTPClient(options: .loopback), server.url("/missing")) })
        }
        #expect(error.status == 404)
        #expect(error.description == "GET \(server.url("/missing")): HTTP 404 Not Found")
        #expect(retries == 0)
        #expect(try server.requests(to: "/missing").count == 1)
    }

    @Test func attemptsAreBoundedAndTheLastErrorIsThrown() throws {
        let server = try LoopbackHTTPServer()
        try server.setRules(["/f": ["fail_status": 502, "fail_times": 100]])
        let error = try #require(throws: HTTPStatusError.self) {
            try quick.run { _ in try get(HTTPClient(options: .loopback), server.url("/f")) }
        }
        #expect(error.status == 502)
        #expect(try server.requests(to: "/f").count == 4)
    }

    @Test func connectionFailuresAreRetried() throws {
        let server = try LoopbackHTTPServer()
        let url = server.url("/f")
        server.stop()
        var attempts = 0
        #expect(throws: HTTPError.self) {
            try quick.run { _ in
                attempts += 1
                return try get(HTTPClient(options: .loopback), url)
            }
        }
        #expect(attempts == 4)
    }

    @Test func progressResetsTheBudget() throws {
        struct Cut: RetryableError { var retryAdvice: RetryAdvice { .backoff } }
        var attempts = 0
        let result = try RetryPolicy(attempts: 2, initialDelay: 0).run { attempt in
            attempts = attempt
            if attempt < 6 { throw RetryPolicy.Progressed(Cut()) }
            return "done"
        }
        #expect(result == "done")
        #expect(attempts == 6)
    }

    @Test func adviceFollowsTheStatus() {
        func advice(_ status: Int, _ retryAfter: Double? = nil) -> RetryAdvice {
            HTTPStatusError(method: "GET", url: "http://x/", status: status, retryAfter: retryAfter).retryAdvice
        }
        #expect(advice(500) == .backoff)
        #expect(advice(503, 2) == .after(seconds: 2))
        #expect(advice(429) == .backoff)
        #expect(advice(429, 9) == .after(seconds: 9))
        #expect(advice(400) == .never)
        #expect(advice(401) == .never)
        #expect(advice(404) == .never)
        #expect(HTTPError(method: "GET", url: "u", kind: .tls, message: "m").retryAdvice == .never)
        #expect(HTTPError(method: "GET", url: "u", kind: .timeout, message: "m").retryAdvice == .backoff)
    }

    @Test func backoffDoublesIsCappedAndJitteredWithinItsUpperHalf() {
        let policy = RetryPolicy(attempts: 10, initialDelay: 1, maxDelay: 8)
        #expect(policy.delay(beforeRetry: 1, advice: .backoff, random: 1) == 1)
        #expect(policy.delay(beforeRetry: 1, advice: .backoff, random: 0) == 0.5)
        #expect(policy.delay(beforeRetry: 2, advice: .backoff, random: 1) == 2)
        #expect(policy.delay(beforeRetry: 3, advice: .backoff, random: 1) == 4)
        #expect(policy.delay(beforeRetry: 4, advice: .backoff, random: 1) == 8)
        #expect(policy.delay(beforeRetry: 9, advice: .backoff, random: 1) == 8)
        #expect(policy.delay(beforeRetry: 9, advice: .backoff, random: 0) == 4)
        #expect(policy.delay(beforeRetry: 1, advice: .after(seconds: 500)) == 120)
        #expect(policy.delay(beforeRetry: 1, advice: .after(seconds: 3)) == 3)
    }
}
