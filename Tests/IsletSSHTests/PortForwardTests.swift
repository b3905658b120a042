import Crypto
import Foundation
import IsletCore
import IsletTestSupport
import Testing

@testable import IsletSSH

/// Port forwards over real SSH to a testbed node, to a real HTTP server that listens inside the node on the
/// node's own address: what islet uses to reach a registry it cannot reach directly.
@Suite struct PortForwardTests {
    /// An HTTP server in node 1 on its address, port 8080: GET serves /srv/www, PUT answers the sha256 of
    /// the body it read. Threaded, so parallel requests are served in parallel.
    static let server = """
        import hashlib, http.server, sys
        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args): pass
            def do_PUT(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                digest = hashlib.sha256(body).hexdigest().encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(digest)))
                self.end_headers()
                self.wfile.write(digest)
        http.server.ThreadingHTTPServer((sys.argv[1], 8080), Handler).serve_forever()
        """

    /// Fresh node 1 with the HTTP server running, and a session to it as `ops` over the SSH transport.
    func withNode(_ body: (any NodeSession) async throws -> Void) async throws {
        try await Testbed.fresh(nodes: 1) {
            let dir = try makeTemporaryDirectory("islet-forward")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try Testbed.inventory(nodes: 1, to: dir + "/inventory.yaml")
            try Testbed.exec(
                1,
                """
                mkdir -p /srv/www && head -c 4194304 /dev/urandom > /srv/www/large && echo small > /srv/www/small
                cat > /srv/server.py <<'EOF'
                \(Self.server)
                EOF
                cd /srv/www && nohup python3 /srv/server.py \(Testbed.address(1)) > /srv/server.log 2>&1 &
                for i in $(seq 100); do python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], 8080))' \
                  \(Testbed.address(1)) 2>/dev/null && exit 0; sleep 0.1; done; cat /srv/server.log; exit 1
                """)
            let knownHosts = dir + "/.islet/known_hosts"
            let transport = SSHTransport(
                hostKeys: SSHHostKeyPolicy(knownHostsFiles: [knownHosts], recordFile: knownHosts, acceptNew: false),
                credentials: SSHCredentials(useAgent: false))
            var ssh = SSHSettings()
            ssh.user = "ops"
            ssh.identityFile = Testbed.opsKey
            ssh.become = .sudo
            let session = try await transport.connect(
                to: NodeAddress(name: "node1", address: Testbed.address(1), ssh: ssh))
            do {
                try await body(session)
            } catch {
                await session.close()
                throw error
            }
            await session.close()
        }
    }

    @Test func carriesManyParallelRequestsBothWaysWhileAScriptHoldsTheFirstConnection() async throws {
        try await withNode { session in
            let forward = try await session.forward(toHost: Testbed.address(1), port: 8080)
            #expect(forward.host == "127.0.0.1")
            let large = try Testbed.exec(1, "sha256sum < /srv/www/large").prefix(64)

            // The script waits for a file the test makes only after every request is through: the requests
            // cannot have waited for the first connection to be free.
            let output = OutputCollector()
            let script = Task {
                try await session.run(
                    script: "while [ ! -f /tmp/requests-done ]; do sleep 0.05; done; echo script-done\n"
                ) { output.append($0.bytes) }
            }
            let port = forward.port
            let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let payloadDigest = SHA256.hash(data: payload).map { String(format: "%02x", $0) }.joined()
            let answers = try await withThrowingTaskGroup(of: String.self) { group in
                for number in 0..<48 {
                    group.addTask {
                        switch number % 3 {
                        case 0:
                            let reply = try await HTTPExchange.perform(port: port, "GET /large")
                            return "\(reply.status) \(reply.digest)"
                        case 1:
                            let reply = try await HTTPExchange.perform(port: port, "GET /small")
                            return "\(reply.status) \(reply.text)"
                        default:
                            let reply = try await HTTPExchange.perform(port: port, "PUT /upload", body: payload)
                            return "\(reply.status) \(reply.text)"
                        }
                    }
                }
                return try await group.reduce(into: [:]) { counts, answer in counts[answer, default: 0] += 1 }
            }
            #expect(answers == ["200 \(large)": 16, "200 small\n": 16, "200 \(payloadDigest)": 16] as [String: Int])
            try Testbed.exec(1, "touch /tmp/requests-done")
            #expect(try await script.value.succeeded)
            #expect(output.text == "script-done\n")
            #expect(forward.failures.isEmpty)
            await forward.close()
        }
    }

    @Test func aClosedPortFailsEachOfItsConnectionsAndNoOther() async throws {
        try await withNode { session in
            let good = try await session.forward(toHost: Testbed.address(1), port: 8080)
            let closed = try await session.forward(toHost: Testbed.address(1), port: 9)
            let results = try await withThrowingTaskGroup(of: (Bool, Int?).self) { group in
                for number in 0..<20 {
                    group.addTask {
                        if number % 2 == 0 {
                            return (true, try await HTTPExchange.perform(port: good.port, "GET /small").status)
                        }
                        // Reset, or closed without a reply: no status either way.
                        return (false, try? await HTTPExchange.perform(port: closed.port, "GET /small").status)
                    }
                }
                return try await group.reduce(into: [(Bool, Int?)]()) { $0.append($1) }
            }
            #expect(results.filter { $0.0 }.map(\.1) == Array(repeating: 200, count: 10))
            #expect(results.filter { !$0.0 }.allSatisfy { $0.1 == nil })
            #expect(closed.failures.count == 10)
            #expect(
                closed.failures.allSatisfy {
                    $0.hasPrefix("node node1: forward to \(Testbed.address(1)):9: the node could not connect: ")
                }, "\(closed.failures)")
            #expect(good.failures.isEmpty)
            // The forwarding connection is still good for new connections.
            #expect(try await HTTPExchange.perform(port: good.port, "GET /small").status == 200)
        }
    }

    @Test func closingAForwardStopsItsListenerAndClosingTheSessionJoinsItsThread() async throws {
        try await withNode { session in
            let forward = try await session.forward(toHost: Testbed.address(1), port: 8080)
            let other = try await session.forward(toHost: Testbed.address(1), port: 8080)
            #expect(try await HTTPExchange.perform(port: forward.port, "GET /small").status == 200)
            await forward.close()
            await forward.close()
            await #expect(throws: HTTPExchange.Failure.connect(ECONNREFUSED)) {
                try await HTTPExchange.perform(port: forward.port, "GET /small")
            }
            #expect(try await HTTPExchange.perform(port: other.port, "GET /small").status == 200)
            // Still open when the session closes: its listener goes with it.
            await session.close()
            await #expect(throws: HTTPExchange.Failure.connect(ECONNREFUSED)) {
                try await HTTPExchange.perform(port: other.port, "GET /small")
            }
            #expect(SessionThread.unjoinedCount(nodePrefix: "node1") == 0)
        }
    }
}

/// One HTTP/1.0 exchange over a plain socket to 127.0.0.1: the server closes after its reply. The body is
/// hashed as it arrives, never held whole: the suites share one process, and SFTPTests measures its memory.
enum HTTPExchange {
    enum Failure: Error, Equatable {
        case connect(Int32)
        case io(Int32)
        case malformed
    }

    struct Reply {
        var status: Int
        /// sha256 of the body, hex.
        var digest: String
        /// The body's first bytes, as text.
        var text: String
    }

    static func perform(port: Int, _ requestLine: String, body: [UInt8] = []) async throws -> Reply {
        try await offPool { try exchange(port: port, requestLine, body: body) }
    }

    private static func exchange(port: Int, _ requestLine: String, body: [UInt8]) throws -> Reply {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure.io(errno) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw Failure.connect(errno) }
        try sendAll(fd, Array("\(requestLine) HTTP/1.0\r\nContent-Length: \(body.count)\r\n\r\n".utf8))
        try sendAll(fd, body)
        var head: [UInt8] = []
        var hasher = SHA256()
        var text: [UInt8] = []
        var inBody = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { break }
            guard n > 0 else { throw Failure.io(errno) }
            var chunk = buffer[0..<n]
            if !inBody {
                head += chunk
                guard let end = headerEnd(head) else { continue }
                chunk = head[(end + 4)...]
                head = Array(head[0..<end])
                inBody = true
            }
            hasher.update(data: Array(chunk))
            if text.count < 256 { text += chunk.prefix(256 - text.count) }
        }
        guard inBody, let statusLine = String(decoding: head, as: UTF8.self).split(separator: "\r\n").first,
            let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { throw Failure.malformed }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        return Reply(status: status, digest: digest, text: String(decoding: text, as: UTF8.self))
    }

    private static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        return (0...(bytes.count - 4)).first {
            bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10
        }
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure.io(errno) }
            sent += n
        }
    }
}
