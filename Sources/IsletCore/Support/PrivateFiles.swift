import Foundation

/// Files and folders only the user running islet may read: 0600 and 0700 whatever the umask, and tightened
/// when they already exist wider.
enum PrivateFiles {
    /// Creates `path` and any missing parents 0700, and tightens `path` itself if it was there already.
    static func makeDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard chmod(path, 0o700) == 0 else {
            throw StateError.io(
                path: path, reason: "cannot make the folder private: \(String(cString: strerror(errno)))")
        }
    }

    /// Opens `path` for appending, creating it 0600 (an existing file is tightened to 0600).
    static func openForAppending(_ path: String) -> FileHandle? {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        fchmod(fd, 0o600)
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// `name` as one path component that cannot leave its folder: a name islet itself would accept (letters,
    /// digits, '-', '_', '.' not first) is kept; anything else (`..`, `a/b`) has its other bytes %-encoded.
    static func component(_ name: String) -> String {
        let plain =
            !name.isEmpty && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0))
            }
        if plain { return name }
        return name.utf8.map { byte in
            let scalar = Unicode.Scalar(byte)
            let keep = byte < 0x80 && (CharacterSet.alphanumerics.contains(scalar) || byte == UInt8(ascii: "-"))
            return keep ? String(scalar) : String(format: "%%%02X", byte)
        }.joined()
    }
}
