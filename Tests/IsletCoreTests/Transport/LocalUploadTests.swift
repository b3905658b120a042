import Crypto
import Foundation
import Testing

@testable import IsletCore

/// The local transport keeps the upload contract of the SSH one, on a node's folder.
@Suite struct LocalUploadTests {
    static func digest(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// A session to node `n1` under a fresh folder, and that folder.
    func session() async throws -> (any NodeSession, String) {
        let base = NSTemporaryDirectory() + "islet-local-upload-\(UUID().uuidString)"
        var ssh = SSHSettings()
        ssh.user = "ops"
        let session = try await LocalTransport(baseDirectory: base).connect(
            to: NodeAddress(name: "n1", address: "127.0.0.1", ssh: ssh))
        try FileManager.default.createDirectory(atPath: base + "/n1/srv", withIntermediateDirectories: true)
        return (session, base + "/n1")
    }

    @Test func aPathLiesUnderTheNodesFolderAndAKnownDigestIsNotSentAgain() async throws {
        let (session, root) = try await session()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bytes = Array("artifact\n".utf8)
        let upload = Upload(.bytes(bytes), to: .path("/srv/artifact"), mode: 0o644, expectedSHA256: Self.digest(bytes))
        let first = try await session.upload(upload)
        #expect(first == UploadResult(path: root + "/srv/artifact", outcome: .uploaded(sent: 9)))
        #expect(FileManager.default.contents(atPath: root + "/srv/artifact") == Data(bytes))
        chmod(root + "/srv/artifact", 0o600)
        #expect(try await session.upload(upload).outcome == .alreadyPresent)
        let mode = try FileManager.default.attributesOfItem(atPath: root + "/srv/artifact")[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(!FileManager.default.fileExists(atPath: root + "/srv/artifact.partial"))
    }

    @Test func aSourceWithAnotherDigestIsRefusedAndNothingIsPlaced() async throws {
        let (session, root) = try await session()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let claimed = Self.digest(Array("declared".utf8))
        await #expect(
            throws: UploadError.checksumMismatch(
                node: "n1", source: "6 bytes", destination: root + "/srv/artifact", expected: claimed,
                actual: Self.digest(Array("actual".utf8)))
        ) {
            try await session.upload(
                Upload(.bytes(Array("actual".utf8)), to: .path("/srv/artifact"), expectedSHA256: claimed))
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/srv/artifact"))
        #expect(!FileManager.default.fileExists(atPath: root + "/srv/artifact.partial"))
    }

    @Test func aMatchingPartialIsContinuedAndProgressEndsAtTheTotal() async throws {
        let (session, root) = try await session()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bytes = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let source = root + "/../source"
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        defer { try? FileManager.default.removeItem(atPath: source) }
        try Data(bytes[0..<1000]).write(to: URL(fileURLWithPath: root + "/srv/big.partial"))
        let seen = Reports()
        let upload = Upload(
            .file(source), to: .path("/srv/big"), expectedSHA256: Self.digest(bytes), resume: true,
            progress: { seen.add($0) })
        #expect(try await session.upload(upload).outcome == .resumed(from: 1000, sent: (3 << 20) - 1000))
        #expect(FileManager.default.contents(atPath: root + "/srv/big") == Data(bytes))
        #expect(seen.last == UploadProgress(completed: 3 << 20, total: 3 << 20))

        // Another file's partial is overwritten from the start.
        try FileManager.default.removeItem(atPath: root + "/srv/big")
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: root + "/srv/big.partial"))
        #expect(try await session.upload(upload).outcome == .uploaded(sent: 3 << 20))
        #expect(FileManager.default.contents(atPath: root + "/srv/big") == Data(bytes))
    }

    @Test func stagingKeepsTheEnginesCallAndARelativePathIsRefused() async throws {
        let (session, root) = try await session()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let source = root + "/../rendered-\(UUID().uuidString)"
        try Data("x".utf8).write(to: URL(fileURLWithPath: source))
        defer { try? FileManager.default.removeItem(atPath: source) }
        #expect(try await session.upload(file: source, as: "step.0") == root + "/.islet-staging/step.0")
        await #expect(throws: UploadError.relativeDestination(node: "n1", path: "srv/x")) {
            try await session.upload(Upload(.bytes([1]), to: .path("srv/x")))
        }
    }

    @Test func aForwardIsTheTargetItself() async throws {
        let (session, root) = try await session()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let forward = try await session.forward(toHost: "127.0.0.1", port: 5000)
        #expect(forward.address == "127.0.0.1:5000")
        #expect(forward.failures.isEmpty)
        await forward.close()
    }

    @Test func theProbeScriptAndItsAnswer() {
        let upload = Upload(.bytes([]), to: .path("/srv/it's"), expectedSHA256: "AB", resume: true)
        let script = UploadProbe.script(for: "/srv/it's", upload: upload)
        #expect(script.hasPrefix("f='/srv/it'\\''s'\n"))
        #expect(script.contains("sha256sum < \"$f\"") && script.contains("sha256sum < \"$f.partial\""))
        let hex = String(repeating: "a", count: 64)
        #expect(
            UploadProbe.parse("existing 644 \(hex)\npartial 12 \(hex)\n")
                == UploadProbe(existing: .init(sha256: hex, mode: 0o644), partial: .init(size: 12, sha256: hex)))
        #expect(UploadProbe.parse("") == UploadProbe())
        #expect(UploadProbe.parse("sha256sum: permission denied\n") == nil)
        #expect(upload.expectedSHA256 == "ab")
    }
}

final class Reports: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [UploadProgress] = []
    func add(_ progress: UploadProgress) { lock.withLock { list.append(progress) } }
    var last: UploadProgress? { lock.withLock { list.last } }
}
