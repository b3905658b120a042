/// Why an SSH operation failed. Every case names the node it happened on;
/// `description` is a message an operator can act on.
public enum SSHError: Error, CustomStringConvertible, Sendable, Equatable {
    /// No TCP connection to `address:port` (refused, unreachable, timed out, unresolvable).
    case connectFailed(node: String, address: String, port: Int, reason: String)
    /// TCP connected but the SSH protocol exchange failed (not an SSH server, no common algorithms).
    case handshakeFailed(node: String, address: String, port: Int, reason: String)
    /// No known_hosts file has a key for this host; it may be accepted with `--accept-new-host-keys`.
    /// `checkedFiles` are the files read (missing ones included), `recordFile` where an accepted key goes.
    case hostKeyUnknown(
        node: String, hostPort: String, keyType: String, fingerprint: String, checkedFiles: [String],
        recordFile: String)
    /// A known_hosts entry for this host holds a different key. Never accepted automatically.
    case hostKeyChanged(
        node: String, hostPort: String, expectedFingerprint: String, offeredFingerprint: String, knownHostsFile: String)
    /// Every authentication method was refused; `hint` explains a likely cause.
    case authenticationFailed(node: String, user: String, methodsTried: [String], hint: String?)
    /// The server did not answer within the configured time.
    case timeout(node: String, operation: String)
    /// The connection broke (peer closed it, network error).
    case connectionLost(node: String, reason: String)
    /// A channel operation (open, exec, read, write) failed; `message` is libssh2's last error.
    case channelFailed(node: String, operation: String, message: String)
    /// An SFTP operation on `path` failed; `message` carries the SFTP status and libssh2's last error.
    case sftpFailed(node: String, operation: String, path: String, message: String)
    /// A local file (an upload source, the known_hosts record file) could not be used.
    case localFileFailed(node: String, path: String, reason: String)
    /// The connection was used after `close()`.
    case closed(node: String)

    /// The node the error happened on.
    public var node: String {
        switch self {
        case .connectFailed(let node, _, _, _), .handshakeFailed(let node, _, _, _),
            .hostKeyUnknown(let node, _, _, _, _, _), .hostKeyChanged(let node, _, _, _, _),
            .authenticationFailed(let node, _, _, _), .timeout(let node, _),
            .connectionLost(let node, _), .channelFailed(let node, _, _),
            .sftpFailed(let node, _, _, _), .localFileFailed(let node, _, _), .closed(let node):
            return node
        }
    }

    public var description: String {
        switch self {
        case .connectFailed(let node, let address, let port, let reason):
            return "node \(node): cannot connect to \(address) port \(port): \(reason)"
        case .handshakeFailed(let node, let address, let port, let reason):
            return "node \(node): SSH handshake with \(address) port \(port) failed: \(reason)"
        case .hostKeyUnknown(let node, let hostPort, let keyType, let fingerprint, let files, let recordFile):
            let checked = files.isEmpty ? "no known_hosts file was given" : "checked: " + files.joined(separator: ", ")
            return """
                node \(node): the host key of \(hostPort) is not in any known_hosts file \
                (\(keyType) \(fingerprint); \(checked)). Check the fingerprint on the machine itself \
                (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then rerun with \
                --accept-new-host-keys to record it in \(recordFile), or add the key to a known_hosts file \
                (ssh-keyscan -p PORT HOST >> ~/.ssh/known_hosts, after checking it).
                """
        case .hostKeyChanged(let node, let hostPort, let expected, let offered, let file):
            return """
                node \(node): HOST KEY CHANGED for \(hostPort): \(file) has \(expected), \
                the server offered \(offered). This can be a man-in-the-middle attack or a \
                reinstalled machine. If the change is expected, remove the old entry \
                (ssh-keygen -R '\(hostPort)' -f \(file)) and connect again.
                """
        case .authenticationFailed(let node, let user, let methods, let hint):
            let tried = methods.isEmpty ? "nothing to try" : methods.joined(separator: ", ")
            let advice = hint.map { " \($0)" } ?? ""
            return "node \(node): authentication as '\(user)' failed (tried: \(tried)).\(advice)"
        case .timeout(let node, let operation):
            return "node \(node): timed out: \(operation)"
        case .connectionLost(let node, let reason):
            return "node \(node): connection lost: \(reason)"
        case .channelFailed(let node, let operation, let message):
            return "node \(node): \(operation) failed: \(message)"
        case .sftpFailed(let node, let operation, let path, let message):
            return "node \(node): SFTP \(operation) \(path) failed: \(message)"
        case .localFileFailed(let node, let path, let reason):
            return "node \(node): local file \(path): \(reason)"
        case .closed(let node):
            return "node \(node): the SSH connection is already closed"
        }
    }
}
