import CLibSSH2
import Foundation
import IsletCore

/// When an upload is split over several connections to the node.
///
/// libssh2 1.10 encrypts one 16-byte block per OpenSSL call, so one stream is bounded by one core's
/// encryption speed; streams of their own, each with its own session and thread, spread that work over
/// the cores. Measured in BENCHMARKS.md ("SFTP upload against scp").
public struct ParallelUploads: Sendable, Equatable {
    /// Connections opened beside the node's own for one large upload, and closed after it.
    public var extraConnections: Int
    /// Bytes left to send from which an upload is split; smaller ones use the node's connection alone.
    public var threshold: Int64

    public init(extraConnections: Int, threshold: Int64) {
        self.extraConnections = extraConnections
        self.threshold = threshold
    }

    public static let standard = ParallelUploads(extraConnections: 1, threshold: 64 << 20)
    public static let off = ParallelUploads(extraConnections: 0, threshold: .max)
}

/// The ranges of a large upload's remaining bytes, handed to its streams, and what each stream has had
/// acknowledged. Shared by the streams' threads.
final class UploadRanges: @unchecked Sendable {
    private let lock = NSLock()
    private let ranges: [Range<Int64>]
    private var readers: [UploadSourceReader?]
    private var nextIndex = 0
    private var acknowledged: [Int64]
    private var reported: Int64 = 0
    /// The first stream's failure: the cause, where the others only stopped because of it.
    private var failure: (any Error)?
    private let start: Int64
    private let total: Int64
    private let progress: (@Sendable (UploadProgress) -> Void)?

    /// Splits what is left of `large` into `count` ranges of whole MiB (the last takes the rest).
    init(_ large: LargeUpload, count: Int) throws {
        let (first, end): (Int64, Int64) = (large.start, large.reader.size)
        start = first
        total = end
        progress = large.upload.progress
        let mib: Int64 = 1 << 20
        let step: Int64 = max(mib, ((end - first) / Int64(count) + mib - 1) / mib * mib)
        var split: [Range<Int64>] = []
        var lower = first
        while lower < end {
            split.append(lower..<min(lower + step, end))
            lower += step
        }
        ranges = split
        readers = try ranges.map { try large.reader.reader(for: $0) }
        acknowledged = ranges.map { _ in 0 }
    }

    /// The next range to write and its reader; nil when all are taken or the upload failed.
    func next() -> (index: Int, range: Range<Int64>, reader: UploadSourceReader)? {
        lock.withLock {
            guard failure == nil, nextIndex < ranges.count, let reader = readers[nextIndex] else { return nil }
            readers[nextIndex] = nil
            defer { nextIndex += 1 }
            return (nextIndex, ranges[nextIndex], reader)
        }
    }

    /// Records that `bytes` of range `index` are acknowledged, and reports progress (every MiB and at the
    /// end, in order, under the lock). Throws once another stream failed, to stop this one.
    func acknowledge(_ bytes: Int64, ofRange index: Int, node: String) throws {
        try lock.withLock {
            guard failure == nil else { throw SSHError.closed(node: "\(node) (another stream of the upload failed)") }
            acknowledged[index] = bytes
            guard let progress else { return }
            let sent = acknowledged.reduce(0, +)
            guard sent - reported >= 1 << 20 || sent == total - start else { return }
            reported = sent
            progress(UploadProgress(completed: start + sent, total: total))
        }
    }

    /// Stops the other streams at their next acknowledgement and keeps new ranges from starting; returns
    /// the first failure recorded, which is the one to report.
    @discardableResult
    func fail(_ error: any Error) -> any Error {
        lock.withLock {
            if failure == nil { failure = error }
            return failure ?? error
        }
    }

    /// The end of the bytes known to be in the `.partial` from its start on, with no gap before them.
    var contiguousEnd: Int64 {
        lock.withLock {
            var end = start
            for (range, bytes) in zip(ranges, acknowledged) {
                end = range.lowerBound + bytes
                if bytes < Int64(range.count) { break }
            }
            return end
        }
    }

    /// Writes ranges into the existing `.partial` until none are left: one stream, on `sftp`'s thread.
    func write(to partialPath: String, over sftp: SFTPClient) throws {
        while let claimed = next() {
            let file = try SFTPFile(client: sftp, path: partialPath, flags: LIBSSH2_FXF_WRITE, mode: 0o600)
            file.seek(to: claimed.range.lowerBound)
            try file.write(from: claimed.reader, window: SFTPUpload.window, refill: SFTPUpload.refill) { bytes in
                try acknowledge(bytes, ofRange: claimed.index, node: sftp.session.node)
            }
            try file.close()
        }
    }
}

extension SSHConnection {
    /// Sends the rest of `large` over this connection and up to `extraConnections` more, opened
    /// now and closed before returning; a connection that cannot be opened leaves its share to the others.
    /// The digest, when expected, is taken in one sequential read beside the streams.
    func uploadInParallel(_ large: LargeUpload, extraConnections: Int) async throws -> UploadResult.Outcome {
        let ranges = try UploadRanges(large, count: 1 + extraConnections)
        let hashing = large.upload.expectedSHA256 != nil
        do {
            let digest = try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask {
                    try await self.writeRanges(ranges, of: large)
                    return nil
                }
                for _ in 0..<extraConnections {
                    group.addTask {
                        guard let extra = try await self.openExtraConnection() else { return nil }
                        do {
                            try await extra.writeRanges(ranges, of: large)
                        } catch {
                            await extra.close()
                            throw error
                        }
                        await extra.close()
                        return nil
                    }
                }
                if hashing {
                    group.addTask {
                        try await onOwnThread { try large.reader.digestOfPrefix(large.reader.size) }
                    }
                }
                var digest = ""
                do {
                    while let result = try await group.next() { digest = result ?? digest }
                } catch {
                    throw ranges.fail(error)
                }
                return digest
            }
            if large.reader.changedSinceOpened {
                throw UploadError.unreadableSource(
                    node: name, path: large.reader.name, reason: "it changed while it was being uploaded")
            }
            return try await withSFTP { sftp in
                // The open mode is filtered by the server's umask; set it exactly.
                try sftp.setPermissions(large.partialPath, mode: large.upload.mode)
                return try SFTPUpload(sftp: sftp).finish(large, digest: digest)
            }
        } catch {
            let keep = ranges.contiguousEnd
            if failure == nil {
                _ = try? await withSFTP { sftp in
                    SFTPUpload(sftp: sftp).discardPartial(of: large, after: error, connectionAlive: true, keep: keep)
                }
            }
            throw error
        }
    }

    /// One stream of a parallel upload, on this connection's thread.
    private func writeRanges(_ ranges: UploadRanges, of large: LargeUpload) async throws {
        try await withSFTP { sftp in
            do {
                try ranges.write(to: large.partialPath, over: sftp)
            } catch {
                ranges.fail(error)
                throw error
            }
        }
    }
}
