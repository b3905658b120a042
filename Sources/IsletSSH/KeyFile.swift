import Foundation

/// What can be learned about a private key file without decrypting it:
/// enough to prompt for a passphrase only when needed and to explain an RSA
/// refusal.
struct KeyFile {
    /// `ssh-rsa`, `ssh-ed25519`, `ecdsa-sha2-nistp256`, … when known.
    var keyType: String?
    var isEncrypted: Bool

    var isRSA: Bool { keyType == "ssh-rsa" }

    static func inspect(path: String) -> KeyFile? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let publicKeyType = (try? String(contentsOfFile: path + ".pub", encoding: .utf8))
            .flatMap { $0.split(separator: " ").first.map(String.init) }

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
