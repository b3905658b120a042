import Foundation

/// Hashes, on a thread of its own, the bytes a download hands it, so that sha256 (about a second of CPU
/// per GiB) overlaps receiving and writing instead of adding to them. At most `limit` bytes wait in
/// between; a download that outruns the hasher waits for it, so memory stays bounded.
final class OverlappedHasher: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [[UInt8]] = []
    private var pendingBytes = 0
    private var closed = false
    private var stream: SHA256Stream
    private let limit: Int
    private let done = DispatchSemaphore(value: 0)

    /// - Parameter stream: The digest so far (of the bytes already on disk), continued from here.
    init(continuing stream: SHA256Stream, limit: Int = 8 << 20) {
        self.stream = stream
        self.limit = limit
        let thread = Thread { [self] in hashUntilClosed() }
        thread.name = "islet-sha256"
        thread.start()
    }

    /// Copies `bytes` for hashing; blocks while `limit` bytes are already waiting.
    func feed(_ bytes: UnsafeRawBufferPointer) {
        let copy = [UInt8](bytes)
        condition.lock()
        while pendingBytes >= limit { condition.wait() }
        pending.append(copy)
        pendingBytes += copy.count
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until everything fed is hashed; returns the digest. Call once.
    func finish() -> SHA256Stream {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
        done.wait()
        return stream
    }

    private func hashUntilClosed() {
        while true {
            condition.lock()
            while pending.isEmpty && !closed { condition.wait() }
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            condition.unlock()
            if batch.isEmpty { break }
            for chunk in batch { stream.update(chunk) }
            condition.lock()
            pendingBytes -= batch.reduce(0) { $0 + $1.count }
            condition.broadcast()
            condition.unlock()
        }
        done.signal()
    }
}
