import Crypto
import Foundation
import IsletCore
import Testing

@testable import IsletSSH

/// Uploads with an expected digest, resume and progress, over SFTP to a throwaway sshd. Sources stay a
/// few MiB: the suites share one process, and SFTPTests measures its resident memory.
@Suite struct UploadTests {
    static func digest(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    static func pattern(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    @Test func skipsADestinationThatHasTheDigestAndStillSetsItsMode() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let path = fixture.scratch + "/artifact"
        let bytes = Self.pattern(100_000)
        let upload = Upload(.bytes(bytes), to: .path(path), mode: 0o644, expectedSHA256: Self.digest(bytes))
        #expect(try await connection.upload(upload, to: path) == .uploaded(sent: 100_000))
        chmod(path, 0o600)
        let inode = try #require(FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int)
        #expect(try await connection.upload(upload, to: path) == .alreadyPresent)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
        // Not replaced: the same file.
        #expect((attributes[.systemFileNumber] as? Int) == inode)
        await connection.close()
    }

    @Test func refusesASourceWhoseDigestDiffersAndLeavesTheDestination() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let path = fixture.scratch + "/artifact"
        try await connection.upload(bytes: Array("old".utf8), to: path, mode: 0o600)
        let claimed = Self.digest(Array("what was declared".utf8))
        await #expect(
            throws: UploadError.checksumMismatch(
                node: "test-node", source: "3 bytes", destination: path, expected: claimed,
                actual: Self.digest(Array("new".utf8)))
        ) {
            try await connection.upload(
                Upload(.bytes(Array("new".utf8)), to: .path(path), expectedSHA256: claimed), to: path)
        }
        #expect(FileManager.default.contents(atPath: path) == Data("old".utf8))
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        await connection.close()
    }

    @Test func resumesAMatchingPartialAndRestartsOneThatDiffers() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let local = fixture.scratch + "/source"
        let bytes = Self.pattern(6 << 20)
        try Data(bytes).write(to: URL(fileURLWithPath: local))
        let path = fixture.scratch + "/artifact"
        let upload = Upload(.file(local), to: .path(path), expectedSHA256: Self.digest(bytes), resume: true)

        try Data(bytes[0..<(2 << 20)]).write(to: URL(fileURLWithPath: path + ".partial"))
        #expect(try await connection.upload(upload, to: path) == .resumed(from: 2 << 20, sent: 4 << 20))
        #expect(FileManager.default.contents(atPath: path) == Data(bytes))

        try FileManager.default.removeItem(atPath: path)
        try Data(Self.pattern(2 << 20, seed: 9)).write(to: URL(fileURLWithPath: path + ".partial"))
        #expect(try await connection.upload(upload, to: path) == .uploaded(sent: 6 << 20))
        #expect(FileManager.default.contents(atPath: path) == Data(bytes))
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        await connection.close()
    }

    /// The connection dies half-way (its sshd processes are killed); a new connection continues from what
    /// reached the node, and the result is the whole file.
    @Test func resumesAfterTheConnectionBroke() async throws {
        let fixture = try await Fixture.start()
        let local = fixture.scratch + "/source"
        try await shell(["/bin/sh", "-c", "head -c 100663296 /dev/urandom > \(local)"])
        let expected = String(try await shell(["/usr/bin/sha256sum", local]).prefix(64))
        let path = fixture.scratch + "/artifact"
        let sshd = fixture.sshd
        let cut = OnceFlag()
        // Once a sixth of the file is acknowledged, the node "goes away": decided by the upload's own
        // progress, so a fast or a starved machine cuts it at the same point.
        let cutting = Upload(.file(local), to: .path(path), expectedSHA256: expected, resume: true) { progress in
            if progress.completed >= 16 << 20 && cut.set() {
                for pid in sshd.connectionProcesses() { kill(pid, SIGKILL) }
            }
        }
        let upload = Upload(.file(local), to: .path(path), expectedSHA256: expected, resume: true)

        let first = try await fixture.connect()
        await #expect(throws: SSHError.self) { try await first.upload(cutting, to: path) }
        await first.close()
        let kept = try #require(FileManager.default.attributesOfItem(atPath: path + ".partial")[.size] as? Int)
        #expect(kept >= 16 << 20 && kept < 96 << 20)

        let second = try await fixture.connect()
        let outcome = try await second.upload(upload, to: path)
        #expect(outcome == .resumed(from: Int64(kept), sent: Int64((96 << 20) - kept)))
        #expect(String(try await shell(["/usr/bin/sha256sum", path]).prefix(64)) == expected)
        await second.close()
    }

    @Test func reportsProgressInOrderUpToTheTotal() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let path = fixture.scratch + "/artifact"
        let seen = ProgressLog()
        let upload = Upload(.bytes(Self.pattern(3 << 20)), to: .path(path)) { seen.append($0) }
        #expect(try await connection.upload(upload, to: path) == .uploaded(sent: 3 << 20))
        let progress = seen.entries
        #expect(progress.count >= 2)
        #expect(progress.map(\.completed) == progress.map(\.completed).sorted())
        #expect(progress.last == UploadProgress(completed: 3 << 20, total: 3 << 20))
        await connection.close()
    }

    /// Through the transport, as a user whose home is the sshd's scratch folder: staging under that home,
    /// the engine's `upload(file:as:)`, and a relative destination refused.
    @Test func theNodeSessionUploadsToStagingAndRefusesARelativePath() async throws {
        let sshd = try await TestSSHD.start(config: ["PasswordAuthentication yes"], users: [("isletup", "up load")])
        // The user's home lies inside the server's folder: let it through.
        chmod(sshd.directory, 0o711)
        let knownHosts = sshd.directory + "/known_hosts"
        try sshd.knownHostsLine.write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let transport = SSHTransport(
            hostKeys: SSHHostKeyPolicy(knownHostsFiles: [knownHosts], recordFile: knownHosts, acceptNew: false),
            credentials: SSHCredentials(password: "up load", useAgent: false))
        var ssh = SSHSettings()
        ssh.user = "isletup"
        ssh.port = sshd.port
        ssh.identityFile = sshd.directory + "/no-key"
        let session = try await transport.connect(to: NodeAddress(name: "test-node", address: "127.0.0.1", ssh: ssh))
        let local = sshd.directory + "/rendered"
        try Data("rendered\n".utf8).write(to: URL(fileURLWithPath: local))
        let staged = try await session.upload(file: local, as: "step.0")
        #expect(staged == sshd.directory + "/home-isletup/.islet/staging/step.0")
        #expect(FileManager.default.contents(atPath: staged) == Data("rendered\n".utf8))
        await #expect(throws: UploadError.relativeDestination(node: "test-node", path: "relative/file")) {
            try await session.upload(Upload(.bytes([1]), to: .path("relative/file")))
        }
        await session.close()
    }
}

/// Progress reports from the connection's thread.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [UploadProgress] = []
    func append(_ progress: UploadProgress) { lock.withLock { list.append(progress) } }
    var entries: [UploadProgress] { lock.withLock { list } }
}

/// True the first time `set` is called, false after.
final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false

    func set() -> Bool {
        lock.withLock {
            defer { done = true }
            return !done
        }
    }
}
