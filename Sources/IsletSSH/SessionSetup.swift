import Foundation

/// Everything needed to bring up one authenticated session.
struct SessionSetup: Sendable {
    var node: String
    var host: String
    var port: Int
    var user: String
    var identityFiles: [String]
    var connectTimeout: Duration
    var operationTimeout: Duration
    var hostKeys: SSHHostKeyPolicy
    var credentials: SSHCredentials
    /// SO_SNDBUF for the TCP socket; tests shrink it to force partial sends.
    var socketSendBuffer: Int32?

    /// Connects (or uses `socket`, a tunnel end), handshakes, verifies the
    /// host key and authenticates, all within the connect timeout. Runs on the session thread.
    func establish(over socket: OwnedFD? = nil) throws -> (SessionState, fingerprint: String) {
        let deadline = ConnectDeadline(connectTimeout)
        let socket = try socket ?? TCPConnector.connect(node: node, host: host, port: port, timeout: connectTimeout)
        if var size = socketSendBuffer {
            setsockopt(socket.fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let session = try Session(node: node, socket: socket, operationTimeout: operationTimeout)
        try session.handshake(address: host, port: port, deadline: deadline)
        let (blob, type) = try session.hostKey()
        let hostKey = HostKey(blob: blob, libssh2Type: type)
        try KnownHosts(session: session, policy: hostKeys).verify(hostKey, host: host, port: port)
        try Authentication(
            session: session, user: user, identityFiles: identityFiles, credentials: credentials, deadline: deadline
        )
        .authenticate()
        session.useOperationTimeout()
        return (SessionState(session: session), hostKey.fingerprint)
    }
}
