import Foundation
import Testing

@testable import IsletBundle

@Suite struct FileDownloaderTests {
    /// A server with one file, a scratch folder for the download, and a downloader with quick retries.
    private struct World {
        let server: LoopbackHTTPServer
        let content: [UInt8]
        let folder: String
        let downloader: FileDownloader
        var destination: String { folder + "/out/kubeadm" }
        var partial: String { destination + ".partial" }

        init(size: Int = 3 << 20, attempts: Int = 4) throws {
            server = try LoopbackHTTPServer()
            content = patternBytes(size)
            try server.serve("/kubeadm", bytes: content)
            folder = try makeScratchDirectory("islet-download")
            downloader = FileDownloader(
                client: HTTPClient(options: .loopback),
                retry: RetryPolicy(attempts: attempts, initialDelay: 0.01, maxDelay: 0.05))
        }

        func download(sha256: String?, progress: (DownloadProgress) -> Void = { _ in }) throws -> DownloadResult {
            try downloader.download(
                "kubeadm", from: server.url("/kubeadm"), to: destination, sha256: sha256, progress: progress)
        }

        func onDisk(_ path: String) -> [UInt8]? {
            FileManager.default.contents(atPath: path).map { [UInt8]($0) }
        }

        func remove() { try? FileManager.default.removeItem(atPath: folder) }
    }

    @Test func aDownloadCutHalfWayResumesWithARangeAndEndsVerified() throws {
        let world = try World()
        defer { world.remove() }
        try world.server.setRules(["/kubeadm": ["cut_after": 1_500_000, "cut_times": 1]])
        let result = try world.download(sha256: sha256Hex(world.content))
        #expect(result.sha256 == sha256Hex(world.content))
        #expect(result.size == Int64(world.content.count))
        #expect(world.onDisk(world.destination) == world.content)
        #expect(!FileManager.default.fileExists(atPath: world.partial))
        let ranges = try world.server.requests(to: "/kubeadm").map { $0.headers["range"] }
        #expect(ranges == [nil, "bytes=1500000-"])
    }

    @Test func aPartialLeftByAnEarlierRunIsHashedAndContinued() throws {
        let world = try World(attempts: 1)
        defer { world.remove() }
        try world.server.setRules(["/kubeadm": ["cut_after": 1_000_000, "cut_times": 1]])
        // One attempt only: the run fails and keeps what it got.
        let error = try #require(throws: DownloadError.self) { try world.download(sha256: sha256Hex(world.content)) }
        #expect(error.description.hasPrefix("kubeadm: GET \(world.server.url("/kubeadm")): "))
        #expect(world.onDisk(world.partial) == Array(world.content[..<1_000_000]))
        #expect(!FileManager.default.fileExists(atPath: world.destination))

        let result = try world.download(sha256: sha256Hex(world.content))
        #expect(result.resumedBytes == 1_000_000)
        #expect(world.onDisk(world.destination) == world.content)
        #expect(try world.server.requests(to: "/kubeadm").last?.headers["range"] == "bytes=1000000-")
    }

    @Test func a200AnswerToARangeRequestStartsOver() throws {
        let world = try World()
        defer { world.remove() }
        // A partial of the right length but wrong bytes: if it were kept, the digest would show it.
        try Data(repeating: 0xEE, count: 700_000).write(to: URL(fileURLWithPath: world.partial.ensuringFolder()))
        try world.server.setRules(["/kubeadm": ["ignore_range": true]])
        let result = try world.download(sha256: nil)
        #expect(result.sha256 == sha256Hex(world.content))
        #expect(result.resumedBytes == 0)
        #expect(world.onDisk(world.destination) == world.content)
        let requests = try world.server.requests(to: "/kubeadm")
        #expect(requests.map { $0.headers["range"] } == ["bytes=700000-"])
    }

    @Test func a206ForAnotherRangeIsNotAppendedButStartsOver() throws {
        let world = try World()
        defer { world.remove() }
        try Data(world.content[..<500_000]).write(to: URL(fileURLWithPath: world.partial.ensuringFolder()))
        try world.server.setRules(["/kubeadm": ["wrong_range": true]])
        var retries: [RetryPolicy.Retry] = []
        let result = try world.downloader.download(
            "kubeadm", from: world.server.url("/kubeadm"), to: world.destination, sha256: sha256Hex(world.content),
            onRetry: { retries.append($0) })
        #expect(result.resumedBytes == 0)
        #expect(world.onDisk(world.destination) == world.content)
        #expect(try world.server.requests(to: "/kubeadm").map { $0.headers["range"] } == ["bytes=500000-", nil])
        #expect(
            retries.map { "\($0.error)" } == [
                "asked for bytes from 500000, the server answered Content-Range bytes 0-3145727/3145728"
            ])
    }

    @Test func aStalePartialFromAnotherBuildIsThrownAwayOnceTheDigestDisagrees() throws {
        let world = try World()
        defer { world.remove() }
        try Data(repeating: 0xEE, count: 700_000).write(to: URL(fileURLWithPath: world.partial.ensuringFolder()))
        let result = try world.download(sha256: sha256Hex(world.content))
        #expect(result.sha256 == sha256Hex(world.content))
        #expect(world.onDisk(world.destination) == world.content)
        #expect(try world.server.requests(to: "/kubeadm").map { $0.headers["range"] } == ["bytes=700000-", nil])
    }

    @Test func aWrongDeclaredDigestFailsNamingBothAndLeavesNothing() throws {
        let world = try World()
        defer { world.remove() }
        let declared = String(repeating: "ab", count: 32)
        let error = try #require(throws: DownloadError.self) { try world.download(sha256: declared) }
        let actual = sha256Hex(world.content)
        #expect(
            error.description
                == "kubeadm: sha256 mismatch for \(world.server.url("/kubeadm")): expected \(declared), got \(actual) (the download was deleted)"
        )
        #expect(!FileManager.default.fileExists(atPath: world.destination))
        #expect(!FileManager.default.fileExists(atPath: world.partial))
        #expect(try world.server.requests(to: "/kubeadm").count == 1, "a mismatch is not retried")
    }

    @Test func twice503ThenSuccess() throws {
        let world = try World()
        defer { world.remove() }
        try world.server.setRules(["/kubeadm": ["fail_status": 503, "fail_times": 2]])
        var retries: [RetryPolicy.Retry] = []
        let result = try world.downloader.download(
            "kubeadm", from: world.server.url("/kubeadm"), to: world.destination, sha256: sha256Hex(world.content),
            onRetry: { retries.append($0) })
        #expect(result.size == Int64(world.content.count))
        #expect(retries.count == 2)
        #expect(try world.server.requests(to: "/kubeadm").count == 3)
        #expect(world.onDisk(world.destination) == world.content)
    }

    @Test func a404FailsAtOnceNamingTheArtifactAndURL() throws {
        let world = try World()
        defer { world.remove() }
        let url = world.server.url("/nothing-here")
        let error = try #require(throws: DownloadError.self) {
            try world.downloader.download("kubectl", from: url, to: world.destination, sha256: nil)
        }
        #expect(error.description == "kubectl: GET \(url): HTTP 404 Not Found")
        #expect(try world.server.requests(to: "/nothing-here").count == 1)
        #expect(!FileManager.default.fileExists(atPath: world.destination))
        #expect(!FileManager.default.fileExists(atPath: world.partial), "an empty partial is not left behind")
    }

    @Test func unpinnedReturnsTheDigestItGotAndProgressCountsToTheTotal() throws {
        let world = try World()
        defer { world.remove() }
        var reports: [DownloadProgress] = []
        let result = try world.download(sha256: nil) { reports.append($0) }
        #expect(result.sha256 == sha256Hex(world.content))
        #expect(result.alreadyPresent == false)
        let total = Int64(world.content.count)
        #expect(reports.first == DownloadProgress(bytes: 0, total: total))
        #expect(reports.last == DownloadProgress(bytes: total, total: total))
        #expect(reports.count > 2)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.bytes <= $1.bytes })
    }

    @Test func progressAfterAResumeCountsTheResumedBytes() throws {
        let world = try World()
        defer { world.remove() }
        try world.server.setRules(["/kubeadm": ["cut_after": 2_000_000, "cut_times": 1]])
        var reports: [DownloadProgress] = []
        _ = try world.download(sha256: sha256Hex(world.content)) { reports.append($0) }
        let total = Int64(world.content.count)
        #expect(reports.contains(DownloadProgress(bytes: 2_000_000, total: total)))
        #expect(reports.last == DownloadProgress(bytes: total, total: total))
    }

    @Test func aVerifiedFileAlreadyInPlaceIsNotDownloadedAgain() throws {
        let world = try World()
        defer { world.remove() }
        _ = try world.download(sha256: sha256Hex(world.content))
        let again = try world.download(sha256: sha256Hex(world.content))
        #expect(again.alreadyPresent)
        #expect(try world.server.requests(to: "/kubeadm").count == 1)
    }

    @Test func aWholePartialCutBeforeItsRenameIsFinishedFromA416() throws {
        let world = try World()
        defer { world.remove() }
        try Data(world.content).write(to: URL(fileURLWithPath: world.partial.ensuringFolder()))
        let result = try world.download(sha256: sha256Hex(world.content))
        #expect(result.resumedBytes == Int64(world.content.count))
        #expect(world.onDisk(world.destination) == world.content)
        #expect(
            try world.server.requests(to: "/kubeadm").map { $0.headers["range"] } == ["bytes=\(world.content.count)-"])
    }
}

extension String {
    /// Creates the folder of this path; returns the path.
    fileprivate func ensuringFolder() throws -> String {
        try FileManager.default.createDirectory(
            atPath: (self as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return self
    }
}
