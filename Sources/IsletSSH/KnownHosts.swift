import CLibSSH2
import Foundation
import Synchronization

/// A server's host key as offered in the handshake.
struct HostKey {
    let blob: [UInt8]
    let libssh2Type: Int32

    var typeName: String { Fingerprint.keyType(ofKeyBlob: blob) ?? "unknown" }
    var fingerprint: String { Fingerprint.sha256(ofKeyBlob: blob) }
    var base64: String { Data(blob).base64EncodedString() }

    /// The LIBSSH2_KNOWNHOST_KEY_* bits; without them a key of another type
    /// reads as "not found" rather than matching.
    var knownHostBits: Int32? {
        switch libssh2Type {
        case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521
        case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA
        default: return nil
        }
    }
}

/// Verifies host keys against OpenSSH known_hosts files and records new ones.
struct KnownHosts {
    let session: Session
    let policy: SSHHostKeyPolicy

    // Appends from concurrent connections must not interleave or duplicate.
    private static let recordLock = Mutex<Void>(())

    /// Throws unless the key is known, or unknown and accepted by the policy.
    func verify(_ key: HostKey, host: String, port: Int) throws {
        let hostPort = port == 22 ? host : "[\(host)]:\(port)"
        guard let bits = key.knownHostBits else {
            throw SSHError.handshakeFailed(
                node: session.node, address: host, port: port,
                reason: "unsupported host key type \(key.typeName)")
        }
        var changed: (expected: String, file: String)?
        for file in policy.knownHostsFiles.map(expandTilde) {
            switch check(key, bits: bits, host: host, port: port, file: file) {
            case .match: return
            case .mismatch(let expected): changed = changed ?? (expected, file)
            case .notFound: continue
            }
        }
        if let changed {
            throw SSHError.hostKeyChanged(
                node: session.node, hostPort: hostPort,
                expectedFingerprint: changed.expected,
                offeredFingerprint: key.fingerprint, knownHostsFile: changed.file)
        }
        guard policy.acceptNew else {
            throw SSHError.hostKeyUnknown(
                node: session.node, hostPort: hostPort,
                keyType: key.typeName, fingerprint: key.fingerprint,
                checkedFiles: policy.knownHostsFiles.map(expandTilde), recordFile: expandTilde(policy.recordFile))
        }
        try record("\(hostPort) \(key.typeName) \(key.base64)\n")
    }

    private enum Check {
        case match
        case mismatch(expected: String)
        case notFound
    }

    /// One collection per file, so a mismatch can name the file to fix.
    private func check(_ key: HostKey, bits: Int32, host: String, port: Int, file: String) -> Check {
        guard let data = FileManager.default.contents(atPath: file),
            let hosts = libssh2_knownhost_init(session.raw)
        else { return .notFound }
        defer { libssh2_knownhost_free(hosts) }

        // Line by line rather than libssh2_knownhost_readfile, which stops at
        // the first line it cannot parse (an unknown key type, a marker).
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let first = line.first(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }),
                first != UInt8(ascii: "#"), first != UInt8(ascii: "@")
            else { continue }
            // readline expects fgets-style input: it looks at the byte after
            // the line for a newline, so give it one and a terminating NUL.
            let terminated = Array(line) + [UInt8(ascii: "\n"), 0]
            terminated.withUnsafeBytes { bytes in
                guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) else { return }
                _ = libssh2_knownhost_readline(hosts, base, bytes.count - 1, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
            }
        }

        var entry: UnsafeMutablePointer<libssh2_knownhost>?
        let typeMask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | bits
        let rc = key.blob.withUnsafeBytes { blob in
            libssh2_knownhost_checkp(
                hosts, host, Int32(port),
                blob.baseAddress?.assumingMemoryBound(to: CChar.self),
                blob.count, typeMask, &entry)
        }
        switch rc {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return .match
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            // The entry's key is the base64 text from the file.
            let expected = entry?.pointee.key
                .flatMap { Data(base64Encoded: String(cString: $0)) }
                .map { Fingerprint.sha256(ofKeyBlob: [UInt8]($0)) }
            return .mismatch(expected: expected ?? "(unreadable key in \(file))")
        default:
            return .notFound
        }
    }

    private func record(_ line: String) throws {
        let path = expandTilde(policy.recordFile)
        try Self.recordLock.withLock { _ in
            do {
                let directory = (path as NSString).deletingLastPathComponent
                if !directory.isEmpty {
                    try FileManager.default.createDirectory(
                        atPath: directory, withIntermediateDirectories: true,
                        attributes: [.posixPermissions: 0o700])
                }
                let existing = FileManager.default.contents(atPath: path) ?? Data()
                if String(decoding: existing, as: UTF8.self).contains(line) { return }
                let separator = existing.last.map { $0 == UInt8(ascii: "\n") ? "" : "\n" } ?? ""
                try append(separator + line, to: path)
            } catch let error as SSHError {
                throw error
            } catch {
                throw SSHError.localFileFailed(
                    node: session.node, path: path,
                    reason: "cannot record host key: \(error.localizedDescription)")
            }
        }
    }

    private func append(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SSHError.localFileFailed(
                node: session.node, path: path,
                reason: "cannot record host key: \(errnoDescription())")
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw SSHError.localFileFailed(
                node: session.node, path: path,
                reason: "cannot record host key: \(errnoDescription())")
        }
    }
}
