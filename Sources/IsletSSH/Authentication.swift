import CLibSSH2
import Foundation

/// Authenticates a handshaken session: agent identities, then identity
/// files, then password. Each refused public key costs one of the server's
/// MaxAuthTries (6 by default), so the order matters.
///
/// Every exchange with the server must end by `deadline` (the connect timeout counts from the TCP
/// connect), so a server that stalls after the handshake cannot hold the connect for longer.
struct Authentication {
    let session: Session
    let user: String
    let identityFiles: [String]
    let credentials: SSHCredentials
    let deadline: ConnectDeadline

    private struct Outcome {
        var tried: [String] = []
        var refusedRSA = false
        var unreadableKeys: [String] = []
        var unusableFiles: [KeyFileUnusable] = []
    }

    func authenticate() throws {
        let offered: [String]
        let userLength = UInt32(user.utf8.count)
        try deadline.limit(session, operation: operation)
        if let list = libssh2_userauth_list(session.raw, user, userLength) {
            offered = String(cString: list).split(separator: ",").map(String.init)
        } else if libssh2_userauth_authenticated(session.raw) != 0 {
            return  // the server accepted "none"
        } else {
            let rc = Int(session.lastErrorCode)
            if LibSSH2.isTimeout(rc) { throw deadline.timeout(session, operation: operation) }
            throw session.error(rc, operation: "asking which authentication methods are allowed")
        }

        var outcome = Outcome()
        if offered.contains("publickey") {
            if credentials.useAgent, try authenticateWithAgent(&outcome) { return }
            if try authenticateWithFiles(&outcome) { return }
        }
        if let password = credentials.password, offered.contains("password") {
            outcome.tried.append("password")
            try deadline.limit(session, operation: operation)
            let rc = libssh2_userauth_password_ex(
                session.raw, user, userLength,
                password, UInt32(password.utf8.count), nil)
            if rc == 0 { return }
            try rethrowIfConnectionBroke(Int(rc))
        }
        throw SSHError.authenticationFailed(
            node: session.node, user: user, methodsTried: outcome.tried,
            hint: hint(outcome, offered: offered))
    }

    private func authenticateWithAgent(_ outcome: inout Outcome) throws -> Bool {
        let socketPath = credentials.agentSocket ?? ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"]
        guard let socketPath, !socketPath.isEmpty, let agent = Agent(session: session, socketPath: socketPath) else {
            return false
        }
        for identity in agent.identities() {
            let label = identity.comment.isEmpty ? identity.keyType : identity.comment
            outcome.tried.append("publickey (agent: \(label))")
            try deadline.limit(session, operation: operation)
            let rc = libssh2_agent_userauth(agent.raw, user, identity.raw)
            if rc == 0 { return true }
            try rethrowIfConnectionBroke(Int(rc))
            if identity.keyType == "ssh-rsa" { outcome.refusedRSA = true }
        }
        return false
    }

    private func authenticateWithFiles(_ outcome: inout Outcome) throws -> Bool {
        for path in identityFiles.map(expandTilde) where FileManager.default.fileExists(atPath: path) {
            // islet reads the files itself, bounded, and hands libssh2 the bytes.
            let privateKey: [UInt8]
            switch KeyFile.read(path) {
            case .success(let bytes): privateKey = bytes
            case .failure(let unusable):
                outcome.unusableFiles.append(unusable)
                continue
            }
            // Without a usable .pub file libssh2 derives the public key from the private one.
            let publicKey = try? KeyFile.read(path + ".pub").get()
            outcome.tried.append("publickey (\(path))")
            try deadline.limit(session, operation: operation)
            let rc = offer(privateKey: privateKey, publicKey: publicKey)
            if rc == 0 { return true }
            try rethrowIfConnectionBroke(Int(rc))
            let key = KeyFile.inspect(privateKey: privateKey, publicKey: publicKey)
            // With a .pub file, libssh2 reports a missing passphrase as a
            // refusal rather than a file error; the key file tells the truth.
            if rc == LIBSSH2_ERROR_FILE || rc == LIBSSH2_ERROR_KEYFILE_AUTH_FAILED
                || (key.isEncrypted && credentials.passphrase == nil)
            {
                outcome.unreadableKeys.append(path)
            } else if key.isRSA {
                outcome.refusedRSA = true
            }
        }
        return false
    }

    private func offer(privateKey: [UInt8], publicKey: [UInt8]?) -> Int32 {
        privateKey.withUnsafeBytes { privateBytes in
            (publicKey ?? []).withUnsafeBytes { publicBytes in
                libssh2_userauth_publickey_frommemory(
                    session.raw, user, user.utf8.count,
                    publicKey == nil ? nil : publicBytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                    publicKey?.count ?? 0,
                    privateBytes.baseAddress?.assumingMemoryBound(to: CChar.self), privateBytes.count,
                    credentials.passphrase)
            }
        }
    }

    /// Once the server hangs up (MaxAuthTries reached, timeout), trying more
    /// methods only produces misleading errors.
    private func rethrowIfConnectionBroke(_ rc: Int) throws {
        if LibSSH2.isTimeout(rc) { throw deadline.timeout(session, operation: operation) }
        if LibSSH2.isConnectionLost(rc) { throw session.error(rc, operation: operation) }
    }

    private var operation: String { "authenticating as '\(user)'" }

    private func hint(_ outcome: Outcome, offered: [String]) -> String? {
        var hints: [String] = []
        if outcome.refusedRSA {
            hints.append(
                """
                The server refused an RSA key: libssh2 1.10 can only sign with ssh-rsa (SHA-1), \
                which OpenSSH 8.8 and later reject, and lacks rsa-sha2-256/512. \
                Use an ed25519 key (ssh-keygen -t ed25519) instead.
                """)
        }
        hints += outcome.unusableFiles.map(\.description)
        for path in outcome.unreadableKeys {
            let encrypted = KeyFile.inspect(path: path)?.isEncrypted == true
            hints.append(
                encrypted && credentials.passphrase == nil
                    ? "\(path) is encrypted: set ISLET_SSH_PASSPHRASE."
                    : "\(path) could not be used (wrong passphrase or unsupported format).")
        }
        if outcome.tried.isEmpty && outcome.unusableFiles.isEmpty {
            hints.append("No agent identity or identity file was found to offer.")
        }
        if credentials.password != nil, !offered.contains("password") {
            hints.append("A password was given but the server does not accept password authentication.")
        }
        hints.append("The server accepts: \(offered.joined(separator: ", ")).")
        return hints.joined(separator: " ")
    }
}
