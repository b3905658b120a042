import Foundation
import Testing

@testable import IsletSSH

@Suite struct AuthenticationTests {
    @Test func unauthorizedKeyFailsNamingUserAndMethods() async throws {
        let fixture = try await Fixture.start()
        let stranger = try await makeKey(in: fixture.scratch, name: "id_stranger")
        await #expect {
            _ = try await fixture.connect(fixture.endpoint(keys: [fixture.scratch + "/absent", stranger]))
        } throws: { error in
            guard case SSHError.authenticationFailed(let node, let user, let methods, _) = error else { return false }
            return node == "test-node" && user == "root" && methods == ["publickey (\(stranger))"]
                && "\(error)".contains("'root'") && "\(error)".contains(stranger)
        }
    }

    @Test func refusedRSAKeyGetsEd25519Hint() async throws {
        let fixture = try await Fixture.start()
        let rsa = try await makeKey(in: fixture.scratch, name: "id_rsa", type: "rsa", bits: 2048)
        try fixture.sshd.authorize(rsa)
        await #expect {
            _ = try await fixture.connect(fixture.endpoint(keys: [rsa]))
        } throws: { error in
            guard case SSHError.authenticationFailed(_, _, _, let hint?) = error else { return false }
            return hint.contains("rsa-sha2") && hint.contains("ed25519")
        }
    }

    @Test func ecdsaKeyWorks() async throws {
        let fixture = try await Fixture.start()
        let ecdsa = try await makeKey(in: fixture.scratch, name: "id_ecdsa", type: "ecdsa", bits: 256)
        try fixture.sshd.authorize(ecdsa)
        let connection = try await fixture.connect(fixture.endpoint(keys: [ecdsa]))
        let (status, _) = try await connection.run("true")
        #expect(status.code == 0)
        await connection.close()
    }

    @Test func passphraseProtectedEd25519Works() async throws {
        let fixture = try await Fixture.start()
        let locked = try await makeKey(in: fixture.scratch, name: "id_locked", passphrase: "correct horse")
        try fixture.sshd.authorize(locked)
        #expect(KeyFile.inspect(path: locked)?.isEncrypted == true)
        #expect(KeyFile.inspect(path: fixture.clientKey)?.isEncrypted == false)

        let connection = try await fixture.connect(
            fixture.endpoint(keys: [locked]), credentials: SSHCredentials(passphrase: "correct horse", useAgent: false))
        await connection.close()

        await #expect {
            _ = try await fixture.connect(fixture.endpoint(keys: [locked]))
        } throws: { error in
            guard case SSHError.authenticationFailed(_, _, _, let hint?) = error else { return false }
            return hint.contains("ISLET_SSH_PASSPHRASE")
        }
    }

    @Test func privateKeyWithoutPublicKeyFileWorks() async throws {
        let fixture = try await Fixture.start()
        let bare = try await makeKey(in: fixture.scratch, name: "id_bare")
        try fixture.sshd.authorize(bare)
        try FileManager.default.removeItem(atPath: bare + ".pub")
        let connection = try await fixture.connect(fixture.endpoint(keys: [bare]))
        await connection.close()
    }

    @Test func agentIdentitiesAreTried() async throws {
        let fixture = try await Fixture.start()
        let socket = fixture.scratch + "/agent.sock"
        let agent = try Daemon(["/usr/bin/ssh-agent", "-D", "-a", socket], stderrPath: fixture.scratch + "/agent.log")
        defer { agent.stop() }
        // The socket exists once bound, a moment before the agent listens on it: retry until it answers.
        for attempt in 1...100 {
            do {
                try await shell(["/usr/bin/ssh-add", fixture.clientKey], environment: ["SSH_AUTH_SOCK": socket])
                break
            } catch  where attempt < 100 {
                usleep(50_000)
            }
        }

        let credentials = SSHCredentials(useAgent: true, agentSocket: socket)
        let connection = try await fixture.connect(fixture.endpoint(keys: []), credentials: credentials)
        let (status, _) = try await connection.run("true")
        #expect(status.code == 0)
        await connection.close()
    }

    @Test func passwordAuthenticationWorks() async throws {
        let sshd = try await TestSSHD.start(config: ["PasswordAuthentication yes"], users: [("isletpw", "pa55 word")])
        let scratch = try makeTemporaryDirectory("islet-client")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let knownHosts = scratch + "/known_hosts"
        try sshd.knownHostsLine.write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let policy = SSHHostKeyPolicy(knownHostsFiles: [knownHosts], recordFile: knownHosts)
        let endpoint = SSHEndpoint(host: "127.0.0.1", port: sshd.port, user: "isletpw", connectTimeout: .seconds(30))

        let connection = try await SSHConnection.connect(
            name: "pw", to: endpoint, hostKeys: policy,
            credentials: SSHCredentials(password: "pa55 word", useAgent: false))
        let (status, output) = try await connection.run("id -un")
        #expect(status.code == 0)
        #expect(output.stdoutText == "isletpw\n")
        await connection.close()

        await #expect {
            _ = try await SSHConnection.connect(
                name: "pw", to: endpoint, hostKeys: policy,
                credentials: SSHCredentials(password: "wrong", useAgent: false))
        } throws: { error in
            guard case SSHError.authenticationFailed("pw", "isletpw", let methods, _) = error else { return false }
            return methods == ["password"]
        }
    }

    /// A device, a FIFO, a directory or an oversized file given as a key is refused by name without
    /// being read: libssh2 would block forever opening the FIFO and never finish reading /dev/zero.
    @Test(.timeLimit(.minutes(1)))
    func identityFilesThatAreNotSmallRegularFilesAreRefusedUnread() async throws {
        let fixture = try await Fixture.start()
        let fifo = fixture.scratch + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let directory = fixture.scratch + "/directory"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let large = fixture.scratch + "/large"
        try Data(count: 64 * 1024 + 1).write(to: URL(fileURLWithPath: large))
        let unusable = ["/dev/zero", fifo, directory, large]
        await #expect {
            _ = try await fixture.connect(fixture.endpoint(keys: unusable))
        } throws: { error in
            guard case SSHError.authenticationFailed("test-node", "root", [], let hint?) = error else {
                return false
            }
            return hint
                == """
                /dev/zero is not a regular file (a character device); expected a private key file \
                \(fifo) is not a regular file (a FIFO); expected a private key file \
                \(directory) is not a regular file (a directory); expected a private key file \
                \(large) is larger than 64 KiB; expected a private key file \
                The server accepts: publickey, password.
                """
        }
        // Listed before a good key, they cost nothing.
        let connection = try await fixture.connect(fixture.endpoint(keys: unusable + [fixture.clientKey]))
        await connection.close()
    }

    /// The connect timeout bounds authentication too: this server takes 30 s to look up a key.
    @Test func connectTimeoutCoversAuthentication() async throws {
        let helper = "/run/islet-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(
            atPath: helper, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: helper) }
        // sshd runs the command only from a root-owned path nobody else can write.
        try "#!/bin/sh\nexec sleep 30\n".write(toFile: helper + "/slow-keys", atomically: true, encoding: .utf8)
        chmod(helper + "/slow-keys", 0o755)
        let fixture = try await Fixture.start(config: [
            "AuthorizedKeysCommand \(helper)/slow-keys", "AuthorizedKeysCommandUser root",
        ])
        // Found in authorized_keys, the key would never reach the command.
        try Data().write(to: URL(fileURLWithPath: fixture.sshd.authorizedKeys))
        await #expect(
            throws: SSHError.timeout(
                node: "test-node",
                operation: "authenticating as 'root': not done within the connect timeout (2.0 seconds)")
        ) {
            _ = try await fixture.connect(
                fixture.endpoint(connectTimeout: .seconds(2), operationTimeout: .seconds(600)))
        }
    }

    @Test func environmentSuppliesSecrets() {
        let credentials = SSHCredentials.fromEnvironment(
            ["ISLET_SSH_PASSPHRASE": "p", "ISLET_SSH_PASSWORD": "w", "SSH_AUTH_SOCK": "/tmp/agent"])
        #expect(credentials.passphrase == "p")
        #expect(credentials.password == "w")
        #expect(credentials.useAgent)
        #expect(!SSHCredentials.fromEnvironment([:]).useAgent)
    }
}
