import CLibSSH2
import Foundation

/// A `direct-tcpip` channel through the bastion, bridged to one end of a
/// socketpair whose other end carries the node's SSH session.
///
/// libssh2 runs a session over a socket, not over another session's
/// channel, so the bytes are copied both ways by `pump()`, which runs on the
/// bastion's session thread (the only thread allowed to touch its channel).
final class Tunnel {
    let channel: Channel
    let local: OwnedFD
    let stop: WakeSignal

    private static let bufferSize = 256 * 1024

    private init(channel: Channel, local: OwnedFD, stop: WakeSignal) {
        self.channel = channel
        self.local = local
        self.stop = stop
    }

    /// Opens the channel and the socketpair; returns the tunnel and the
    /// descriptor the node session is to use.
    static func open(through session: Session, to host: String, port: Int, stop: WakeSignal) throws -> (Tunnel, OwnedFD)
    {
        session.setBlocking(true)
        guard let raw = islet_channel_direct_tcpip(session.raw, host, Int32(port)) else {
            let rc = Int(session.lastErrorCode)
            if LibSSH2.isTimeout(rc) || LibSSH2.isConnectionLost(rc) {
                throw session.error(rc, operation: "opening a tunnel to \(host) port \(port)")
            }
            throw SSHError.connectFailed(
                node: session.node, address: host, port: port,
                reason: "the bastion could not open a tunnel (AllowTcpForwarding?): \(session.lastError)")
        }
        let channel = Channel(session: session, raw: raw)
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw SSHError.connectionLost(node: session.node, reason: "socketpair: \(errnoDescription())")
        }
        let local = OwnedFD(fds[0])
        let remote = OwnedFD(fds[1])
        _ = fcntl(local.fd, F_SETFL, fcntl(local.fd, F_GETFL) | O_NONBLOCK)
        return (Tunnel(channel: channel, local: local, stop: stop), remote)
    }

    /// Copies bytes until the node session closes its end, the target closes
    /// the channel, the bastion stops answering, or `stop` is signalled.
    func pump() {
        let session = channel.session
        session.setBlocking(false)
        defer { session.setBlocking(true) }
        var toNode = ByteQueue(capacity: Self.bufferSize)
        var toTarget = ByteQueue(capacity: Self.bufferSize)
        var nodeClosed = false
        var targetClosed = false
        var nodeToldEOF = false
        var lastHeard = ContinuousClock.now

        while true {
            var progress = false

            if !targetClosed && toNode.hasSpace {
                let n = toNode.fill { buffer, count in
                    (try? session.finishingPartialSend { islet_channel_read(channel.raw, buffer, count) })
                        ?? Int(LIBSSH2_ERROR_TIMEOUT)
                }
                if n > 0 {
                    progress = true
                } else if n == 0 && libssh2_channel_eof(channel.raw) != 0 {
                    targetClosed = true
                } else if n < 0 && n != Int(LIBSSH2_ERROR_EAGAIN) {
                    return
                }
            }
            if !toNode.isEmpty {
                let n = toNode.drain { send(local.fd, $0, $1, Int32(MSG_NOSIGNAL)) }
                if n > 0 { progress = true } else if n < 0 && errno != EAGAIN && errno != EINTR { return }
            }
            if targetClosed && toNode.isEmpty && !nodeToldEOF {
                // The node session reads EOF and fails on its own.
                shutdown(local.fd, Int32(SHUT_WR))
                nodeToldEOF = true
            }

            if !nodeClosed && toTarget.hasSpace {
                let n = toTarget.fill { recv(local.fd, $0, $1, 0) }
                if n > 0 {
                    progress = true
                } else if n == 0 {
                    nodeClosed = true
                } else if errno != EAGAIN && errno != EINTR {
                    return
                }
            }
            if !toTarget.isEmpty {
                let n = toTarget.drain { buffer, count in
                    (try? session.finishingPartialSend { islet_channel_write(channel.raw, buffer, count) })
                        ?? Int(LIBSSH2_ERROR_TIMEOUT)
                }
                if n > 0 { progress = true } else if n < 0 && n != Int(LIBSSH2_ERROR_EAGAIN) { return }
            }
            if nodeClosed && toTarget.isEmpty {
                // The node session is gone; nothing more to carry.
                // Best effort: the channel is freed right after, which closes it anyway.
                if !session.hasPartialSend { _ = libssh2_channel_send_eof(channel.raw) }
                return
            }

            if progress {
                lastHeard = .now
                continue
            }
            if !wait(
                timeoutMs: min(1000, session.keepalive()), toNode: toNode, toTarget: toTarget,
                nodeOpen: !nodeClosed, lastHeard: &lastHeard)
            {
                return
            }
            if ContinuousClock.now - lastHeard > session.operationTimeout { return }
        }
    }

    /// Polls the bastion socket, the local end and the stop signal; false when stopped.
    private func wait(
        timeoutMs: Int32, toNode: ByteQueue, toTarget: ByteQueue, nodeOpen: Bool,
        lastHeard: inout ContinuousClock.Instant
    ) -> Bool {
        let session = channel.session
        var bastionEvents = Int16(POLLIN)
        if libssh2_session_block_directions(session.raw) & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 {
            bastionEvents |= Int16(POLLOUT)
        }
        var localEvents: Int16 = 0
        if nodeOpen && toTarget.hasSpace { localEvents |= Int16(POLLIN) }
        if !toNode.isEmpty { localEvents |= Int16(POLLOUT) }
        var entries = [
            pollfd(fd: session.socket.fd, events: bastionEvents, revents: 0),
            pollfd(fd: local.fd, events: localEvents, revents: 0),
            pollfd(fd: stop.fd, events: Int16(POLLIN), revents: 0),
        ]
        let rc = poll(&entries, nfds_t(entries.count), timeoutMs)
        if rc < 0 && errno != EINTR { return false }
        if entries[0].revents != 0 { lastHeard = .now }
        return entries[2].revents == 0
    }
}
