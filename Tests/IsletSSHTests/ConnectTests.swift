import Foundation
import Testing

@testable import IsletSSH

@Suite struct ConnectTests {
    @Test func closedPortFailsFast() async throws {
        let (holder, port) = try refusingLoopbackPort()
        defer { close(holder) }
        let endpoint = SSHEndpoint(host: "127.0.0.1", port: port, user: "root", connectTimeout: .seconds(10))
        let policy = SSHHostKeyPolicy(knownHostsFiles: [], recordFile: "/nonexistent/known_hosts")
        // "refused", not a timeout: the connect did not wait for the 10 s limit.
        await #expect {
            _ = try await SSHConnection.connect(
                name: "closed", to: endpoint, hostKeys: policy,
                credentials: Fixture.noAgent)
        } throws: { error in
            guard case SSHError.connectFailed(let node, let address, let errorPort, let reason) = error else {
                return false
            }
            return node == "closed" && address == "127.0.0.1" && errorPort == port && reason.contains("refused")
        }
    }

    /// A listener that accepts TCP but never sends an SSH banner.
    @Test func silentListenerTimesOutWithinConnectTimeout() async throws {
        let (listener, port) = try listeningSocket()
        defer { close(listener) }
        let endpoint = SSHEndpoint(host: "127.0.0.1", port: port, user: "root", connectTimeout: .seconds(2))
        let policy = SSHHostKeyPolicy(knownHostsFiles: [], recordFile: "/nonexistent/known_hosts")
        // The message names the connect timeout: that limit ended the wait, not the 60 s operation timeout.
        await #expect(
            throws: SSHError.timeout(
                node: "silent",
                operation: "no SSH handshake from 127.0.0.1 port \(port) within 2.0 seconds (is it an SSH server?)")
        ) {
            _ = try await SSHConnection.connect(
                name: "silent", to: endpoint, hostKeys: policy, credentials: Fixture.noAgent)
        }
    }

    @Test func twentyConcurrentConnectionsToOneServer() async throws {
        let fixture = try await Fixture.start()
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<20 {
                group.addTask {
                    let connection = try await SSHConnection.connect(
                        name: "node-\(index)", to: fixture.endpoint(), hostKeys: fixture.hostKeys,
                        credentials: Fixture.noAgent)
                    let (status, output) = try await connection.run("echo \(index)")
                    await connection.close()
                    #expect(status.code == 0)
                    return output.stdoutText
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(results == Set((0..<20).map { "\($0)\n" }))
    }

    @Test func hostnameResolvesToLoopback() async throws {
        let fixture = try await Fixture.start()
        // known_hosts knows [127.0.0.1]:port; "localhost" is another name, so it must be unknown.
        var endpoint = fixture.endpoint()
        endpoint.host = "localhost"
        await #expect {
            _ = try await fixture.connect(endpoint)
        } throws: { error in
            guard case SSHError.hostKeyUnknown(_, let hostPort, _, _, _, _) = error else { return false }
            return hostPort == "[localhost]:\(fixture.sshd.port)"
        }
    }
}
