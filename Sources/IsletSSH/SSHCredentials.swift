import Foundation

/// Secrets used to authenticate, in the order they are tried: agent, key
/// files (with `passphrase`), then `password`.
public struct SSHCredentials: Sendable {
    /// Passphrase for encrypted identity files.
    public var passphrase: String?
    /// Password for servers that offer the `password` method.
    public var password: String?
    /// Offer the identities of the ssh-agent at `agentSocket` (default `SSH_AUTH_SOCK`).
    public var useAgent: Bool
    /// Agent socket path; `nil` means `SSH_AUTH_SOCK`.
    public var agentSocket: String?

    public init(passphrase: String? = nil, password: String? = nil, useAgent: Bool = true, agentSocket: String? = nil) {
        self.passphrase = passphrase
        self.password = password
        self.useAgent = useAgent
        self.agentSocket = agentSocket
    }

    /// Credentials from `ISLET_SSH_PASSPHRASE` and `ISLET_SSH_PASSWORD`.
    ///
    /// - Parameters:
    ///   - environment: The variables to read; the process environment by default.
    ///   - identityFiles: When the passphrase variable is unset, stdin is a
    ///     terminal and one of these key files is encrypted, the passphrase is
    ///     asked for once on the terminal. Pass `[]` to never prompt.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        promptingForPassphraseOf identityFiles: [String] = []
    ) -> SSHCredentials {
        var passphrase = environment["ISLET_SSH_PASSPHRASE"]
        if passphrase == nil, isatty(STDIN_FILENO) == 1,
            let encrypted = identityFiles.first(where: { KeyFile.inspect(path: $0)?.isEncrypted == true })
        {
            passphrase = promptPassphrase(for: encrypted)
        }
        return SSHCredentials(
            passphrase: passphrase,
            password: environment["ISLET_SSH_PASSWORD"],
            useAgent: !(environment["SSH_AUTH_SOCK"] ?? "").isEmpty
        )
    }

    private static func promptPassphrase(for keyFile: String) -> String? {
        // getpass turns echo off on /dev/tty and restores it, which a plain read cannot.
        guard let line = getpass("Enter passphrase for \(keyFile) (ISLET_SSH_PASSPHRASE is unset): ") else {
            return nil
        }
        return String(cString: line)
    }
}
