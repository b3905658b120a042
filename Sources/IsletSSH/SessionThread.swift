import Foundation
import Synchronization

/// The one OS thread that makes every libssh2 call for one session.
///
/// libssh2 sessions are not thread-safe and their calls block, so they must
/// neither hop between threads nor occupy Swift's cooperative pool. Async
/// callers enqueue jobs here and are resumed when a job finishes. The thread
/// also owns the session's state, which is freed on this thread when it
/// stops.
final class SessionThread: @unchecked Sendable {
    // Guards everything below except `state`.
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var stopping = false
    private var finished = false
    private var finishWaiters: [CheckedContinuation<Void, Never>] = []
    private var thread: pthread_t?
    private var joined = false

    /// Touched only by jobs, which run on the thread.
    private var state: SessionState?

    private let node: String

    init(node: String) throws {
        self.node = node
        var thread = pthread_t()
        // The thread holds a reference to self until it exits.
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { context in
                guard let context else { return nil }
                let owner = Unmanaged<SessionThread>.fromOpaque(context).takeRetainedValue()
                owner.main()
                return nil
            }, context)
        guard rc == 0 else {
            Unmanaged<SessionThread>.fromOpaque(context).release()
            throw SSHError.connectionLost(node: node, reason: "cannot start a session thread: \(errnoDescription(rc))")
        }
        condition.lock()
        self.thread = thread
        condition.unlock()
        Self.unjoined.withLock { $0[node, default: 0] += 1 }
    }

    /// Threads started and not yet joined, by node name, so that tests can
    /// show that no path (a failed connect, close) leaves one behind.
    private static let unjoined = Mutex<[String: Int]>([:])

    static func unjoinedCount(nodePrefix: String) -> Int {
        unjoined.withLock { $0.filter { $0.key.hasPrefix(nodePrefix) }.values.reduce(0, +) }
    }

    /// Runs `body` on the session thread with the session state.
    func perform<T: Sendable>(_ body: @escaping @Sendable (inout SessionState?) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = enqueue { [unowned self] in
                do {
                    continuation.resume(returning: try body(&self.state))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            if !accepted { continuation.resume(throwing: SSHError.closed(node: node)) }
        }
    }

    /// Queues `body` without waiting for it (the bastion's long-running pump).
    func start(_ body: @escaping @Sendable (inout SessionState?) -> Void) {
        _ = enqueue { [unowned self] in body(&self.state) }
    }

    /// Lets queued jobs finish, frees the session state on the thread, and joins it.
    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if finished {
                condition.unlock()
                continuation.resume()
                return
            }
            stopping = true
            finishWaiters.append(continuation)
            condition.signal()
            condition.unlock()
        }
        // The thread has resumed us as its last act, so this wait is short.
        join()
    }

    /// Synchronous shutdown for deinit and other places that cannot await.
    func shutdownBlocking() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        join()
    }

    private func enqueue(_ job: @escaping () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    private func join() {
        condition.lock()
        guard !joined, let thread else {
            condition.unlock()
            return
        }
        joined = true
        condition.unlock()
        if pthread_equal(thread, pthread_self()) != 0 {
            // Released from one of its own jobs; it exits right after.
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
        Self.unjoined.withLock { $0[node, default: 0] -= 1 }
    }

    private func main() {
        while let job = next() {
            job()
        }
        state = nil
        condition.lock()
        finished = true
        let waiters = finishWaiters
        finishWaiters = []
        condition.unlock()
        for waiter in waiters { waiter.resume() }
    }

    private func next() -> (() -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty && !stopping {
            condition.wait()
        }
        return jobs.isEmpty ? nil : jobs.removeFirst()
    }
}

/// Everything a connection keeps on its session thread.
final class SessionState {
    let session: Session
    var sftp: SFTPClient?
    var tunnel: Tunnel?

    init(session: Session) {
        self.session = session
    }
}
