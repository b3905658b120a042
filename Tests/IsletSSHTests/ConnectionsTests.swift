import Foundation
import IsletCore
import Testing

@testable import IsletSSH

/// What the engine sees of a node that froze mid-run, through `Connections` and the SSH transport.
@Suite struct ConnectionsTests {
    @Test func aNodeMarkedFailedAfterATimeoutIsNeverWaitedForAgain() async throws {
        let fixture = try await Fixture.start()
        let transport = SSHTransport(
            hostKeys: fixture.hostKeys, credentials: Fixture.noAgent, operationTimeout: .seconds(3))
        var ssh = SSHSettings()
        ssh.port = fixture.sshd.port
        ssh.identityFile = fixture.clientKey
        let node = NodeAddress(name: "frozen", address: "127.0.0.1", ssh: ssh)
        let connections = Connections(transport: transport)
        let session = try await connections.session(for: node).get()
        #expect(try await session.run(script: "exit 4", output: { _ in }) == ExitStatus(code: 4))
        // A failed script is the script's business, not the connection's.
        #expect(
            !(await connections.markFailed(
                node: "frozen",
                after: SSHError.channelFailed(
                    node: "frozen", operation: "x", message: "y"))))

        let frozen = fixture.sshd.connectionProcesses()
        defer { for pid in frozen { kill(pid, SIGCONT) } }
        for pid in frozen { kill(pid, SIGSTOP) }
        // Frozen before the exec: the channel open is what times out.
        let timeout = SSHError.timeout(
            node: "frozen", operation: "opening a channel for 'sh -s' (no answer within 3.0 seconds)")
        await #expect(throws: timeout) { _ = try await session.run(script: "true", output: { _ in }) }
        #expect(await connections.markFailed(node: "frozen", after: timeout))

        // From now on the failure comes back at once, from the connection and from the session alike.
        let failure = try #require(await connections.failure(of: "frozen"))
        #expect(failure.description == timeout.description)
        guard case .failure(let again) = await connections.session(for: node) else {
            Issue.record("a node marked failed got a session")
            return
        }
        #expect(again.message == timeout.description)
        await #expect(throws: timeout) { _ = try await session.run(script: "true", output: { _ in }) }
        await connections.closeAll()
        #expect(SessionThread.unjoinedCount(nodePrefix: "frozen") == 0)
    }
}
