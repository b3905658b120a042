/// Where and as whom to connect to one node.
public struct SSHEndpoint: Sendable {
    /// Host name or address of the node, as the bastion sees it when there is one.
    public var host: String
    public var port: Int
    /// Login user on the node.
    public var user: String
    /// Private key files to offer, in order; missing files are skipped.
    public var identityFiles: [String]
    /// Limit for the TCP connect and, separately, for the SSH handshake.
    public var connectTimeout: Duration
    /// Limit for each blocking SSH operation. While a command runs it is the
    /// longest the server may stay completely silent: keepalives are sent at
    /// a third of this (at most every 15 s) so a live server always answers
    /// in time, and a dead one is noticed.
    public var operationTimeout: Duration
    /// Jump host the node is reached through, if any.
    public var bastion: SSHBastion?

    public init(
        host: String,
        port: Int = 22,
        user: String,
        identityFiles: [String] = [],
        connectTimeout: Duration = .seconds(10),
        operationTimeout: Duration = .seconds(60),
        bastion: SSHBastion? = nil
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.identityFiles = identityFiles
        self.connectTimeout = connectTimeout
        self.operationTimeout = operationTimeout
        self.bastion = bastion
    }
}

/// A jump host: the node's SSH session runs inside a `direct-tcpip` channel
/// of a session to this host. Its host key is checked with the same policy
/// and it is authenticated with the same credentials as the node.
public struct SSHBastion: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var identityFiles: [String]

    public init(host: String, port: Int = 22, user: String, identityFiles: [String] = []) {
        self.host = host
        self.port = port
        self.user = user
        self.identityFiles = identityFiles
    }
}
