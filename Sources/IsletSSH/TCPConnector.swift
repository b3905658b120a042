import Foundation

/// Opens TCP connections with a deadline, which a blocking connect(2) lacks
/// (it waits for the kernel's SYN retries, minutes for a black-holed host).
enum TCPConnector {
    static func connect(node: String, host: String, port: Int, timeout: Duration) throws -> OwnedFD {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var resolved: UnsafeMutablePointer<addrinfo>?
        let gai = getaddrinfo(host, String(port), &hints, &resolved)
        guard gai == 0, let first = resolved else {
            throw SSHError.connectFailed(
                node: node, address: host, port: port,
                reason: "cannot resolve: \(String(cString: gai_strerror(gai)))")
        }
        defer { freeaddrinfo(first) }

        let deadline = ContinuousClock.now + timeout
        var failure = "no address"
        for info in sequence(first: first, next: { $0.pointee.ai_next }) {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                failure = "timed out after \(timeout)"
                break
            }
            switch attempt(info.pointee, timeout: remaining) {
            case .success(let socket): return socket
            case .failure(let reason): failure = reason == "timed out" ? "timed out after \(timeout)" : reason
            }
        }
        throw SSHError.connectFailed(node: node, address: host, port: port, reason: failure)
    }

    private enum Attempt {
        case success(OwnedFD)
        case failure(String)
    }

    private static func attempt(_ info: addrinfo, timeout: Duration) -> Attempt {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(info.ai_family, type, info.ai_protocol)
        guard fd >= 0 else { return .failure(errnoDescription()) }
        let socket = OwnedFD(fd)

        if Glibc.connect(fd, info.ai_addr, info.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { return .failure(errnoDescription()) }
            let revents = pollOne(fd, events: Int16(POLLOUT), timeoutMs: timeout.milliseconds)
            if revents == 0 { return .failure("timed out") }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else {
                return .failure(errnoDescription())
            }
            if error != 0 { return .failure(errnoDescription(error)) }
        }

        // Exec round trips are small request/response exchanges; Nagle would delay them.
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size))
        return .success(socket)
    }
}
