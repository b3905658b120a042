/// How server host keys are verified.
public struct SSHHostKeyPolicy: Sendable {
    /// OpenSSH known_hosts files read in order (e.g. `~/.ssh/known_hosts`,
    /// `.islet/known_hosts`); missing files count as empty.
    public var knownHostsFiles: [String]
    /// File that newly accepted keys are appended to.
    public var recordFile: String
    /// Accept and record keys of hosts no file knows (OpenSSH's
    /// `accept-new`). A changed key is refused regardless.
    public var acceptNew: Bool

    public init(knownHostsFiles: [String], recordFile: String, acceptNew: Bool = false) {
        self.knownHostsFiles = knownHostsFiles
        self.recordFile = recordFile
        self.acceptNew = acceptNew
    }
}
