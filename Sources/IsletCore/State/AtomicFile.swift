import Foundation

/// Writes a file so that a reader, or a crash at any instant, sees either the old content or the new one.
enum AtomicFile {
    /// Names a crash point for tests of crash safety (`ISLET_FAULT_INJECTION=kill-before-rename`): the
    /// process kills itself after the new content is durable and before it replaces the old file.
    static let faultInjectionVariable = "ISLET_FAULT_INJECTION"

    /// - Parameters:
    ///   - backup: where the previous content is kept (hard link, so it is never missing), or nil.
    ///   - mode: permissions of the new file, set before any byte is written.
    static func write(_ data: Data, to path: String, mode: mode_t, backup: String? = nil) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StateError.io(path: temporary, reason: String(cString: strerror(errno))) }
        let failure = writeDurably(data, to: fd, mode: mode)
        close(fd)
        guard failure == 0 else {
            unlink(temporary)
            throw StateError.io(path: temporary, reason: String(cString: strerror(failure)))
        }
        if ProcessInfo.processInfo.environment[faultInjectionVariable] == "kill-before-rename" {
            kill(getpid(), SIGKILL)
        }
        if let backup, FileManager.default.fileExists(atPath: path) {
            // The backup is the old file itself (a hard link): make it as private as the new one first.
            chmod(path, mode)
            let staged = backup + ".tmp-\(getpid())"
            unlink(staged)
            if link(path, staged) == 0 { rename(staged, backup) }
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw StateError.io(path: path, reason: reason)
        }
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// Writes all of `data` at the descriptor's position, sets `mode` and fsyncs.
    /// - Returns: 0, or the errno of the first call that failed.
    static func writeDurably(_ data: Data, to fd: Int32, mode: mode_t) -> Int32 {
        var failure: Int32 = 0
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure == 0 && fchmod(fd, mode) != 0 { failure = errno }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        return failure
    }
}
