import Foundation

/// What can be learned about a private key file without decrypting it:
/// enough to prompt for a passphrase only when needed and to explain an RSA
/// refusal.
struct KeyFile {
    /// `ssh-rsa`, `ssh-ed25519`, `ecdsa-sha2-nistp256`, … when known.
    var keyType: String?
    var isEncrypted: Bool

    var isRSA: Bool { keyType == "ssh-rsa" }

    /// Keys are a few KiB; more than this is not a key.
    static let maximumSize = 64 * 1024

    /// The bytes of a key file, refusing anything that is not a regular file of at most `maximumSize`
    /// bytes. A FIFO would block the session thread forever and `/dev/zero` would never end, and
    /// libssh2 would read either without a bound.
    ///
    /// - Returns: `.failure` with a reason to show after the path ("is not a regular file …").
    static func read(_ path: String) -> Result<[UInt8], KeyFileUnusable> {
        // O_NONBLOCK: opening a FIFO must not wait for a writer.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            return .failure(KeyFileUnusable(path: path, reason: "cannot be read: \(errnoDescription())"))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            return .failure(KeyFileUnusable(path: path, reason: "cannot be read: \(errnoDescription())"))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            return .failure(
                KeyFileUnusable(path: path, reason: "is not a regular file (\(fileKind(info.st_mode)))"))
        }
        // Read one byte past the limit: the file may have grown since fstat.
        var bytes = [UInt8](repeating: 0, count: maximumSize + 1)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(KeyFileUnusable(path: path, reason: "cannot be read: \(errnoDescription())"))
            }
            count += n
        }
        guard count <= maximumSize else {
            return .failure(KeyFileUnusable(path: path, reason: "is larger than \(maximumSize / 1024) KiB"))
        }
        return .success(Array(bytes[0..<count]))
    }

    private static func fileKind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        default: "not a plain file"
        }
    }

    static func inspect(path: String) -> KeyFile? {
        guard case .success(let bytes) = read(path) else { return nil }
        let publicKey = try? read(path + ".pub").get()
        return inspect(privateKey: bytes, publicKey: publicKey)
    }

    static func inspect(privateKey: [UInt8], publicKey: [UInt8]?) -> KeyFile {
        let text = String(decoding: privateKey, as: UTF8.self)
        let publicKeyType = publicKey.flatMap {
            String(decoding: $0, as: UTF8.self).split(separator: " ").first.map(String.init)
        }

        if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
            var key = parseOpenSSH(text) ?? KeyFile(keyType: nil, isEncrypted: false)
            key.keyType = key.keyType ?? publicKeyType
            return key
        }
        // Legacy PEM: the header names the algorithm, and encryption shows as
        // a Proc-Type header or a PKCS#8 "ENCRYPTED PRIVATE KEY" block.
        let encrypted = text.contains("Proc-Type: 4,ENCRYPTED") || text.contains("BEGIN ENCRYPTED PRIVATE KEY")
        let type: String? =
            if text.contains("BEGIN RSA PRIVATE KEY") { "ssh-rsa" } else if text.contains("BEGIN EC PRIVATE KEY") {
                "ecdsa"
            } else if text.contains("BEGIN DSA PRIVATE KEY") { "ssh-dss" } else { publicKeyType }
        return KeyFile(keyType: type, isEncrypted: encrypted)
    }

    /// The openssh-key-v1 container keeps the cipher name and the public key
    /// outside the encrypted part.
    private static func parseOpenSSH(_ text: String) -> KeyFile? {
        let body = text.split(whereSeparator: \.isNewline)
            .filter { !$0.hasPrefix("-----") }
            .joined()
        guard let data = Data(base64Encoded: body) else { return nil }
        let magic = Array("openssh-key-v1".utf8) + [0]
        let bytes = [UInt8](data)
        guard bytes.starts(with: magic) else { return nil }
        var reader = SSHWireReader(Array(bytes.dropFirst(magic.count)))
        guard let cipher = reader.readString(),
            reader.readString() != nil,  // kdf name
            reader.readString() != nil,  // kdf options
            let count = reader.readUInt32(), count >= 1,
            let publicKey = reader.readString()
        else { return nil }
        return KeyFile(
            keyType: Fingerprint.keyType(ofKeyBlob: publicKey),
            isEncrypted: cipher != Array("none".utf8)
        )
    }
}

/// A key file islet will not hand to libssh2, and why.
struct KeyFileUnusable: Error, Equatable {
    var path: String
    var reason: String
    var description: String { "\(path) \(reason); expected a private key file" }
}
