import Foundation
import IsletCore
import Synchronization

/// An authenticated SSH connection to one node, for the whole run.
///
/// Every libssh2 call for the connection runs on its own OS thread; the
/// async methods queue work there, so calls on one connection run one at a
/// time in the order made. Call `close()` when done: it also joins the
/// thread, which must happen before the process exits.
public final class SSHConnection: Sendable {
    /// The node name used in errors.
    public let name: String
    /// The node's host key, `SHA256:` + unpadded base64, as `ssh-keygen -l` prints it.
    public let hostKeyFingerprint: String

    private let thread: SessionThread
    private let bastion: BastionLink?
    private let closed = Mutex(false)
    /// The first timeout or lost connection. The peer is then frozen, gone or cut off, so every later
    /// call fails at once with this error instead of waiting out another timeout.
    private let deadError = Mutex<SSHError?>(nil)

    /// The bastion's session thread and the signal that stops its pump.
    private struct BastionLink: Sendable {
        let thread: SessionThread
        let stop: WakeSignal
    }

    private init(name: String, hostKeyFingerprint: String, thread: SessionThread, bastion: BastionLink?) {
        self.name = name
        self.hostKeyFingerprint = hostKeyFingerprint
        self.thread = thread
        self.bastion = bastion
    }

    deinit {
        // Not closed: still free the session and end the threads.
        if !closed.withLock({ $0 }) {
            thread.shutdownBlocking()
            bastion?.stop.signal()
            bastion?.thread.shutdownBlocking()
        }
    }

    /// Connects, verifies the host key and authenticates, directly or through
    /// `endpoint.bastion`.
    ///
    /// - Parameter name: The node's name, used in every error.
    /// - Throws: `SSHError`: `connectFailed`, `handshakeFailed`,
    ///   `hostKeyUnknown`, `hostKeyChanged`, `authenticationFailed`, `timeout`.
    public static func connect(
        name: String,
        to endpoint: SSHEndpoint,
        hostKeys: SSHHostKeyPolicy,
        credentials: SSHCredentials
    ) async throws -> SSHConnection {
        try await connect(
            name: name, to: endpoint, hostKeys: hostKeys, credentials: credentials,
            socketSendBuffer: nil)
    }

    /// `connect` with socket tuning that only tests use.
    static func connect(
        name: String,
        to endpoint: SSHEndpoint,
        hostKeys: SSHHostKeyPolicy,
        credentials: SSHCredentials,
        socketSendBuffer: Int32?
    ) async throws -> SSHConnection {
        let setup = SessionSetup(
            node: name, host: endpoint.host, port: endpoint.port, user: endpoint.user,
            identityFiles: endpoint.identityFiles, connectTimeout: endpoint.connectTimeout,
            operationTimeout: endpoint.operationTimeout, hostKeys: hostKeys, credentials: credentials,
            socketSendBuffer: socketSendBuffer)

        var link: BastionLink?
        var tunnelEnd: OwnedFD?
        if let bastion = endpoint.bastion {
            var bastionSetup = setup
            bastionSetup.node = "\(name) (bastion \(bastion.host))"
            bastionSetup.host = bastion.host
            bastionSetup.port = bastion.port
            bastionSetup.user = bastion.user
            bastionSetup.identityFiles = bastion.identityFiles
            let opened = try await openTunnel(bastionSetup, to: endpoint.host, port: endpoint.port)
            link = opened.link
            tunnelEnd = opened.end
        }

        let thread: SessionThread
        do {
            thread = try SessionThread(node: name)
        } catch {
            await Self.stop(link)
            throw error
        }
        do {
            let end = tunnelEnd
            tunnelEnd = nil
            let fingerprint = try await thread.perform { state in
                let (established, fingerprint) = try setup.establish(over: end)
                state = established
                return fingerprint
            }
            return SSHConnection(name: name, hostKeyFingerprint: fingerprint, thread: thread, bastion: link)
        } catch {
            await thread.shutdown()
            await Self.stop(link)
            throw error
        }
    }

    /// Brings up the bastion session and a pumping tunnel to the node.
    private static func openTunnel(_ setup: SessionSetup, to host: String, port: Int) async throws
        -> (link: BastionLink, end: OwnedFD)
    {
        let thread = try SessionThread(node: setup.node)
        do {
            let stop = try WakeSignal()
            let end = try await thread.perform { state in
                let (established, _) = try setup.establish()
                state = established
                let (tunnel, end) = try Tunnel.open(through: established.session, to: host, port: port, stop: stop)
                established.tunnel = tunnel
                return end
            }
            thread.start { state in
                state?.tunnel?.pump()
                state?.tunnel = nil
            }
            return (BastionLink(thread: thread, stop: stop), end)
        } catch {
            await thread.shutdown()
            throw error
        }
    }

    private static func stop(_ link: BastionLink?) async {
        guard let link else { return }
        link.stop.signal()
        await link.thread.shutdown()
    }

    /// Runs `command` (e.g. `sh -s`, `sudo -n sh -s`), writes `stdin` and then
    /// EOF, and streams output as it arrives.
    ///
    /// - Parameters:
    ///   - onOutput: Called with each chunk, in order, on the connection's
    ///     thread: keep it short, and do not call back into this connection.
    /// - Returns: The exit code, or the signal that killed the command.
    /// - Throws: `SSHError.channelFailed`, `.timeout` (server silent, not even
    ///   answering keepalives, for the operation timeout), `.connectionLost`.
    /// - Parameter feed: more stdin after `stdin`, sent as it comes; EOF once the feed is closed.
    public func execute(
        _ command: String,
        stdin: [UInt8],
        feed: ScriptFeed? = nil,
        onOutput: @escaping @Sendable (SSHOutputStream, [UInt8]) -> Void
    ) async throws -> SSHExitStatus {
        try await withSession { state in
            try ChannelExec(session: state.session, command: command, stdin: stdin, more: feed, onOutput: onOutput)
                .run()
        }
    }

    /// Puts `upload`'s source at `remotePath` (its destination, resolved by the caller) as `Upload` says:
    /// through `remotePath.partial` renamed into place, skipped or resumed after one exec that asks the node
    /// when an expected sha256 or resume is given.
    public func upload(_ upload: Upload, to remotePath: String) async throws -> UploadResult.Outcome {
        try await withSFTP { sftp in try SFTPUpload(sftp: sftp).upload(upload, to: remotePath) }
    }

    /// Streams the local file at `localPath` to `remotePath` with permissions `mode`.
    public func upload(file localPath: String, to remotePath: String, mode: Int32) async throws {
        _ = try await upload(Upload(.file(localPath), to: .path(remotePath), mode: mode), to: remotePath)
    }

    /// Writes `bytes` to `remotePath` with permissions `mode`.
    public func upload(bytes: [UInt8], to remotePath: String, mode: Int32) async throws {
        _ = try await upload(Upload(.bytes(bytes), to: .path(remotePath), mode: mode), to: remotePath)
    }

    /// Creates the directory `path` (not its parents); succeeds if it exists.
    public func makeDirectory(_ path: String, mode: Int32 = 0o700) async throws {
        try await withSFTP { sftp in try sftp.makeDirectory(path, mode: mode) }
    }

    /// The login user's home directory (SFTP realpath of ".").
    public func homeDirectory() async throws -> String {
        try await withSFTP { sftp in try sftp.realPath(".") }
    }

    /// Disconnects, frees the session and joins its thread (and the
    /// bastion's). Queued operations finish first. Safe to call twice.
    public func close() async {
        guard
            closed.withLock({ wasClosed in
                defer { wasClosed = true }
                return !wasClosed
            })
        else { return }
        await thread.shutdown()
        await Self.stop(bastion)
    }

    /// Hands the session thread to `body` until it returns (the forward relay): nothing else may use this
    /// connection meanwhile, and `body` must return before `close()` can.
    func startRelay(_ body: @escaping @Sendable (Session) -> Void) {
        thread.start { state in
            guard let state else { return }
            body(state.session)
        }
    }

    /// Why the connection is dead, once a call timed out or lost it; nil while it is usable.
    public var failure: SSHError? { deadError.withLock { $0 } }

    private func withSession<T: Sendable>(_ body: @escaping @Sendable (SessionState) throws -> T) async throws -> T {
        if let failure { throw failure }
        return try await thread.perform { state in
            guard let state else { throw SSHError.closed(node: self.name) }
            // Calls queued behind the one that found the peer dead fail here, without touching it.
            if let failure = self.failure { throw failure }
            do {
                return try body(state)
            } catch let error as SSHError where error.connectionIsDead {
                self.deadError.withLock { $0 = $0 ?? error }
                state.session.abandon()
                throw error
            }
        }
    }

    private func withSFTP<T: Sendable>(_ body: @escaping @Sendable (SFTPClient) throws -> T) async throws -> T {
        try await withSession { state in
            if state.sftp == nil { state.sftp = try SFTPClient.open(on: state.session) }
            guard let sftp = state.sftp else { throw SSHError.closed(node: state.session.node) }
            return try body(sftp)
        }
    }
}

extension SSHError {
    /// A timeout or a broken connection: nothing more can be done on that connection.
    public var connectionIsDead: Bool {
        switch self {
        case .timeout, .connectionLost: true
        default: false
        }
    }
}
