import Foundation

/// What islet accepts as an SSH private key file: a regular, readable file of at most this size. A device such as
/// /dev/zero or a folder would otherwise be read by libssh2 without end.
let maximumIdentityFileSize = 64 << 10

/// An identity file the inventory names that does not exist. Not an error at validate: a fresh `islet init`
/// names ~/.ssh/id_ed25519, and ssh-agent may hold the key. Plan and apply refuse it when no agent or password
/// can stand in (see `Inventory.checkIdentityFilesForSSH`).
public struct MissingIdentityFile: Sendable, Hashable {
    public var location: SourceLocation
    public var field: String
    public var path: String

    /// Printed by validate, and by plan and apply when an agent may hold the key.
    public var warning: Diagnostic {
        Diagnostic(
            location,
            "'\(field)' \(path) does not exist; islet will rely on ssh-agent or ISLET_SSH_PASSWORD (expected a private key file, or the key loaded in ssh-agent)"
        )
    }
}

extension Inventory {
    /// Before connecting over SSH: a missing identity file is an error when neither ssh-agent (`SSH_AUTH_SOCK`)
    /// nor a password (`ISLET_SSH_PASSWORD`) can stand in for it.
    /// - Returns: the warnings to print when something else may stand in.
    /// - Throws: `ValidationFailure` naming each missing file at its line.
    public func checkIdentityFilesForSSH(environment: [String: String]) throws -> [Diagnostic] {
        let agent = !(environment["SSH_AUTH_SOCK"] ?? "").isEmpty
        let password = !(environment["ISLET_SSH_PASSWORD"] ?? "").isEmpty
        if missingIdentityFiles.isEmpty { return [] }
        if agent || password { return missingIdentityFiles.map(\.warning) }
        throw ValidationFailure(
            missingIdentityFiles.map {
                Diagnostic(
                    $0.location,
                    "'\($0.field)' \($0.path) does not exist and no ssh-agent is running (SSH_AUTH_SOCK is unset); expected a private key file, or the key loaded in ssh-agent"
                )
            })
    }
}

/// Why `path` cannot be an identity file, or nil when it can (or does not exist: see `MissingIdentityFile`).
func identityFileProblem(_ path: String) -> String? {
    var info = stat()
    guard stat(path, &info) == 0 else {
        return errno == ENOENT || errno == ENOTDIR ? nil : "cannot be read (\(String(cString: strerror(errno))))"
    }
    switch info.st_mode & S_IFMT {
    case S_IFREG: break
    case S_IFDIR: return "is a folder"
    case S_IFCHR, S_IFBLK: return "is a device, not a regular file"
    default: return "is not a regular file"
    }
    if info.st_size > maximumIdentityFileSize {
        return "is \(info.st_size) bytes, more than a key file's \(maximumIdentityFileSize >> 10) KiB"
    }
    if access(path, R_OK) != 0 { return "is not readable by this user" }
    return nil
}
