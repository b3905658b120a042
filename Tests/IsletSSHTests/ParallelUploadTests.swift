import Foundation
import IsletCore
import Testing

@testable import IsletSSH

/// Large uploads split over extra connections to the node, against a throwaway sshd whose log counts the
/// logins. The threshold is lowered so that files of a few dozen MiB take the parallel path.
@Suite struct ParallelUploadTests {
    static let splitFrom: Int64 = 8 << 20

    static func connect(_ fixture: Fixture, extraConnections: Int) async throws -> SSHConnection {
        try await fixture.connect(
            parallelUploads: ParallelUploads(extraConnections: extraConnections, threshold: splitFrom))
    }

    static func randomFile(_ path: String, mib: Int) async throws -> String {
        try await shell(["/bin/sh", "-c", "head -c \(mib << 20) /dev/urandom > \(path)"])
        return String(try await shell(["/usr/bin/sha256sum", path]).prefix(64))
    }

    @Test func aLargeUploadUsesExtraConnectionsAndASmallOneDoesNot() async throws {
        let fixture = try await Fixture.start()
        let connection = try await Self.connect(fixture, extraConnections: 2)
        let local = fixture.scratch + "/source"
        let digest = try await Self.randomFile(local, mib: 24)
        let path = fixture.scratch + "/artifact"

        let small = UploadTests.pattern(2 << 20)
        #expect(
            try await connection.upload(Upload(.bytes(small), to: .path(path)), to: path) == .uploaded(sent: 2 << 20))
        #expect(FileManager.default.contents(atPath: path) == Data(small))
        #expect(fixture.sshd.acceptedLogins == 1)

        let seen = ProgressLog()
        let large = Upload(.file(local), to: .path(path), mode: 0o640, expectedSHA256: digest) { seen.append($0) }
        #expect(try await connection.upload(large, to: path) == .uploaded(sent: 24 << 20))
        #expect(String(try await shell(["/usr/bin/sha256sum", path]).prefix(64)) == digest)
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o640)
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        // One login for the node's connection, one for each extra connection of the large upload.
        #expect(fixture.sshd.acceptedLogins == 3)
        let progress = seen.entries
        #expect(progress.map(\.completed) == progress.map(\.completed).sorted())
        #expect(progress.last == UploadProgress(completed: 24 << 20, total: 24 << 20))
        // The node's own connection stays usable.
        #expect(try await connection.run("true").0.code == 0)
        await connection.close()
    }

    @Test func aParallelUploadWhoseDigestDiffersPutsNothingInPlace() async throws {
        let fixture = try await Fixture.start()
        let connection = try await Self.connect(fixture, extraConnections: 1)
        let local = fixture.scratch + "/source"
        let actual = try await Self.randomFile(local, mib: 16)
        let claimed = String(repeating: "0", count: 64)
        let path = fixture.scratch + "/artifact"
        await #expect(
            throws: UploadError.checksumMismatch(
                node: "test-node", source: local, destination: path, expected: claimed, actual: actual)
        ) {
            try await connection.upload(Upload(.file(local), to: .path(path), expectedSHA256: claimed), to: path)
        }
        #expect(fixture.sshd.acceptedLogins == 2)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        await connection.close()
    }

    /// The extra connection's sshd is killed mid-upload: the upload fails, nothing is put in place, and the
    /// node's own connection is still usable.
    @Test func aStreamThatBreaksFailsTheUploadAndLeavesNoFile() async throws {
        let fixture = try await Fixture.start()
        let connection = try await Self.connect(fixture, extraConnections: 1)
        let local = fixture.scratch + "/source"
        _ = try await Self.randomFile(local, mib: 48)
        let path = fixture.scratch + "/artifact"
        let upload = Upload(.file(local), to: .path(path), progress: Self.killExtraConnection(of: fixture.sshd))
        await #expect(throws: SSHError.self) { try await connection.upload(upload, to: path) }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
        #expect(try await connection.run("true").0.code == 0)
        await connection.close()
    }

    /// With resume, the broken upload keeps the part of the `.partial` that has no gap, and the next
    /// (parallel) upload continues from there.
    @Test func resumesAParallelUploadThatBroke() async throws {
        let fixture = try await Fixture.start()
        let local = fixture.scratch + "/source"
        let digest = try await Self.randomFile(local, mib: 48)
        let path = fixture.scratch + "/artifact"
        let cutting = Upload(
            .file(local), to: .path(path), expectedSHA256: digest, resume: true,
            progress: Self.killExtraConnection(of: fixture.sshd))

        let first = try await Self.connect(fixture, extraConnections: 1)
        await #expect(throws: SSHError.self) { try await first.upload(cutting, to: path) }
        await first.close()
        let kept = try #require(FileManager.default.attributesOfItem(atPath: path + ".partial")[.size] as? Int)
        #expect(kept > 0 && kept < 48 << 20)
        let prefix = try await shell(["/bin/sh", "-c", "head -c \(kept) \(local) | sha256sum"])
        #expect(try await shell(["/bin/sh", "-c", "sha256sum < \(path).partial"]) == prefix)

        let loginsBefore = fixture.sshd.acceptedLogins
        let second = try await Self.connect(fixture, extraConnections: 1)
        let upload = Upload(.file(local), to: .path(path), expectedSHA256: digest, resume: true)
        #expect(
            try await second.upload(upload, to: path) == .resumed(from: Int64(kept), sent: Int64((48 << 20) - kept)))
        #expect(String(try await shell(["/usr/bin/sha256sum", path]).prefix(64)) == digest)
        // The rest went in parallel too.
        #expect(fixture.sshd.acceptedLogins == loginsBefore + 2)
        await second.close()
    }

    /// Progress that kills the extra connection's sshd once it has logged in and 16 MiB are acknowledged.
    static func killExtraConnection(of sshd: TestSSHD) -> @Sendable (UploadProgress) -> Void {
        let cut = OnceFlag()
        return { progress in
            if progress.completed >= 16 << 20 && sshd.acceptedLogins >= 2 && cut.set() {
                for pid in sshd.newestConnectionProcesses() { kill(pid, SIGKILL) }
            }
        }
    }
}
