import Foundation

/// How far one download has come: bytes on disk so far (resumed ones included) and the whole size when
/// the server said it.
public struct DownloadProgress: Sendable, Equatable {
    public var bytes: Int64
    public var total: Int64?

    public init(bytes: Int64, total: Int64?) {
        self.bytes = bytes
        self.total = total
    }
}

/// A completed, verified download.
public struct DownloadResult: Sendable, Equatable {
    /// The hex sha256 of the file: the expected one, or for an unpinned file the one it turned out to have.
    public var sha256: String
    public var size: Int64
    /// Bytes taken from a `.partial` file left by an earlier attempt or run instead of downloaded again.
    public var resumedBytes: Int64
    /// The destination already held a file with the expected digest: nothing was downloaded.
    public var alreadyPresent: Bool
}

/// Downloads one URL to one file, for artifacts of any size, with the memory of one buffer.
///
/// Bytes go to `DEST.partial`, hashed as they arrive. A failed attempt leaves the partial in place and
/// the next attempt (or the next run) continues it with a Range request, after hashing what is already
/// there; a server that ignores Range and answers 200 starts it over. The file appears under its final
/// name only complete and verified (rename). A digest mismatch deletes everything and fails naming the
/// artifact, the URL and both digests.
public final class FileDownloader: Sendable {
    public let client: HTTPClient
    public let retry: RetryPolicy

    public init(client: HTTPClient, retry: RetryPolicy = RetryPolicy()) {
        self.client = client
        self.retry = retry
    }

    /// - Parameters:
    ///   - artifact: The name errors use for it (a stack's file name, such as "kubeadm").
    ///   - url: Where to get it (after mirrors).
    ///   - destination: The final path; its folder is created if missing.
    ///   - sha256: The expected hex digest, or nil for an unpinned file (then the result says what it got).
    ///   - headers: Sent with each request (a registry's Authorization, for a blob).
    ///   - progress: Called as bytes arrive, on the downloading thread.
    ///   - onRetry: Told before each retry, to say why and when.
    /// - Throws: `DownloadError`.
    public func download(
        _ artifact: String, from url: String, to destination: String, sha256 expected: String? = nil,
        headers: [(name: String, value: String)] = [], progress: (DownloadProgress) -> Void = { _ in },
        onRetry: (RetryPolicy.Retry) -> Void = { _ in }
    ) throws -> DownloadResult {
        let expected = expected?.lowercased()
        let fail = { (reason: DownloadError.Reason) in DownloadError(artifact: artifact, url: url, reason: reason) }
        if let expected, let present = try? FileDigest.sha256(ofFileAt: destination), present.digest == expected {
            progress(DownloadProgress(bytes: present.size, total: present.size))
            return DownloadResult(sha256: expected, size: present.size, resumedBytes: 0, alreadyPresent: true)
        }
        let folder = (destination as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(
                atPath: folder.isEmpty ? "." : folder, withIntermediateDirectories: true)
        } catch {
            throw fail(.file(path: folder, problem: "cannot create the folder (\(error.localizedDescription))"))
        }
        let partial = PartialFile(path: destination + ".partial")
        var firstTry = true
        while true {
            let outcome: PartialFile.Outcome
            do {
                outcome = try fetchWithRetries(
                    url, into: partial, headers: headers, progress: progress, onRetry: onRetry)
            } catch let error as PartialFile.FileError {
                throw fail(.file(path: error.path, problem: error.problem))
            } catch {
                // Keep a partial worth resuming; an empty one is only litter.
                if partial.sizeOnDisk == 0 { partial.remove() }
                throw fail(.transfer(error))
            }
            if let expected, outcome.sha256 != expected {
                partial.remove()
                // A partial from an earlier run may hold bytes of another build of the file: start over once.
                if outcome.resumedBytes > 0 && firstTry {
                    firstTry = false
                    continue
                }
                throw fail(.digestMismatch(expected: expected, actual: outcome.sha256))
            }
            guard rename(partial.path, destination) == 0 else {
                let problem = "cannot rename \(partial.path) to it: \(String(cString: strerror(errno)))"
                throw fail(.file(path: destination, problem: problem))
            }
            return DownloadResult(
                sha256: outcome.sha256, size: outcome.size, resumedBytes: outcome.resumedBytes, alreadyPresent: false)
        }
    }

    /// Attempts under the retry policy; an attempt that grew the partial file does not use up the budget.
    private func fetchWithRetries(
        _ url: String, into partial: PartialFile, headers: [(name: String, value: String)],
        progress: (DownloadProgress) -> Void, onRetry: (RetryPolicy.Retry) -> Void
    ) throws -> PartialFile.Outcome {
        var furthest = partial.sizeOnDisk
        return try retry.run(onRetry: onRetry) { _ in
            do {
                return try partial.continueDownload(url, client: client, headers: headers, progress: progress)
            } catch {
                let size = partial.sizeOnDisk
                guard size > furthest else { throw error }
                furthest = size
                throw RetryPolicy.Progressed(error)
            }
        }
    }
}

/// A download that did not produce a verified file.
public struct DownloadError: Error, CustomStringConvertible {
    public enum Reason: Sendable {
        /// The bytes arrived but their sha256 is not the declared one; nothing was kept.
        case digestMismatch(expected: String, actual: String)
        /// The transfer failed for good: an `HTTPError`, an `HTTPStatusError`, or a broken range answer.
        case transfer(any Error)
        /// A local file or folder could not be written; `problem` says what and why.
        case file(path: String, problem: String)
    }

    public var artifact: String
    /// The URL it was downloaded from, without credentials or query.
    public var url: String
    public var reason: Reason

    public init(artifact: String, url: String, reason: Reason) {
        self.artifact = artifact
        self.url = redactedURL(url)
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .digestMismatch(let expected, let actual):
            return
                "\(artifact): sha256 mismatch for \(url): expected \(expected), got \(actual) (the download was deleted)"
        case .transfer(let error as HTTPError):
            return "\(artifact): \(error)"
        case .transfer(let error as HTTPStatusError):
            return "\(artifact): \(error)"
        case .transfer(let error):
            return "\(artifact): GET \(url): \(error)"
        case .file(let path, let problem):
            return "\(artifact): \(path): \(problem)"
        }
    }
}
