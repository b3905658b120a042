import CLibSSH2
import Foundation
import IsletCore
import Synchronization

/// The port forwards of one node session, carried on a connection of their own so that a long push through
/// them never waits behind, or holds up, the session's scripts and uploads.
///
/// One relay runs on that connection's thread for as long as it is open: it accepts on every forward's
/// listener and gives each accepted connection its own `direct-tcpip` channel.
final class PortForwarder: Sendable {
    let connection: SSHConnection
    private let registry: ForwardRegistry

    /// Starts the relay on `connection`, which nothing else may use.
    init(connection: SSHConnection) throws {
        self.connection = connection
        registry = ForwardRegistry(node: connection.name, wake: try WakeSignal())
        let registry = self.registry
        connection.startRelay { session in ForwardRelay(session: session, registry: registry).run() }
    }

    /// Why the relay stopped (its connection died), or nil while it runs.
    var failure: String? { registry.failure }

    /// Listens on 127.0.0.1 at a port the kernel picks, for connections to `host:port` on the node's side.
    func open(toHost host: String, port: Int) throws -> SSHPortForward {
        let listener = try ForwardListener(node: connection.name, host: host, port: port)
        let id = registry.add(listener)
        return SSHPortForward(port: listener.localPort, id: id, registry: registry)
    }

    /// Stops the relay (closing every listener and channel), then the connection.
    func shutdown() async {
        registry.stop()
        await connection.close()
    }
}

/// One forward as the engine sees it.
final class SSHPortForward: PortForward {
    let host = "127.0.0.1"
    let port: Int
    private let id: Int
    private let registry: ForwardRegistry

    fileprivate init(port: Int, id: Int, registry: ForwardRegistry) {
        self.port = port
        self.id = id
        self.registry = registry
    }

    var failures: [String] { registry.failures(of: id) }

    func close() async { await registry.remove(id) }
}

/// A listening socket on 127.0.0.1 and the target its connections go to.
struct ForwardListener: Sendable {
    let socket: OwnedFD
    let localPort: Int
    let host: String
    let port: Int

    init(node: String, host: String, port: Int) throws {
        let fd = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw SSHError.channelFailed(node: node, operation: "forward listener", message: errnoDescription())
        }
        socket = OwnedFD(fd)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            throw SSHError.channelFailed(
                node: node, operation: "listening on 127.0.0.1 for a forward to \(host):\(port)",
                message: errnoDescription())
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        localPort = Int(UInt16(bigEndian: address.sin_port))
        self.host = host
        self.port = port
    }
}

/// What callers and the relay share: forwards to start and to stop, failures, and why the relay ended.
final class ForwardRegistry: Sendable {
    private struct State {
        var nextID = 1
        var added: [(Int, ForwardListener)] = []
        var removed: [(Int, CheckedContinuation<Void, Never>)] = []
        var failures: [Int: [String]] = [:]
        var stopping = false
        /// Set when the relay has ended; from then on nothing is relayed.
        var ended = false
        var failure: String?
    }

    let node: String
    let wake: WakeSignal
    private let state = Mutex(State())
    private static let keptFailures = 100

    init(node: String, wake: WakeSignal) {
        self.node = node
        self.wake = wake
    }

    func add(_ listener: ForwardListener) -> Int {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            // A relay that ended never picks it up: the listener is dropped (closed) at once, so connections
            // to it are refused, and the failure says why.
            if state.ended {
                state.failures[state.nextID] = [state.failure ?? "node \(node): the forwarding connection is closed"]
            } else {
                state.added.append((state.nextID, listener))
            }
            return state.nextID
        }
        wake.signal()
        return id
    }

    /// Returns once the relay has closed the forward's listener and connections.
    func remove(_ id: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiting = state.withLock { state in
                if state.ended { return false }
                state.removed.append((id, continuation))
                return true
            }
            if waiting { wake.signal() } else { continuation.resume() }
        }
    }

    func stop() {
        state.withLock { $0.stopping = true }
        wake.signal()
    }

    /// The forward's own failures, then why the relay ended if it failed.
    func failures(of id: Int) -> [String] {
        state.withLock { state in
            let own = state.failures[id] ?? []
            guard let failure = state.failure, !own.contains(failure) else { return own }
            return own + [failure]
        }
    }

    var failure: String? { state.withLock { $0.failure } }

    func record(_ message: String, for id: Int) {
        state.withLock { state in
            state.failures[id, default: []].append(message)
            if state.failures[id]!.count > Self.keptFailures { state.failures[id]!.removeFirst() }
        }
    }

    /// For the relay: what changed since it last asked.
    func takeChanges() -> (
        added: [(Int, ForwardListener)], removed: [(Int, CheckedContinuation<Void, Never>)], stop: Bool
    ) {
        state.withLock { state in
            defer {
                state.added = []
                state.removed = []
            }
            return (state.added, state.removed, state.stopping)
        }
    }

    /// For the relay, as it ends: every later `add` and `remove` returns at once.
    func end(failure: String?) -> [(Int, CheckedContinuation<Void, Never>)] {
        state.withLock { state in
            state.ended = true
            state.failure = failure
            defer { state.removed = [] }
            return state.removed
        }
    }
}

/// The loop that carries every forwarded connection of one session, on the session's thread.
///
/// libssh2 lets only that thread touch the session and its channels, so everything is non-blocking and one
/// pass serves every connection: accept, open the next channel (libssh2 opens one at a time per session),
/// copy bytes both ways, close what is done, then poll every descriptor when no pass made progress.
final class ForwardRelay {
    private let session: Session
    private let registry: ForwardRegistry
    private var listeners: [Int: ForwardListener] = [:]
    private var links: [Link] = []
    /// The link whose channel is being opened; libssh2 must be called again with the same target until done.
    private var opening: Link?
    private var lastHeard = ContinuousClock.now

    /// Connections relayed at once; more wait in the listeners' backlog.
    static let maxLinks = 128
    static let bufferSize = 128 * 1024

    /// One accepted connection and its channel.
    final class Link {
        let forward: Int
        let host: String
        let port: Int
        let client: OwnedFD
        var channel: Channel?
        var toClient = ByteQueue(capacity: ForwardRelay.bufferSize)
        var toTarget = ByteQueue(capacity: ForwardRelay.bufferSize)
        var clientDone = false
        var targetDone = false
        var clientToldEOF = false
        var targetToldEOF = false
        var finished = false

        init(forward: Int, host: String, port: Int, client: OwnedFD) {
            self.forward = forward
            self.host = host
            self.port = port
            self.client = client
        }

        var complete: Bool {
            clientDone && targetDone && toClient.isEmpty && toTarget.isEmpty
        }
    }

    init(session: Session, registry: ForwardRegistry) {
        self.session = session
        self.registry = registry
    }

    func run() {
        session.setBlocking(false)
        var failure: String?
        do {
            try loop()
        } catch {
            failure = "node \(registry.node): the forwarding connection failed: \(error)"
            // The peer is gone: freeing channels must not wait out the operation timeout for each.
            libssh2_session_set_timeout(session.raw, 1000)
            session.abandon()
            for link in links { registry.record(failure!, for: link.forward) }
        }
        let waiting = registry.end(failure: failure)
        links = []
        opening = nil
        listeners = [:]
        session.setBlocking(true)
        for (_, continuation) in waiting { continuation.resume() }
    }

    private func loop() throws {
        while true {
            let changes = registry.takeChanges()
            for (id, listener) in changes.added { listeners[id] = listener }
            for (id, continuation) in changes.removed {
                listeners[id] = nil
                for link in links where link.forward == id { link.finished = true }
                reap()
                continuation.resume()
            }
            if changes.stop { return }

            var progress = accept()
            if try openNext() { progress = true }
            for link in links where link.channel != nil && !link.finished {
                if try relay(link) { progress = true }
            }
            reap()
            if progress {
                lastHeard = .now
                continue
            }
            try wait()
        }
    }

    /// Accepts what the listeners have, up to `maxLinks` links.
    private func accept() -> Bool {
        var accepted = false
        for (id, listener) in listeners.sorted(by: { $0.key < $1.key }) {
            while links.count < Self.maxLinks {
                let fd = Foundation.accept(listener.socket.fd, nil, nil)
                guard fd >= 0 else { break }
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                links.append(Link(forward: id, host: listener.host, port: listener.port, client: OwnedFD(fd)))
                accepted = true
            }
        }
        return accepted
    }

    /// Drives the open of the oldest link without a channel; true when an open ended either way.
    private func openNext() throws -> Bool {
        if opening == nil {
            opening = links.first { $0.channel == nil && !$0.finished }
        }
        guard let link = opening else { return false }
        var raw: OpaquePointer?
        let rc = try session.finishingPartialSend {
            raw = islet_channel_direct_tcpip(session.raw, link.host, Int32(link.port))
            return raw == nil ? Int(libssh2_session_last_errno(session.raw)) : 0
        }
        if rc == Int(LIBSSH2_ERROR_EAGAIN) { return false }
        opening = nil
        if let raw {
            if link.finished {
                // Its forward was closed while the channel opened: freed at once.
                _ = Channel(session: session, raw: raw)
                session.setBlocking(false)
            } else {
                link.channel = Channel(session: session, raw: raw)
            }
            return true
        }
        if LibSSH2.isTimeout(rc) || LibSSH2.isConnectionLost(rc) {
            throw session.error(rc, operation: "opening a forward to \(link.host):\(link.port)")
        }
        registry.record(
            "node \(registry.node): forward to \(link.host):\(link.port): the node could not connect: \(session.lastError)",
            for: link.forward)
        reset(link)
        return true
    }

    /// Copies what can be copied each way without blocking; true if anything moved.
    private func relay(_ link: Link) throws -> Bool {
        guard let channel = link.channel else { return false }
        var progress = false

        // Target → client.
        if !link.targetDone && link.toClient.hasSpace {
            let n = try channelCall({ link.toClient.fill($0) }, { islet_channel_read(channel.raw, $0, $1) })
            if n > 0 {
                progress = true
            } else if n == 0 || n == Int(LIBSSH2_ERROR_EAGAIN) {
                if libssh2_channel_eof(channel.raw) != 0 {
                    link.targetDone = true
                    progress = true
                }
            } else {
                try fail(link, rc: n, operation: "reading")
                return true
            }
        }
        if !link.toClient.isEmpty {
            let n = link.toClient.drain { send(link.client.fd, $0, $1, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                progress = true
            } else if n < 0 && errno != EAGAIN && errno != EINTR {
                // The client went away: nothing more to carry either way.
                link.finished = true
                return true
            }
        }
        if link.targetDone && link.toClient.isEmpty && !link.clientToldEOF {
            shutdown(link.client.fd, Int32(SHUT_WR))
            link.clientToldEOF = true
        }

        // Client → target.
        if !link.clientDone && link.toTarget.hasSpace {
            let n = link.toTarget.fill { recv(link.client.fd, $0, $1, 0) }
            if n > 0 {
                progress = true
            } else if n == 0 {
                link.clientDone = true
                progress = true
            } else if errno != EAGAIN && errno != EINTR {
                link.finished = true
                return true
            }
        }
        if !link.toTarget.isEmpty {
            let n = try channelCall({ link.toTarget.drain($0) }, { islet_channel_write(channel.raw, $0, $1) })
            if n > 0 {
                progress = true
            } else if n == Int(LIBSSH2_ERROR_CHANNEL_CLOSED) || n == Int(LIBSSH2_ERROR_CHANNEL_EOF_SENT)
                || (libssh2_channel_eof(channel.raw) != 0 && n != Int(LIBSSH2_ERROR_EAGAIN))
            {
                // The target closed: what the client still sends has nowhere to go.
                link.finished = true
                return true
            } else if n < 0 && n != Int(LIBSSH2_ERROR_EAGAIN) {
                try fail(link, rc: n, operation: "writing")
                return true
            }
        }
        if link.clientDone && link.toTarget.isEmpty && !link.targetToldEOF,
            pollOne(session.socket.fd, events: Int16(POLLOUT), timeoutMs: 0) & Int16(POLLOUT) != 0
        {
            // EOF travels in a packet built on send_eof's stack: sent only when the socket has room for it.
            let rc = try session.finishingPartialSend { Int(libssh2_channel_send_eof(channel.raw)) }
            if rc == 0 || libssh2_channel_eof(channel.raw) != 0 {
                link.targetToldEOF = true
                progress = true
            }
        }
        if link.complete { link.finished = true }
        return progress
    }

    /// Runs a libssh2 channel read or write inside a queue's `fill` or `drain`, whose closures cannot throw:
    /// a packet it leaves half sent is finished first, and a socket that stays blocked is rethrown here.
    private func channelCall<Pointer>(
        _ queue: ((Pointer, Int) -> Int) -> Int, _ call: @escaping (Pointer, Int) -> Int
    ) throws -> Int {
        var thrown: (any Error)?
        let n = queue { pointer, count in
            do {
                return try session.finishingPartialSend { call(pointer, count) }
            } catch {
                thrown = error
                return Int(LIBSSH2_ERROR_TIMEOUT)
            }
        }
        if let thrown { throw thrown }
        return n
    }

    /// A channel error: a dead connection ends the relay; anything else ends this link only.
    private func fail(_ link: Link, rc: Int, operation: String) throws {
        if LibSSH2.isTimeout(rc) || LibSSH2.isConnectionLost(rc) {
            throw session.error(rc, operation: "\(operation) a forward to \(link.host):\(link.port)")
        }
        registry.record(
            "node \(registry.node): forward to \(link.host):\(link.port): \(operation) failed: \(session.lastError)",
            for: link.forward)
        reset(link)
    }

    /// Ends a link whose target failed with a TCP reset, so the client sees an error rather than an empty reply.
    private func reset(_ link: Link) {
        var lingering = linger(l_onoff: 1, l_linger: 0)
        setsockopt(link.client.fd, SOL_SOCKET, SO_LINGER, &lingering, socklen_t(MemoryLayout<linger>.size))
        link.finished = true
    }

    /// Drops finished links: their sockets close, their channels are closed and freed.
    private func reap() {
        guard links.contains(where: \.finished) else { return }
        // A channel is freed in blocking mode (the close exchange is one round trip); then on non-blocking.
        for link in links where link.finished { link.channel = nil }
        session.setBlocking(false)
        links.removeAll { $0.finished && $0 !== opening }
    }

    /// Polls the session's socket, the listeners, the clients and the wake signal until one can make
    /// progress; sends keepalives while it waits.
    private func wait() throws {
        // The socket is read only by channel calls; poll it only when a pass will make some, or data for
        // channels that cannot take it would wake every poll at once.
        let readsSocket =
            opening != nil
            || links.contains { link in
                link.channel != nil && ((!link.targetDone && link.toClient.hasSpace) || !link.toTarget.isEmpty)
            }
        var socketEvents: Int16 = readsSocket ? Int16(POLLIN) : 0
        if session.hasPartialSend { socketEvents |= Int16(POLLOUT) }
        var entries = [
            pollfd(fd: session.socket.fd, events: socketEvents, revents: 0),
            pollfd(fd: registry.wake.fd, events: Int16(POLLIN), revents: 0),
        ]
        if links.count < Self.maxLinks {
            for listener in listeners.values {
                entries.append(pollfd(fd: listener.socket.fd, events: Int16(POLLIN), revents: 0))
            }
        }
        for link in links where link.channel != nil {
            var events: Int16 = 0
            if !link.clientDone && link.toTarget.hasSpace { events |= Int16(POLLIN) }
            if !link.toClient.isEmpty { events |= Int16(POLLOUT) }
            if events != 0 { entries.append(pollfd(fd: link.client.fd, events: events, revents: 0)) }
        }
        let timeout = min(1000, session.keepalive())
        let rc = poll(&entries, nfds_t(entries.count), timeout)
        if rc < 0 && errno != EINTR {
            throw SSHError.connectionLost(node: registry.node, reason: "poll: \(errnoDescription())")
        }
        if entries[1].revents != 0 {
            var drain = [UInt8](repeating: 0, count: 64)
            while read(registry.wake.fd, &drain, drain.count) > 0 {}
        }
        if !readsSocket && entries[0].revents & Int16(POLLHUP | POLLERR) != 0 {
            throw SSHError.connectionLost(node: registry.node, reason: "the forwarding connection was closed")
        }
        if entries[0].revents != 0 || !readsSocket {
            lastHeard = .now
        } else if ContinuousClock.now - lastHeard > session.operationTimeout {
            throw SSHError.timeout(
                node: registry.node,
                operation:
                    "forwarding: the node sent nothing, not even keepalive replies, for \(session.operationTimeout)")
        }
    }
}
