import CLibSSH2

/// A libssh2 channel; keeps its session alive and frees itself in deinit.
final class Channel {
    let session: Session
    let raw: OpaquePointer

    init(session: Session, raw: OpaquePointer) {
        self.session = session
        self.raw = raw
    }

    /// Opens a "session" channel (blocking).
    static func openSession(on session: Session, purpose: String) throws -> Channel {
        session.setBlocking(true)
        guard let raw = islet_channel_open_session(session.raw) else {
            throw session.error(Int(session.lastErrorCode), operation: "opening a channel for \(purpose)")
        }
        return Channel(session: session, raw: raw)
    }

    deinit {
        // In non-blocking mode channel_free can return EAGAIN and leak.
        session.setBlocking(true)
        libssh2_channel_free(raw)
    }
}
