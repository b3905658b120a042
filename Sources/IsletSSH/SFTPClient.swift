import CLibSSH2
import IsletCore

/// The SFTP subsystem of one session, opened on first use and kept for the
/// connection's lifetime. Used in blocking mode, bounded by the session
/// timeout.
final class SFTPClient {
    let session: Session
    let raw: OpaquePointer

    private init(session: Session, raw: OpaquePointer) {
        self.session = session
        self.raw = raw
    }

    static func open(on session: Session) throws -> SFTPClient {
        session.setBlocking(true)
        guard let raw = libssh2_sftp_init(session.raw) else {
            let rc = Int(session.lastErrorCode)
            if LibSSH2.isTimeout(rc) || LibSSH2.isConnectionLost(rc) {
                throw session.error(rc, operation: "starting SFTP")
            }
            throw SSHError.sftpFailed(
                node: session.node, operation: "start", path: "-",
                message: "\(session.lastError) (is the sftp subsystem enabled in sshd_config?)")
        }
        return SFTPClient(session: session, raw: raw)
    }

    deinit {
        session.setBlocking(true)
        libssh2_sftp_shutdown(raw)
    }

    /// The error for a failed call: the SFTP status when the server sent one,
    /// otherwise the session error (timeout, broken connection).
    func error(_ rc: Int, operation: String, path: String) -> SSHError {
        if rc != Int(LIBSSH2_ERROR_SFTP_PROTOCOL) {
            if LibSSH2.isTimeout(rc) || LibSSH2.isConnectionLost(rc) {
                return session.error(rc, operation: "SFTP \(operation) \(path)")
            }
            return .sftpFailed(node: session.node, operation: operation, path: path, message: session.lastError)
        }
        let status = libssh2_sftp_last_error(raw)
        return .sftpFailed(
            node: session.node, operation: operation, path: path,
            message: Self.statusName(status))
    }

    var lastStatus: UInt { libssh2_sftp_last_error(raw) }

    static func statusName(_ status: UInt) -> String {
        let names: [UInt: String] = [
            UInt(LIBSSH2_FX_NO_SUCH_FILE): "no such file",
            UInt(LIBSSH2_FX_PERMISSION_DENIED): "permission denied",
            UInt(LIBSSH2_FX_FAILURE): "failure",
            UInt(LIBSSH2_FX_OP_UNSUPPORTED): "operation unsupported",
            UInt(LIBSSH2_FX_NO_SUCH_PATH): "no such path",
            UInt(LIBSSH2_FX_FILE_ALREADY_EXISTS): "file already exists",
            UInt(LIBSSH2_FX_WRITE_PROTECT): "write protected",
            UInt(LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM): "no space left on file system",
            UInt(LIBSSH2_FX_QUOTA_EXCEEDED): "quota exceeded",
            UInt(LIBSSH2_FX_NOT_A_DIRECTORY): "not a directory",
        ]
        return "\(names[status] ?? "SFTP status") (SSH_FX \(status))"
    }

    /// Attributes of `path`, following symlinks; nil if it cannot be stat'ed.
    func stat(_ path: String) -> LIBSSH2_SFTP_ATTRIBUTES? {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        let rc = islet_sftp_stat(raw, path, UInt32(path.utf8.count), &attributes)
        return rc == 0 ? attributes : nil
    }

    /// Sets the permission bits of `path` exactly.
    func setPermissions(_ path: String, mode: Int32) throws {
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        attributes.flags = UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS)
        attributes.permissions = UInt(mode)
        let rc = islet_sftp_setstat(raw, path, UInt32(path.utf8.count), &attributes)
        guard rc == 0 else { throw error(Int(rc), operation: "chmod", path: path) }
    }

    func unlink(_ path: String) -> Bool {
        libssh2_sftp_unlink_ex(raw, path, UInt32(path.utf8.count)) == 0
    }
}

/// An open remote file; closed in deinit if `close()` was not reached.
final class SFTPFile {
    let client: SFTPClient
    let path: String
    private var raw: OpaquePointer?

    init(client: SFTPClient, path: String, flags: Int32, mode: Int32) throws {
        self.client = client
        self.path = path
        raw = islet_sftp_open(client.raw, path, UInt32(path.utf8.count), UInt(flags), Int(mode))
        guard raw != nil else {
            throw client.error(Int(client.session.lastErrorCode), operation: "open", path: path)
        }
    }

    deinit {
        if let raw {
            client.session.setBlocking(true)
            libssh2_sftp_close_handle(raw)
        }
    }

    /// Writes from here on at `offset` (to continue a partial file).
    func seek(to offset: Int64) {
        guard let raw else { return }
        libssh2_sftp_seek64(raw, UInt64(offset))
    }

    /// Streams the rest of `reader` to the file, keeping up to `window` bytes in flight.
    ///
    /// `libssh2_sftp_write` skips the bytes it was given before and has not acknowledged yet (it already
    /// holds copies in its outgoing writes), so each call passes the buffer with those bytes still in front,
    /// their content no longer read, followed by new bytes; it returns once some are acknowledged.
    /// - Parameter acknowledged: called with the total acknowledged so far after each call.
    func write(
        from reader: UploadSourceReader, window: Int, refill: Int, acknowledged: (Int64) -> Void
    ) throws {
        guard let raw else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: window, alignment: 16)
        defer { buffer.deallocate() }
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: CChar.self) else { return }
        var inFlight = 0
        var ended = false
        var total: Int64 = 0
        while true {
            var fresh = 0
            if !ended && (window - inFlight >= refill || inFlight == 0) {
                fresh = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[inFlight..<window]))
                ended = fresh == 0
            }
            let count = inFlight + fresh
            if count == 0 { return }
            let n = libssh2_sftp_write(raw, base, count)
            guard n > 0 else { throw client.error(n, operation: "write", path: path) }
            inFlight = count - n
            total += Int64(n)
            acknowledged(total)
        }
    }

    func setPermissions(_ mode: Int32) throws {
        guard let raw else { return }
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        attributes.flags = UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS)
        attributes.permissions = UInt(mode)
        let rc = islet_sftp_fsetstat(raw, &attributes)
        guard rc == 0 else { throw client.error(Int(rc), operation: "chmod", path: path) }
    }

    /// Closes the handle; the server reports late write errors (a full disk) here.
    func close() throws {
        guard let handle = raw else { return }
        raw = nil
        let rc = libssh2_sftp_close_handle(handle)
        guard rc == 0 else { throw client.error(Int(rc), operation: "close", path: path) }
    }
}
