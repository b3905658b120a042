/// Which remote stream a chunk of command output came from.
public enum SSHOutputStream: Sendable, Equatable {
    case stdout
    case stderr
}

/// How a remote command ended.
public struct SSHExitStatus: Sendable, Equatable {
    /// The exit code; `nil` when the command was killed by a signal.
    public var code: Int32?
    /// The signal name without `SIG` (`"TERM"`), when killed by one.
    public var signal: String?

    public init(code: Int32?, signal: String?) {
        self.code = code
        self.signal = signal
    }

    /// True when the command exited with code 0.
    public var succeeded: Bool { code == 0 && signal == nil }
}
