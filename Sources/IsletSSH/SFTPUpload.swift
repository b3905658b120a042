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

    func upload(_ upload: Upload, to remotePath: String) throws -> UploadResult.Outcome {
        let reader = try UploadSourceReader(upload.source, node: node, hashing: upload.needsProbe)
        let probe = upload.needsProbe ? try self.probe(upload, at: remotePath) : UploadProbe()
        if let expected = upload.expectedSHA256, let existing = probe.existing, existing.sha256 == expected {
            if existing.mode != upload.mode { try sftp.setPermissions(remotePath, mode: upload.mode) }
            return .alreadyPresent
        }
        let start = try probe.resumeOffset(for: upload, reader: reader)
        let partialPath = remotePath + ".partial"
        var flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT
        if start == 0 { flags |= LIBSSH2_FXF_TRUNC }
        do {
            let file = try SFTPFile(client: sftp, path: partialPath, flags: flags, mode: upload.mode)
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
            if let expected = upload.expectedSHA256, reader.digestSoFar != expected {
                throw UploadError.checksumMismatch(
                    node: node, source: reader.name, destination: remotePath, expected: expected,
                    actual: reader.digestSoFar)
            }
            try rename(partialPath, over: remotePath)
        } catch {
            // A dead connection can remove nothing (and trying would wait out another timeout); a partial
            // that may be resumed is kept for the next attempt.
            let dead = (error as? SSHError)?.connectionIsDead ?? false
            if !dead && !(upload.resume && error is SSHError) { _ = sftp.unlink(partialPath) }
            throw error
        }
        let sent = reader.size - start
        return start > 0 ? .resumed(from: start, sent: sent) : .uploaded(sent: sent)
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
