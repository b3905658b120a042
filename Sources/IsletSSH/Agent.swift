import CLibSSH2

/// A connection to an ssh-agent for one session's authentication.
final class Agent {
    struct Identity {
        let raw: UnsafeMutablePointer<libssh2_agent_publickey>
        let comment: String
        let keyType: String
    }

    let raw: OpaquePointer
    private let session: Session  // the agent handle must not outlive it

    /// Nil when the agent cannot be reached; that is not an error, the key
    /// files and password may still work.
    init?(session: Session, socketPath: String) {
        guard let raw = libssh2_agent_init(session.raw) else { return nil }
        self.raw = raw
        self.session = session
        libssh2_agent_set_identity_path(raw, socketPath)
        guard libssh2_agent_connect(raw) == 0, libssh2_agent_list_identities(raw) == 0 else { return nil }
    }

    deinit {
        libssh2_agent_disconnect(raw)
        libssh2_agent_free(raw)
    }

    func identities() -> [Identity] {
        var result: [Identity] = []
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
        while true {
            var current: UnsafeMutablePointer<libssh2_agent_publickey>?
            guard libssh2_agent_get_identity(raw, &current, previous) == 0, let identity = current else { break }
            let blob =
                identity.pointee.blob.map { [UInt8](UnsafeBufferPointer(start: $0, count: identity.pointee.blob_len)) }
                ?? []
            result.append(
                Identity(
                    raw: identity,
                    comment: identity.pointee.comment.map { String(cString: $0) } ?? "",
                    keyType: Fingerprint.keyType(ofKeyBlob: blob) ?? "unknown"))
            previous = identity
        }
        return result
    }
}
