import Foundation

/// A pipe that wakes a polling pump from another thread.
final class WakeSignal: Sendable {
    /// The end to poll for POLLIN.
    let fd: Int32
    private let writeEnd: Int32

    init() throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw SSHError.connectionLost(node: "-", reason: "pipe: \(errnoDescription())")
        }
        fd = fds[0]
        writeEnd = fds[1]
        for end in fds {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    deinit {
        close(fd)
        close(writeEnd)
    }
}
