import Foundation
import IsletTestSupport

/// A daemon started with posix_spawn (`spawnProcess`) and stopped by pid.
final class Daemon: @unchecked Sendable {
    let pid: pid_t
    private let lock = NSLock()
    private var exitStatus: Int32?

    init(_ arguments: [String], stderrPath: String) throws {
        pid = try spawnProcess(arguments, stderrPath: stderrPath)
    }

    deinit { stop() }

    /// True while the process has not exited (reaps it if it has).
    var isRunning: Bool {
        lock.withLock {
            if exitStatus != nil { return false }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exitStatus = status
                return false
            }
            return true
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within 5 s.
    func stop() {
        lock.withLock {
            guard exitStatus == nil else { return }
            kill(pid, SIGTERM)
            var status: Int32 = 0
            for _ in 0..<500 {
                if waitpid(pid, &status, WNOHANG) == pid {
                    exitStatus = status
                    return
                }
                usleep(10_000)
            }
            kill(pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            exitStatus = status
        }
    }
}
