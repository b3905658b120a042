import CLibSSH2
import Synchronization

/// Process-wide libssh2 state.
enum LibSSH2 {
    // libssh2_init is not thread-safe and sessions may be opened from many
    // threads at once, so the first caller initialises under this lock.
    private static let initResult = Mutex<Int32?>(nil)

    /// Initialises libssh2 once; returns libssh2_init's result.
    static func initialize() -> Int32 {
        initResult.withLock { result in
            if let result { return result }
            let rc = libssh2_init(0)
            result = rc
            return rc
        }
    }

    /// libssh2's message for the last error on `session`.
    static func lastError(_ session: OpaquePointer) -> String {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &message, &length, 0)
        guard let message, length > 0 else { return "libssh2 error \(code)" }
        let bytes = UnsafeRawBufferPointer(start: message, count: Int(length))
        return "\(String(decoding: bytes, as: UTF8.self)) (libssh2 error \(code))"
    }

    static func isTimeout(_ rc: Int) -> Bool {
        rc == Int(LIBSSH2_ERROR_TIMEOUT) || rc == Int(LIBSSH2_ERROR_SOCKET_TIMEOUT)
    }

    static func isConnectionLost(_ rc: Int) -> Bool {
        [
            LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT,
            LIBSSH2_ERROR_BAD_SOCKET, LIBSSH2_ERROR_SOCKET_NONE,
        ].map(Int.init).contains(rc)
    }
}
