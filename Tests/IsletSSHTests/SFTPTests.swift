import Foundation
import IsletCore
import Testing

@testable import IsletSSH

@Suite struct SFTPTests {
    @Test func uploadsBytesWithExactMode() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let path = fixture.scratch + "/config.yaml"
        try await connection.upload(bytes: Array("key: value\n".utf8), to: path, mode: 0o640)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "key: value\n")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o640)
        // 0777 is not reduced by the server's umask.
        try await connection.upload(bytes: [], to: path + ".sh", mode: 0o777)
        let script = try FileManager.default.attributesOfItem(atPath: path + ".sh")
        #expect((script[.posixPermissions] as? Int) == 0o777)
        await connection.close()
    }

    @Test func uploadReplacesAnExistingFileAndLeavesNoPart() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let path = fixture.scratch + "/it's here"
        try await connection.upload(bytes: Array("old".utf8), to: path, mode: 0o600)
        try await connection.upload(bytes: Array("new".utf8), to: path, mode: 0o644)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        await connection.close()
    }

    @Test func uploadIntoMissingDirectoryNamesThePath() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let path = fixture.scratch + "/missing/file"
        await #expect {
            try await connection.upload(bytes: [1, 2, 3], to: path, mode: 0o600)
        } throws: { error in
            guard case SSHError.sftpFailed("test-node", _, let failedPath, let message) = error else { return false }
            return failedPath == path + ".partial" && message.contains("no such file")
        }
        await #expect {
            try await connection.upload(
                file: fixture.scratch + "/no-local-file", to: fixture.scratch + "/x", mode: 0o600)
        } throws: { error in
            guard case UploadError.unreadableSource("test-node", fixture.scratch + "/no-local-file", _) = error else {
                return false
            }
            return !FileManager.default.fileExists(atPath: fixture.scratch + "/x.partial")
        }
        await connection.close()
    }

    @Test func streamsA64MiBFileWithoutHoldingItInMemory() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let local = fixture.scratch + "/bundle.tar"
        try await shell(["/bin/sh", "-c", "head -c 67108864 /dev/urandom > \(local)"])
        let remote = fixture.scratch + "/uploaded/bundle.tar"
        try await connection.makeDirectory(fixture.scratch + "/uploaded", mode: 0o700)

        let before = try residentBytes()
        try await connection.upload(file: local, to: remote, mode: 0o600)
        let growth = try residentBytes() - before

        let (status, output) = try await connection.run("sha256sum \(remote)")
        #expect(status.code == 0)
        let localSum = try await shell(["/usr/bin/sha256sum", local]).prefix(64)
        #expect(output.stdoutText.prefix(64) == localSum)
        // The file is 64 MiB; at most 4 MiB is in flight (held twice: the read buffer and libssh2's copy).
        #expect(growth < 24 * 1024 * 1024, "resident memory grew by \(growth) bytes")
        await connection.close()
    }

    /// A node that stalls longer than the keepalive interval (10 s here) but less than the operation
    /// timeout (30 s) is waited for; libssh2 1.10 alone gives up on a blocking call after one interval.
    @Test func waitsOutAStallShorterThanTheOperationTimeout() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect(fixture.endpoint(operationTimeout: .seconds(30)))
        _ = try await connection.run("true")
        let frozen = fixture.sshd.connectionProcesses()
        defer { for pid in frozen { kill(pid, SIGCONT) } }
        for pid in frozen { kill(pid, SIGSTOP) }
        let thaw = Task {
            try await Task.sleep(for: .seconds(12))
            for pid in frozen { kill(pid, SIGCONT) }
        }
        let path = fixture.scratch + "/after-stall"
        try await connection.upload(bytes: [1, 2, 3], to: path, mode: 0o600)
        try await thaw.value
        #expect(FileManager.default.contents(atPath: path) == Data([1, 2, 3]))
        await connection.close()
    }

    @Test func makesDirectoriesIdempotently() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let path = fixture.scratch + "/state"
        try await connection.makeDirectory(path)
        try await connection.makeDirectory(path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        try await connection.upload(bytes: [0], to: path + "/file", mode: 0o600)
        await #expect(throws: SSHError.self) {
            try await connection.makeDirectory(path + "/file")
        }
        #expect(try await connection.homeDirectory() == "/root")
        await connection.close()
    }

    /// VmRSS of this process; a test that cannot measure it fails rather than compare zeros.
    private func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let kilobytes = try #require(line.split(separator: " ").dropFirst().first.flatMap { Int($0) })
        try #require(kilobytes > 0)
        return kilobytes * 1024
    }
}
