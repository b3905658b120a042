import Foundation

/// A file descriptor closed exactly once, when the last owner lets go.
final class OwnedFD: Sendable {
    let fd: Int32

    init(_ fd: Int32) { self.fd = fd }

    deinit { close(fd) }
}

/// Milliseconds for C APIs that take an int timeout, clamped to Int32.
extension Duration {
    var milliseconds: Int32 {
        let (seconds, attoseconds) = components
        let ms = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(ms, 0))
    }
}

/// poll(2) on one descriptor, retried on EINTR; returns revents (0 on timeout).
func pollOne(_ fd: Int32, events: Int16, timeoutMs: Int32) -> Int16 {
    var entry = pollfd(fd: fd, events: events, revents: 0)
    while true {
        let rc = poll(&entry, 1, timeoutMs)
        if rc >= 0 { return rc == 0 ? 0 : entry.revents }
        if errno != EINTR { return Int16(POLLERR) }
    }
}

func errnoDescription(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// `~/…` paths as a shell would expand them.
func expandTilde(_ path: String) -> String {
    (path as NSString).expandingTildeInPath
}
