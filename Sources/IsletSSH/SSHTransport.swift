import Foundation
import IsletCore

/// The engine's `Transport` over libssh2: one `SSHConnection` per node for the whole run.
public struct SSHTransport: Transport {
    public var hostKeys: SSHHostKeyPolicy
    public var credentials: SSHCredentials
    /// `ISLET_BECOME_PASSWORD`: fed to `sudo -S` on stdin when the node's sudo asks for a password.
    public var becomePassword: String?
    /// Longest a node may stay silent during one operation before the connection counts as dead.
    public var operationTimeout: Duration

    public init(
        hostKeys: SSHHostKeyPolicy, credentials: SSHCredentials, becomePassword: String? = nil,
        operationTimeout: Duration = .seconds(60)
    ) {
        self.hostKeys = hostKeys
        self.credentials = credentials
        self.becomePassword = becomePassword
        self.operationTimeout = operationTimeout
    }

    /// Host keys from `~/.ssh/known_hosts` and islet's own file; new keys are recorded in islet's file.
    public static func hostKeyPolicy(isletKnownHosts: String, acceptNew: Bool) -> SSHHostKeyPolicy {
        SSHHostKeyPolicy(
            knownHostsFiles: [userHomeDirectory() + "/.ssh/known_hosts", isletKnownHosts],
            recordFile: isletKnownHosts, acceptNew: acceptNew)
    }

    public func connect(to node: NodeAddress) async throws -> any NodeSession {
        let identityFiles = node.ssh.identityFile.map { [$0] } ?? Self.defaultIdentityFiles
        let bastion = node.ssh.bastion.map {
            SSHBastion(
                host: $0.host, port: $0.port, user: $0.user,
                identityFiles: $0.identityFile.map { [$0] } ?? identityFiles)
        }
        let endpoint = SSHEndpoint(
            host: node.address, port: node.ssh.port, user: node.ssh.user,
            identityFiles: identityFiles, connectTimeout: .seconds(node.ssh.connectTimeout),
            operationTimeout: operationTimeout, bastion: bastion)
        let (hostKeys, credentials) = (self.hostKeys, self.credentials)
        let connection = try await SSHConnection.connect(
            name: node.name, to: endpoint, hostKeys: hostKeys,
            credentials: credentials)
        // Forwards get a connection of their own, verified and authenticated like this one.
        let openForwarding = { @Sendable in
            try await SSHConnection.connect(
                name: node.name, to: endpoint, hostKeys: hostKeys, credentials: credentials)
        }
        var command = "sh -s"
        var passwordLine: [UInt8] = []
        if node.ssh.become == .sudo {
            command = "sudo -n sh -s"
            if let becomePassword {
                // Only feed the password when sudo will read it: with NOPASSWD it would reach the shell as a command.
                let probe = try await connection.execute("sudo -k -n true", stdin: [], onOutput: { _, _ in })
                if !probe.succeeded {
                    command = "sudo -k -S -p '' sh -s"
                    passwordLine = Array((becomePassword + "\n").utf8)
                }
            }
        }
        return SSHNodeSession(
            connection: connection, command: command, passwordLine: passwordLine,
            user: node.ssh.user, address: "\(node.address):\(node.ssh.port)", openForwarding: openForwarding)
    }

    /// What OpenSSH tries when no identity file is configured and libssh2 can read.
    static var defaultIdentityFiles: [String] {
        let home = userHomeDirectory()
        return ["id_ed25519", "id_ecdsa"].map { "\(home)/.ssh/\($0)" }
    }
}

/// Tells the engine when a node's connection is dead (`Connections.markFailed(node:after:)`).
extension SSHError: ConnectionFailure {}

/// One node's SSH connection as the engine sees it.
final class SSHNodeSession: NodeSession {
    let connection: SSHConnection
    /// `sh -s` or `sudo … sh -s`: the script always travels on stdin, never in argv.
    let command: String
    let passwordLine: [UInt8]
    let user: String
    let address: String
    private let staging = StagingDirectory()
    private let forwarding: ForwardingConnection

    init(
        connection: SSHConnection, command: String, passwordLine: [UInt8], user: String, address: String,
        openForwarding: @escaping @Sendable () async throws -> SSHConnection
    ) {
        self.connection = connection
        self.command = command
        self.passwordLine = passwordLine
        self.user = user
        self.address = address
        forwarding = ForwardingConnection(open: openForwarding)
    }

    var filesystemRoot: String { "" }

    var summary: String {
        let become = command.hasPrefix("sudo") ? ", scripts run as root through sudo" : ""
        return "\(user)@\(address), host key \(connection.hostKeyFingerprint)\(become)"
    }

    func run(feed: ScriptFeed, output: @escaping @Sendable (OutputChunk) -> Void) async throws -> ExitStatus {
        let status = try await connection.execute(command, stdin: passwordLine, feed: feed) { stream, bytes in
            output(OutputChunk(stream: stream == .stdout ? .stdout : .stderr, bytes: bytes))
        }
        return ExitStatus(code: status.code, signal: status.signal)
    }

    func upload(_ upload: Upload) async throws -> UploadResult {
        let remote: String
        switch upload.destination {
        case .staging(let name): remote = try await staging.path(for: connection) + "/" + name
        case .path(let path):
            guard path.hasPrefix("/") else { throw UploadError.relativeDestination(node: connection.name, path: path) }
            remote = path
        }
        return UploadResult(path: remote, outcome: try await connection.upload(upload, to: remote))
    }

    func forward(toHost host: String, port: Int) async throws -> any PortForward {
        try await forwarding.forwarder().open(toHost: host, port: port)
    }

    func close() async {
        await forwarding.close()
        await connection.close()
    }
}

/// `~/.islet/staging` of the login user, mode 0700, made on the first upload: a plan uploads nothing,
/// so it costs no round trip there.
private actor StagingDirectory {
    private var path: String?

    func path(for connection: SSHConnection) async throws -> String {
        if let path { return path }
        let home = try await connection.homeDirectory()
        try await connection.makeDirectory(home + "/.islet", mode: 0o700)
        try await connection.makeDirectory(home + "/.islet/staging", mode: 0o700)
        path = home + "/.islet/staging"
        return path!
    }
}

/// The second connection of a node session, opened on the first forward; a dead one is replaced by the next.
private actor ForwardingConnection {
    private let open: @Sendable () async throws -> SSHConnection
    private var current: Task<PortForwarder, any Error>?
    private var closed = false

    init(open: @escaping @Sendable () async throws -> SSHConnection) {
        self.open = open
    }

    /// One connection at a time, however many forwards are asked for at once: a forwarder left behind
    /// would keep its relay, and its thread, running.
    func forwarder() async throws -> PortForwarder {
        if closed { throw SSHError.closed(node: "forwarding") }
        while let task = current {
            let forwarder = try? await task.value
            // Another caller replaced it meanwhile: use theirs.
            if current != task { continue }
            if let forwarder, forwarder.failure == nil { return forwarder }
            break
        }
        let previous = current
        let open = self.open
        let task = Task {
            if let dead = try? await previous?.value { await dead.shutdown() }
            let connection = try await open()
            do {
                return try PortForwarder(connection: connection)
            } catch {
                await connection.close()
                throw error
            }
        }
        current = task
        return try await task.value
    }

    func close() async {
        closed = true
        await (try? current?.value)?.shutdown()
        current = nil
    }
}
