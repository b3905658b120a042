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
    /// The script travels on stdin, never in argv, as `feed` gives it: the shell runs each part as it
    /// arrives, and the script ends once the feed is closed. Output is streamed to `output` as it arrives.
    func run(feed: ScriptFeed, output: @escaping @Sendable (OutputChunk) -> Void) async throws -> ExitStatus

    /// Puts a file on the node as `upload` says: in the staging directory or at a path, skipped when the
    /// destination already has the expected sha256, resumed from a `.partial` when asked.
    /// - Throws: `UploadError`, or the transport's error for a failed connection or file operation.
    func upload(_ upload: Upload) async throws -> UploadResult

    /// Opens a local address whose connections reach `host:port` as the node sees it. It must not hold up
    /// the session's scripts and uploads: the SSH transport carries it on a second connection to the node.
    /// - Throws: when that connection cannot be opened (the error names the node).
    func forward(toHost host: String, port: Int) async throws -> any PortForward

    /// Ends the connection and releases everything it holds.
    func close() async
}

extension NodeSession {
    /// Copies a local file into the session's private staging directory and returns its path on the node.
    public func upload(file localPath: String, as name: String) async throws -> String {
        try await upload(Upload(.file(localPath), to: .staging(name))).path
    }

    /// Runs a script given whole.
    public func run(script: String, output: @escaping @Sendable (OutputChunk) -> Void) async throws -> ExitStatus {
        try await run(feed: ScriptFeed(whole: script), output: output)
    }
}

/// A script's text as the engine hands it over, part by part: a batch sends each step only once the one
/// before it is over, so that Ctrl-C can stop between steps (the feed closes instead) without a round trip
/// per step. Transports take bytes from any thread and may wait on `wakeDescriptor`, which is readable
/// whenever there is something to take or the feed was closed.
public final class ScriptFeed: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [UInt8] = []
    private var closed = false
    private let pipe: (read: Int32, write: Int32)

    public init() {
        var descriptors: [Int32] = [-1, -1]
        if Foundation.pipe(&descriptors) == 0 {
            for descriptor in descriptors {
                _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
                _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            }
        }
        pipe = (descriptors[0], descriptors[1])
    }

    /// A feed holding `text` and closed.
    public convenience init(whole text: String) {
        self.init()
        send(text)
        close()
    }

    deinit {
        Foundation.close(pipe.read)
        Foundation.close(pipe.write)
    }

    /// Readable when `take` has something new, or the feed was closed.
    public var wakeDescriptor: Int32 { pipe.read }

    public func send(_ text: String) {
        lock.withLock {
            guard !closed else { return }
            pending += Array(text.utf8)
        }
        wake()
    }

    /// No more text: the shell reaches the end of its input and exits.
    public func close() {
        lock.withLock { closed = true }
        wake()
    }

    public var isClosed: Bool { lock.withLock { closed } }

    /// Everything sent since the last call, and whether the feed is closed (then nothing more will come).
    public func take() -> (bytes: [UInt8], closed: Bool) {
        var drain = [UInt8](repeating: 0, count: 64)
        while Foundation.read(pipe.read, &drain, drain.count) > 0 {}
        return lock.withLock {
            defer { pending = [] }
            return (pending, closed)
        }
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = Foundation.write(pipe.write, &byte, 1)
    }
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
