import CLibSSH2
import Foundation

/// One libssh2 session over one socket. Not thread-safe: it lives and dies
/// on its connection's `SessionThread`, together with every channel and SFTP
/// handle opened on it (each of which keeps it alive).
final class Session {
    let node: String
    let raw: OpaquePointer
    let socket: OwnedFD
    let operationTimeout: Duration
    private var established = false

    /// Algorithms offered; libssh2 1.10 lacks strict KEX, so only CTR ciphers
    /// with non-EtM MACs are safe against Terrapin-style prefix truncation.
    /// Within those, OpenSSH's own order: AES-128 first, and HMAC-SHA-256 before SHA-512, which has no
    /// CPU instructions here and halved upload speed (BENCHMARKS.md, "SFTP upload against scp").
    private static let preferences: [(Int32, String)] = [
        (
            LIBSSH2_METHOD_KEX,
            "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group16-sha512"
        ),
        (LIBSSH2_METHOD_HOSTKEY, "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521"),
        (LIBSSH2_METHOD_CRYPT_CS, "aes128-ctr,aes192-ctr,aes256-ctr"),
        (LIBSSH2_METHOD_CRYPT_SC, "aes128-ctr,aes192-ctr,aes256-ctr"),
        (LIBSSH2_METHOD_MAC_CS, "hmac-sha2-256,hmac-sha2-512"),
        (LIBSSH2_METHOD_MAC_SC, "hmac-sha2-256,hmac-sha2-512"),
    ]

    init(node: String, socket: OwnedFD, operationTimeout: Duration) throws {
        guard LibSSH2.initialize() == 0 else {
            throw SSHError.handshakeFailed(node: node, address: "-", port: 0, reason: "libssh2_init failed")
        }
        guard let raw = libssh2_session_init_ex(nil, nil, nil, nil) else {
            throw SSHError.handshakeFailed(node: node, address: "-", port: 0, reason: "libssh2_session_init failed")
        }
        self.node = node
        self.raw = raw
        self.socket = socket
        self.operationTimeout = operationTimeout
    }

    deinit {
        if established {
            // A dead peer must not hold close() for the whole operation timeout.
            libssh2_session_set_blocking(raw, 1)
            libssh2_session_set_timeout(raw, 2000)
            _ = islet_session_disconnect(raw, "islet: closing")
        }
        libssh2_session_free(raw)
    }

    /// Restricts algorithms, then runs the SSH handshake within what is left of `deadline`.
    func handshake(address: String, port: Int, deadline: ConnectDeadline) throws {
        for (method, list) in Self.preferences {
            let rc = libssh2_session_method_pref(raw, method, list)
            guard rc == 0 else {
                throw SSHError.handshakeFailed(
                    node: node, address: address, port: port,
                    reason: "cannot restrict algorithms: \(lastError)")
            }
        }
        libssh2_session_set_blocking(raw, 1)
        let noHandshake = SSHError.timeout(
            node: node,
            operation: "no SSH handshake from \(address) port \(port) within \(deadline.timeout) (is it an SSH server?)"
        )
        guard deadline.remaining.milliseconds > 0 else { throw noHandshake }
        libssh2_session_set_timeout(raw, Int(deadline.remaining.milliseconds))
        let rc = libssh2_session_handshake(raw, socket.fd)
        guard rc == 0 else {
            if LibSSH2.isTimeout(Int(rc)) { throw noHandshake }
            throw SSHError.handshakeFailed(node: node, address: address, port: port, reason: lastError)
        }
        established = true
    }

    /// The peer stopped answering: closing will not say goodbye to it, which could only wait.
    func abandon() {
        established = false
    }

    /// After authentication, each blocking call gets the operation timeout.
    func useOperationTimeout() {
        libssh2_session_set_timeout(raw, Int(operationTimeout.milliseconds))
    }

    /// Seconds between keepalives: often enough that a live server answers
    /// well within the operation timeout, which is how a dead one is noticed.
    var keepaliveInterval: Int {
        let seconds = Int(operationTimeout.components.seconds)
        return max(1, min(15, seconds / 3))
    }

    /// The server's host key blob and its LIBSSH2_HOSTKEY_TYPE_*.
    func hostKey() throws -> (blob: [UInt8], type: Int32) {
        var length = 0
        var type: Int32 = 0
        guard let key = libssh2_session_hostkey(raw, &length, &type), length > 0 else {
            throw SSHError.handshakeFailed(node: node, address: "-", port: 0, reason: "no host key: \(lastError)")
        }
        let blob = UnsafeRawBufferPointer(start: key, count: length)
        return ([UInt8](blob), type)
    }

    /// Keepalives are on only in non-blocking mode, where the pumps send them: in blocking mode
    /// libssh2 1.10 waits at most one keepalive interval and then fails with a timeout, whatever the
    /// session timeout says (a slow SFTP call or authentication failed after 15 s).
    func setBlocking(_ blocking: Bool) {
        libssh2_session_set_blocking(raw, blocking ? 1 : 0)
        libssh2_keepalive_config(raw, 1, blocking ? 0 : UInt32(keepaliveInterval))
    }

    var lastError: String { LibSSH2.lastError(raw) }

    var lastErrorCode: Int32 { libssh2_session_last_errno(raw) }

    /// Maps a negative libssh2 result to the error a caller can act on.
    func error(_ rc: Int, operation: String) -> SSHError {
        if LibSSH2.isTimeout(rc) {
            return .timeout(node: node, operation: "\(operation) (no answer within \(operationTimeout))")
        }
        if LibSSH2.isConnectionLost(rc) {
            return .connectionLost(node: node, reason: "\(operation): \(lastError)")
        }
        return .channelFailed(node: node, operation: operation, message: lastError)
    }

    /// Sends a keepalive if one is due; returns milliseconds until the next.
    ///
    /// Only while the socket has room: libssh2_keepalive_send ignores a
    /// partial send and leaves the rest of its packet pending in a buffer on
    /// its own stack, after which every other send fails.
    func keepalive() -> Int32 {
        guard !hasPartialSend, pollOne(socket.fd, events: Int16(POLLOUT), timeoutMs: 0) & Int16(POLLOUT) != 0 else {
            return 1000
        }
        var next: Int32 = 0
        _ = libssh2_keepalive_send(raw, &next)
        return next > 0 ? next * 1000 : 1000
    }

    /// True while libssh2 holds the unsent rest of a packet.
    var hasPartialSend: Bool {
        libssh2_session_block_directions(raw) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0
    }

    /// Runs a non-blocking libssh2 call, repeating it until any packet it
    /// started is completely sent.
    ///
    /// libssh2 encrypts a whole packet before sending; when the socket takes
    /// only part of it, the rest is kept and only a repeat of the same call
    /// may send it. Any other sending call in between (a read that adjusts
    /// the window, a write) fails with BAD_USE, reported as a socket error.
    /// Waiting for the socket cannot deadlock: OpenSSH's server reads its
    /// socket whatever it has queued for us.
    func finishingPartialSend(_ call: () -> Int) throws -> Int {
        var rc = call()
        while rc == Int(LIBSSH2_ERROR_EAGAIN) && hasPartialSend {
            let revents = pollOne(socket.fd, events: Int16(POLLOUT), timeoutMs: operationTimeout.milliseconds)
            if revents == 0 {
                throw SSHError.timeout(
                    node: node, operation: "sending to the server (socket blocked for \(operationTimeout))")
            }
            rc = call()
        }
        return rc
    }

    /// In non-blocking mode, waits until the socket can make progress in the
    /// direction libssh2 is blocked on, or data arrives. Returns true if the
    /// server sent something (which is how liveness is measured).
    /// - Parameter other: a descriptor whose readability also ends the wait (more stdin to send); the
    ///   result then says only whether the socket had something.
    func waitForSocket(timeoutMs: Int32, orReadable other: Int32? = nil) -> Bool {
        var events = Int16(POLLIN)
        if libssh2_session_block_directions(raw) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 {
            events |= Int16(POLLOUT)
        }
        guard let other else {
            let revents = pollOne(socket.fd, events: events, timeoutMs: timeoutMs)
            return revents & Int16(POLLIN | POLLHUP | POLLERR) != 0
        }
        var entries = [
            pollfd(fd: socket.fd, events: events, revents: 0), pollfd(fd: other, events: Int16(POLLIN), revents: 0),
        ]
        while poll(&entries, 2, timeoutMs) < 0 && errno == EINTR {}
        return entries[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 || entries[1].revents != 0
    }
}
