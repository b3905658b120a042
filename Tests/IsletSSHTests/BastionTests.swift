import Foundation
import Testing

@testable import IsletSSH

@Suite struct BastionTests {
    /// A node reachable only through a jump host: two sshd on 127.0.0.1.
    final class World: Sendable {
        let node: Fixture
        let bastion: TestSSHD

        static func start(bastionConfig: [String] = ["AllowTcpForwarding yes"]) async throws -> World {
            try await offPool { try World(bastionConfig: bastionConfig) }
        }

        private init(bastionConfig: [String]) throws {
            node = try Fixture()
            bastion = try TestSSHD(config: bastionConfig)
            try bastion.authorize(node.clientKey)
            let lines = try node.sshd.knownHostsLine + bastion.knownHostsLine
            try lines.write(toFile: node.knownHosts, atomically: true, encoding: .utf8)
        }

        var endpoint: SSHEndpoint {
            var endpoint = node.endpoint()
            endpoint.bastion = SSHBastion(
                host: "127.0.0.1", port: bastion.port, user: "root",
                identityFiles: [node.clientKey])
            return endpoint
        }
    }

    @Test func runsCommandsAndUploadsThroughTheBastion() async throws {
        let world = try await World.start()
        let connection = try await world.node.connect(world.endpoint)
        #expect(connection.hostKeyFingerprint == (try world.node.sshd.hostFingerprint))

        let input = LargeExecTests.pattern(2 * 1024 * 1024)
        let (status, output) = try await connection.run("cat", stdin: input)
        #expect(status.code == 0)
        #expect(output.stdoutBytes == input)

        let path = world.node.scratch + "/via-bastion"
        try await connection.upload(bytes: input, to: path, mode: 0o600)
        #expect(FileManager.default.contents(atPath: path).map([UInt8].init) == input)
        await connection.close()

        // The node saw its session come from the bastion's forwarding, not from us directly.
        #expect(world.bastion.logText.contains("direct-tcpip") || world.bastion.logText.contains("Accepted"))
    }

    @Test func tunnelSurvivesPartialSends() async throws {
        let world = try await World.start()
        let connection = try await SSHConnection.connect(
            name: "test-node", to: world.endpoint, hostKeys: world.node.hostKeys,
            credentials: Fixture.noAgent, socketSendBuffer: 4096)
        let input = LargeExecTests.pattern(LargeExecTests.size)
        let (status, output) = try await connection.run("cat", stdin: input)
        #expect(status.code == 0)
        #expect(output.stdoutBytes == input)
        await connection.close()
    }

    @Test func bastionWithoutForwardingFailsClearly() async throws {
        let world = try await World.start(bastionConfig: ["AllowTcpForwarding no"])
        await #expect {
            _ = try await world.node.connect(world.endpoint)
        } throws: { error in
            guard case SSHError.connectFailed(let node, _, let port, let reason) = error else { return false }
            return node.hasPrefix("test-node") && port == world.node.sshd.port && reason.contains("tunnel")
        }
    }

    @Test func nodeHostKeyIsVerifiedBehindTheBastion() async throws {
        let world = try await World.start()
        try world.bastion.knownHostsLine.write(toFile: world.node.knownHosts, atomically: true, encoding: .utf8)
        let expected = try world.node.sshd.hostFingerprint
        await #expect {
            _ = try await world.node.connect(world.endpoint)
        } throws: { error in
            guard case SSHError.hostKeyUnknown("test-node", _, _, let fingerprint, _, _) = error else { return false }
            return fingerprint == expected
        }
    }

    @Test func unknownBastionKeyNamesTheBastion() async throws {
        let world = try await World.start()
        try world.node.sshd.knownHostsLine.write(toFile: world.node.knownHosts, atomically: true, encoding: .utf8)
        await #expect {
            _ = try await world.node.connect(world.endpoint)
        } throws: { error in
            guard case SSHError.hostKeyUnknown(let node, let hostPort, _, _, _, _) = error else { return false }
            return node.contains("bastion") && hostPort == "[127.0.0.1]:\(world.bastion.port)"
        }
    }
}
