import Foundation

/// An exclusive lock on the state for the length of an apply, so two operators never write it at once.
/// `flock` is released by the kernel when the process dies, so a crashed apply never leaves it stuck.
public final class StateLock: @unchecked Sendable {
    private let descriptor: Int32
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    /// Takes the lock at once or fails naming who holds it (pid, user, host, since when).
    public static func acquire(_ store: StateStore, command: String) throws -> StateLock {
        try store.prepareDirectory()
        let path = store.lockPath
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateError.io(path: path, reason: String(cString: strerror(errno))) }
        fchmod(fd, 0o600)  // a lock file left by an older islet or another tool may be wider
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw StateError.locked(path: path, holder: holder.flatMap { $0.isEmpty ? nil : $0 } ?? "holder unknown")
        }
        let since = ISO8601DateFormatter().string(from: Date())
        let user = ProcessInfo.processInfo.environment["USER"] ?? String(getuid())
        let holder =
            "pid \(getpid()), user \(user), host \(ProcessInfo.processInfo.hostName), since \(since), running '\(command)'"
        ftruncate(fd, 0)
        _ = holder.withCString { pwrite(fd, $0, strlen($0), 0) }
        fsync(fd)
        store.removeLeftovers()
        return StateLock(descriptor: fd, path: path)
    }

    deinit {
        ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
