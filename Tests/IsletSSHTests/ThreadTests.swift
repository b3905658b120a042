import Foundation
import Testing

@testable import IsletSSH

/// Every session thread is joined, whether connect fails or close is called.
@Suite struct ThreadTests {
    @Test func failedConnectsLeaveNoThread() async throws {
        let fixture = try await Fixture.start()
        let name = "leak-\(UUID().uuidString)"
        let (holder, closedPort) = try refusingLoopbackPort()
        defer { close(holder) }
        let stranger = try await makeKey(in: fixture.scratch, name: "id_stranger")
        var refused = fixture.endpoint()
        refused.port = closedPort
        var badBastion = fixture.endpoint()
        badBastion.bastion = SSHBastion(host: "127.0.0.1", port: closedPort, user: "root")
        var unknownNode = fixture.endpoint()
        unknownNode.bastion = SSHBastion(
            host: "127.0.0.1", port: fixture.sshd.port, user: "root",
            identityFiles: [fixture.clientKey])
        unknownNode.host = "127.0.0.2"  // tunnel target refused: nothing listens there
        let attempts: [SSHEndpoint] = [refused, fixture.endpoint(keys: [stranger]), badBastion, unknownNode]

        for endpoint in attempts {
            await #expect(throws: SSHError.self) {
                _ = try await SSHConnection.connect(
                    name: name, to: endpoint, hostKeys: fixture.hostKeys,
                    credentials: Fixture.noAgent)
            }
            #expect(SessionThread.unjoinedCount(nodePrefix: name) == 0)
        }
    }

    @Test func closeJoinsTheThreads() async throws {
        let fixture = try await Fixture.start()
        let name = "join-\(UUID().uuidString)"
        var endpoint = fixture.endpoint()
        endpoint.bastion = SSHBastion(
            host: "127.0.0.1", port: fixture.sshd.port, user: "root",
            identityFiles: [fixture.clientKey])
        let connection = try await SSHConnection.connect(
            name: name, to: endpoint, hostKeys: fixture.hostKeys,
            credentials: Fixture.noAgent)
        #expect(SessionThread.unjoinedCount(nodePrefix: name) == 2)
        await connection.close()
        #expect(SessionThread.unjoinedCount(nodePrefix: name) == 0)
    }
}
