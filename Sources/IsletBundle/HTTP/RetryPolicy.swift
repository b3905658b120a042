import Foundation

/// Whether trying again may help, as an error says of itself.
public enum RetryAdvice: Sendable, Equatable {
    /// Permanent: a 4xx, a digest mismatch, a bad certificate.
    case never
    /// Transient: retry after the policy's backoff.
    case backoff
    /// Transient, and the server said when (Retry-After, in seconds); the policy caps it.
    case after(seconds: Double)
}

/// An error that knows whether a retry may succeed. Errors that do not conform are never retried.
public protocol RetryableError: Error {
    var retryAdvice: RetryAdvice { get }
}

extension HTTPError: RetryableError {
    /// Timeouts and connection failures pass with time; TLS, size and redirect failures do not.
    public var retryAdvice: RetryAdvice { isRetryable ? .backoff : .never }
}

extension HTTPStatusError: RetryableError {
    /// 5xx and 429 are the server's trouble and may pass (honouring Retry-After); other statuses will not.
    public var retryAdvice: RetryAdvice {
        guard status >= 500 || status == 429 || status == 408 else { return .never }
        return retryAfter.map { .after(seconds: $0) } ?? .backoff
    }
}

/// Retries with bounded, jittered exponential backoff, for downloads and registry calls alike.
///
/// The n-th retry waits `initialDelay * 2^(n-1)` capped at `maxDelay`, of which a random half is
/// dropped (so that many clients that failed together do not return together), or the server's
/// Retry-After capped at `maxRetryAfter`. Blocking: it sleeps the calling thread, like the client.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included; 1 means no retry.
    public var attempts: Int
    public var initialDelay: Double
    public var maxDelay: Double
    public var maxRetryAfter: Double

    public init(attempts: Int = 5, initialDelay: Double = 1, maxDelay: Double = 30, maxRetryAfter: Double = 120) {
        self.attempts = max(1, attempts)
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// No retries: the first failure is final.
    public static let none = RetryPolicy(attempts: 1)

    /// Seconds to wait before retry number `retry` (1 for the first), given the error's advice;
    /// `random` is a number in 0...1 (injected so that tests can pin the jitter).
    public func delay(beforeRetry retry: Int, advice: RetryAdvice, random: Double = Double.random(in: 0...1))
        -> Double
    {
        switch advice {
        case .never:
            return 0
        case .after(let seconds):
            return min(max(0, seconds), maxRetryAfter)
        case .backoff:
            let exponential = min(maxDelay, initialDelay * pow(2, Double(max(0, retry - 1))))
            return exponential / 2 + exponential / 2 * min(max(random, 0), 1)
        }
    }

    /// What `run` tells its observer before each wait.
    public struct Retry: Sendable {
        /// The attempt about to run within the current budget (2 for the first retry), and the budget.
        public var attempt: Int
        public var attempts: Int
        public var delay: Double
        public var error: any Error
    }

    /// Runs `operation` until it succeeds, fails with an error that advises against retrying, or has
    /// used up its attempts; then rethrows the last error as it was.
    /// - Parameters:
    ///   - operation: Gets the attempt number (1 for the first). A failure that still made progress can
    ///     be thrown wrapped in `RetryPolicy.Progressed`, which starts the budget again.
    ///   - onRetry: Told before each wait, to log "retrying in 2 s".
    public func run<Result>(
        onRetry: (Retry) -> Void = { _ in }, operation: (_ attempt: Int) throws -> Result
    ) throws -> Result {
        var attempt = 1
        var retries = 0
        while true {
            do {
                return try operation(attempt)
            } catch let progressed as Progressed {
                // The attempt moved the work forward before failing: the budget starts again.
                retries = 0
                attempt += 1
                try wait(after: progressed.error, retries: &retries, onRetry: onRetry)
            } catch {
                attempt += 1
                try wait(after: error, retries: &retries, onRetry: onRetry)
            }
        }
    }

    private func wait(after error: Error, retries: inout Int, onRetry: (Retry) -> Void) throws {
        let advice = (error as? RetryableError)?.retryAdvice ?? .never
        retries += 1
        guard advice != .never, retries < attempts else { throw error }
        let seconds = delay(beforeRetry: retries, advice: advice)
        onRetry(Retry(attempt: retries + 1, attempts: attempts, delay: seconds, error: error))
        if seconds > 0 { Thread.sleep(forTimeInterval: seconds) }
    }

    /// Thrown by an operation whose failed attempt still made progress (a download that grew its
    /// partial file): the error is judged as usual, but the attempt does not count against the budget,
    /// so a link that drops every few hundred megabytes still completes a large file.
    public struct Progressed: Error, CustomStringConvertible {
        public var error: any Error
        public init(_ error: any Error) { self.error = error }
        public var description: String { "\(error)" }
    }
}
