import CLibSSH2

/// Remote directory operations.
extension SFTPClient {
    /// Creates `path` with `mode`; an existing directory is fine.
    func makeDirectory(_ path: String, mode: Int32) throws {
        let rc = libssh2_sftp_mkdir_ex(raw, path, UInt32(path.utf8.count), Int(mode))
        if rc == 0 { return }
        let failure = error(Int(rc), operation: "mkdir", path: path)
        if let existing = stat(path),
            existing.flags & UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS) != 0,
            existing.permissions & UInt(LIBSSH2_SFTP_S_IFMT) == UInt(LIBSSH2_SFTP_S_IFDIR)
        {
            return
        }
        throw failure
    }

    /// The absolute path of "." — the login user's home directory for OpenSSH.
    func realPath(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: 4097)
        let rc = islet_sftp_realpath(raw, path, UInt32(path.utf8.count), &buffer, UInt32(buffer.count - 1))
        guard rc > 0 else { throw error(Int(rc), operation: "realpath", path: path) }
        return String(decoding: buffer[0..<Int(rc)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
