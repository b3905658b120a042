import Foundation
import Testing

@testable import IsletSSH

@Suite struct HostKeyTests {
    @Test func unknownHostKeyIsRefusedWithItsFingerprint() async throws {
        let fixture = try await Fixture.start()
        try "".write(toFile: fixture.knownHosts, atomically: true, encoding: .utf8)
        let expected = try fixture.sshd.hostFingerprint
        await #expect {
            _ = try await fixture.connect()
        } throws: { error in
            guard
                case SSHError.hostKeyUnknown(let node, let hostPort, let keyType, let fingerprint, let files, _) = error
            else {
                return false
            }
            let message = "\(error)"
            // The message lists every known_hosts file read, so the operator sees where islet looked.
            return node == "test-node" && hostPort == "[127.0.0.1]:\(fixture.sshd.port)"
                && keyType == "ssh-ed25519" && fingerprint == expected && files == [fixture.knownHosts]
                && message.contains("--accept-new-host-keys") && message.contains(expected)
                && message.contains("checked: \(fixture.knownHosts))")
                && message.contains("to record it in \(fixture.knownHosts),")
        }
    }

    @Test func acceptNewRecordsTheKeyForNextTime() async throws {
        let fixture = try await Fixture.start()
        let record = fixture.scratch + "/state/sub/known_hosts"
        let missing = fixture.scratch + "/missing_known_hosts"
        let accepting = SSHHostKeyPolicy(knownHostsFiles: [missing, record], recordFile: record, acceptNew: true)
        let first = try await SSHConnection.connect(
            name: "n", to: fixture.endpoint(), hostKeys: accepting,
            credentials: Fixture.noAgent)
        #expect(first.hostKeyFingerprint == (try fixture.sshd.hostFingerprint))
        await first.close()

        let recorded = try String(contentsOfFile: record, encoding: .utf8)
        #expect(recorded == (try fixture.sshd.knownHostsLine))
        let attributes = try FileManager.default.attributesOfItem(atPath: fixture.scratch + "/state/sub")
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        // ssh-keygen reads it back as a valid entry for the same key.
        let found = try await shell(["/usr/bin/ssh-keygen", "-F", "[127.0.0.1]:\(fixture.sshd.port)", "-f", record])
        #expect(found.contains("ssh-ed25519"))

        let strict = SSHHostKeyPolicy(knownHostsFiles: [missing, record], recordFile: record, acceptNew: false)
        let second = try await SSHConnection.connect(
            name: "n", to: fixture.endpoint(), hostKeys: strict,
            credentials: Fixture.noAgent)
        await second.close()
        #expect(try String(contentsOfFile: record, encoding: .utf8) == recorded)
    }

    @Test func changedHostKeyIsAlwaysRefused() async throws {
        let fixture = try await Fixture.start()
        let other = try await makeKey(in: fixture.scratch, name: "old_host_key")
        let otherKey = try String(contentsOfFile: other + ".pub", encoding: .utf8).split(separator: " ")
        try "[127.0.0.1]:\(fixture.sshd.port) \(otherKey[0]) \(otherKey[1])\n"
            .write(toFile: fixture.knownHosts, atomically: true, encoding: .utf8)
        let expected = try keygenFingerprint(other + ".pub")
        let offered = try fixture.sshd.hostFingerprint
        var policy = fixture.hostKeys
        policy.acceptNew = true
        await #expect {
            _ = try await SSHConnection.connect(
                name: "test-node", to: fixture.endpoint(), hostKeys: policy,
                credentials: Fixture.noAgent)
        } throws: { error in
            guard case SSHError.hostKeyChanged(let node, let hostPort, let was, let now, let file) = error else {
                return false
            }
            return node == "test-node" && hostPort == "[127.0.0.1]:\(fixture.sshd.port)"
                && was == expected && now == offered && file == fixture.knownHosts
        }
    }

    @Test func hashedEntriesMatchAmongLinesLibssh2CannotParse() async throws {
        let fixture = try await Fixture.start()
        try await shell(["/usr/bin/ssh-keygen", "-H", "-f", fixture.knownHosts])
        let hashed = try String(contentsOfFile: fixture.knownHosts, encoding: .utf8)
        #expect(hashed.contains("|1|"))
        #expect(!hashed.contains("127.0.0.1"))
        // libssh2_knownhost_readfile would stop at the first of these lines.
        let noise =
            "# comment\n@cert-authority *.example ssh-ed25519 AAAA\nbroken\n"
            + "other sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t\n"
        try (noise + hashed).write(toFile: fixture.knownHosts, atomically: true, encoding: .utf8)
        let connection = try await fixture.connect()
        await connection.close()
    }

    /// The fingerprint of a key blob is what ssh-keygen prints for the same key.
    @Test func fingerprintMatchesSSHKeygen() async throws {
        let scratch = try makeTemporaryDirectory("islet-fingerprint")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for type in ["ed25519", "ecdsa"] {
            let key = try await makeKey(in: scratch, name: "id_" + type, type: type)
            let publicKey = try String(contentsOfFile: key + ".pub", encoding: .utf8).split(separator: " ")
            let blob = try #require(Data(base64Encoded: String(publicKey[1])))
            #expect(Fingerprint.sha256(ofKeyBlob: [UInt8](blob)) == (try keygenFingerprint(key + ".pub")))
        }
    }
}
