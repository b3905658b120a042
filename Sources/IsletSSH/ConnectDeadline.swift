import CLibSSH2

/// The connect timeout as one deadline over the TCP connect, the handshake and authentication
/// together: a server that answers each step just in time, or stalls after the handshake, cannot
/// stretch a connect past it.
struct ConnectDeadline: Sendable {
    let timeout: Duration
    private let end: ContinuousClock.Instant

    init(_ timeout: Duration) {
        self.timeout = timeout
        end = .now + timeout
    }

    var remaining: Duration { end - .now }

    /// Gives the session's next blocking call what is left of the deadline, or throws when nothing is
    /// (libssh2 reads a timeout of 0 as "wait forever").
    func limit(_ session: Session, operation: String) throws {
        let left = remaining.milliseconds
        guard left > 0 else { throw timeout(session, operation: operation) }
        libssh2_session_set_timeout(session.raw, Int(left))
    }

    func timeout(_ session: Session, operation: String) -> SSHError {
        .timeout(node: session.node, operation: "\(operation): not done within the connect timeout (\(timeout))")
    }
}
