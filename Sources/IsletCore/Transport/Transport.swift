import Foundation

/// How the engine reaches nodes. The engine knows nothing else about connections: the SSH transport and
/// the local one used by tests plug in here.
public protocol Transport: Sendable {
    /// Opens the one connection used for the whole run.
    /// - Throws: an error whose description names the node and says what failed.
    func connect(to node: NodeAddress) async throws -> any NodeSession
}

/// What a transport needs to reach a node: from the inventory, or from state for a node being removed.
public struct NodeAddress: Sendable, Hashable, Codable {
    public var name: String
    public var address: String
    public var ssh: SSHSettings

    public init(name: String, address: String, ssh: SSHSettings) {
        self.name = name
        self.address = address
        self.ssh = ssh
    }
}

/// One open connection to a node.
public protocol NodeSession: AnyObject, Sendable {
    /// The prefix of the node's filesystem root as scripts see it: empty on real nodes; the local transport
    /// runs every node on one machine, each under its own directory. Scripts get it as `$ISLET_ROOT`.
    var filesystemRoot: String { get }

    /// One line for people: how the node was reached (user, address, host key).
    var summary: String { get }

    /// Runs a POSIX sh script with root rights (the transport adds `sudo` when the inventory asks for it).
    /// The script travels on stdin, never in argv. Output is streamed to `output` as it arrives.
    func run(script: String, output: @escaping @Sendable (OutputChunk) -> Void) async throws -> ExitStatus

    /// Copies a local file into the session's private staging directory and returns its path on the node.
    func upload(file localPath: String, as name: String) async throws -> String

    /// Ends the connection and releases everything it holds.
    func close() async
}

public struct OutputChunk: Sendable {
    public enum Stream: Sendable { case stdout, stderr }
    public var stream: Stream
    public var bytes: [UInt8]

    public init(stream: Stream, bytes: [UInt8]) {
        self.stream = stream
        self.bytes = bytes
    }
}

/// How a remote command ended.
public struct ExitStatus: Sendable, Hashable, CustomStringConvertible {
    public var code: Int32?
    public var signal: String?

    public init(code: Int32?, signal: String? = nil) {
        self.code = code
        self.signal = signal
    }

    public var succeeded: Bool { code == 0 && signal == nil }

    public var description: String {
        if let signal { return "killed by signal \(signal)" }
        return "exit status \(code.map(String.init) ?? "unknown")"
    }
}
