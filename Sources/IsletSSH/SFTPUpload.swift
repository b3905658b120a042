import CLibSSH2
import Foundation
import IsletCore

/// Uploads a file or bytes so that `remotePath` is either the old content or the complete new one: the
/// data goes to `remotePath.partial`, which is then renamed over the target. With an expected sha256 or
/// `resume`, one exec asks the node first (`UploadProbe`): a target that already has the digest is left
/// alone, and a `.partial` whose bytes equal the start of the source is continued.
struct SFTPUpload {
    let sftp: SFTPClient

    /// Bytes handed to libssh2 and not yet acknowledged, at most. libssh2 1.10 copies what it is given into
    /// 30,000-byte SFTP writes and sends them all before waiting for the first acknowledgement; keeping this
    /// much in flight (refilled as acknowledgements come back) keeps the link busy, where writing whole
    /// buffers one after another drains the pipeline at every buffer's end. It and libssh2's copy bound
    /// the memory an upload takes, whatever the file's size. Measured in BENCHMARKS.md.
    static let window = 4 * 1024 * 1024
    /// Top up once this much of the window is free, so that file reads stay large.
    static let refill = 1024 * 1024

    var node: String { sftp.session.node }

    /// What the step on the node's own connection did: all of the upload, or everything but sending the
    /// bytes, which a parallel upload's streams then do.
    enum Begun: Sendable {
        case finished(UploadResult.Outcome)
        case large(LargeUpload)
    }

    /// Probes, decides where to start and, when at least `threshold` bytes remain to be sent, creates the
    /// `.partial` (or keeps it to resume) and leaves the sending to parallel streams; otherwise uploads.
    func begin(_ upload: Upload, to remotePath: String, parallelFrom threshold: Int64?) throws -> Begun {
        let reader = try UploadSourceReader(upload.source, node: node, hashing: upload.needsProbe)
        let probe = upload.needsProbe ? try self.probe(upload, at: remotePath) : UploadProbe()
        if let expected = upload.expectedSHA256, let existing = probe.existing, existing.sha256 == expected {
            if existing.mode != upload.mode { try sftp.setPermissions(remotePath, mode: upload.mode) }
            return .finished(.alreadyPresent)
        }
        let start = try probe.resumeOffset(for: upload, reader: reader)
        let large = LargeUpload(upload: upload, remotePath: remotePath, reader: reader, start: start)
        var flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT
        if start == 0 { flags |= LIBSSH2_FXF_TRUNC }
        do {
            let file = try SFTPFile(client: sftp, path: large.partialPath, flags: flags, mode: upload.mode)
            if let threshold, reader.size - start >= threshold {
                try file.close()
                return .large(large)
            }
            if start > 0 { file.seek(to: start) }
            var reported: Int64 = 0
            try file.write(from: reader, window: Self.window, refill: Self.refill) { acknowledged in
                // Every MiB and at the end: often enough for a display, rarely enough to cost nothing.
                guard let progress = upload.progress,
                    acknowledged - reported >= 1 << 20 || acknowledged == reader.size - start
                else { return }
                reported = acknowledged
                progress(UploadProgress(completed: start + acknowledged, total: reader.size))
            }
            // The open mode is filtered by the server's umask; set it exactly.
            try file.setPermissions(upload.mode)
            try file.close()
            return .finished(try finish(large, digest: reader.digestSoFar))
        } catch {
            discardPartial(of: large, after: error, connectionAlive: !((error as? SSHError)?.connectionIsDead ?? false))
            throw error
        }
    }

    /// After every byte is in the `.partial`: checks the digest and renames it into place.
    func finish(_ large: LargeUpload, digest: String) throws -> UploadResult.Outcome {
        let upload = large.upload
        if let expected = upload.expectedSHA256, digest != expected {
            throw UploadError.checksumMismatch(
                node: node, source: large.reader.name, destination: large.remotePath, expected: expected,
                actual: digest)
        }
        try rename(large.partialPath, over: large.remotePath)
        let sent = large.reader.size - large.start
        return large.start > 0 ? .resumed(from: large.start, sent: sent) : .uploaded(sent: sent)
    }

    /// After a failed upload: a partial that may be resumed is kept, cut to `keep` bytes when given (the
    /// part known to be complete, when streams wrote further on); otherwise it is removed. A dead connection
    /// can do neither (and trying would wait out another timeout).
    func discardPartial(of large: LargeUpload, after error: any Error, connectionAlive: Bool, keep: Int64? = nil) {
        guard connectionAlive else { return }
        if large.upload.resume && error is SSHError {
            if let keep { try? sftp.truncate(large.partialPath, to: keep) }
        } else {
            _ = sftp.unlink(large.partialPath)
        }
    }

    /// One exec of `UploadProbe.script` as the login user.
    private func probe(_ upload: Upload, at remotePath: String) throws -> UploadProbe {
        let output = OutputCollector()
        let errors = OutputCollector()
        let status = try ChannelExec(
            session: sftp.session, command: "sh -s",
            stdin: Array(UploadProbe.script(for: remotePath, upload: upload).utf8),
            onOutput: { stream, bytes in (stream == .stdout ? output : errors).append(bytes) }
        ).run()
        guard status.succeeded, let probe = UploadProbe.parse(output.text) else {
            throw UploadError.unexpectedProbe(
                node: node, destination: remotePath, output: "\(status): \(output.text)\(errors.text)")
        }
        return probe
    }

    /// SFTP v3 rename (all OpenSSH speaks) refuses an existing target, and
    /// libssh2 1.10 cannot send posix-rename@openssh.com; so an existing
    /// target is replaced by rename(2) through `mv -f`, which is atomic too.
    private func rename(_ from: String, over to: String) throws {
        let rc = islet_sftp_rename(sftp.raw, from, UInt32(from.utf8.count), to, UInt32(to.utf8.count))
        if rc == 0 { return }
        guard rc == LIBSSH2_ERROR_SFTP_PROTOCOL, sftp.stat(to) != nil else {
            throw sftp.error(Int(rc), operation: "rename \(from) to", path: to)
        }
        let collector = OutputCollector()
        let status = try ChannelExec(
            session: sftp.session,
            command: "mv -f -- \(ShellQuoting.quote(from)) \(ShellQuoting.quote(to))",
            stdin: [],
            onOutput: { _, bytes in collector.append(bytes) }
        ).run()
        guard status.succeeded else {
            throw SSHError.sftpFailed(
                node: sftp.session.node, operation: "rename \(from) to", path: to,
                message: "mv failed: \(collector.text)")
        }
    }
}

/// An upload between its first step on the node's connection and its end: the source's reader (hashing
/// when a digest is expected, positioned at `start`) and where the bytes go. Handed from the connection's
/// thread to the parallel streams and back, used by one thread at a time.
final class LargeUpload: @unchecked Sendable {
    let upload: Upload
    let remotePath: String
    let partialPath: String
    let reader: UploadSourceReader
    /// Bytes already in the `.partial` (resumed), never sent again.
    let start: Int64

    init(upload: Upload, remotePath: String, reader: UploadSourceReader, start: Int64) {
        self.upload = upload
        self.remotePath = remotePath
        partialPath = remotePath + ".partial"
        self.reader = reader
        self.start = start
    }
}
