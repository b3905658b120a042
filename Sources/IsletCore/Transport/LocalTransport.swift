import Foundation

/// Runs every "node" on this machine, each inside its own directory used as its filesystem root.
/// For tests and for trying stacks out; scripts see the directory as `$ISLET_ROOT`.
public struct LocalTransport: Transport {
    public var baseDirectory: String

    public init(baseDirectory: String) {
        // Scripts run with the node folder as working directory, so the root they see must be absolute.
        self.baseDirectory = URL(fileURLWithPath: baseDirectory).standardizedFileURL.path
    }

    public func connect(to node: NodeAddress) async throws -> any NodeSession {
        let root = baseDirectory + "/" + node.name
        let marker = root + "/.unreachable"
        // A test marks a node unreachable by creating this file: the local stand-in for a powered-off machine.
        if FileManager.default.fileExists(atPath: marker) {
            throw LocalTransportError.unreachable(node.name)
        }
        let staging = root + "/.islet-staging"
        try FileManager.default.createDirectory(
            atPath: staging, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        return LocalSession(root: root, staging: staging)
    }
}

public enum LocalTransportError: Error, CustomStringConvertible {
    case unreachable(String)
    public var description: String {
        switch self {
        case .unreachable(let node): return "node \(node): cannot connect (marked unreachable)"
        }
    }
}

final class LocalSession: NodeSession {
    let root: String
    let staging: String

    init(root: String, staging: String) {
        self.root = root
        self.staging = staging
    }

    var filesystemRoot: String { root }

    var summary: String { "local folder \(root)" }

    func run(feed: ScriptFeed, output: @escaping @Sendable (OutputChunk) -> Void) async throws -> ExitStatus {
        // A shell that exits before reading all it was sent must end that write with an error, not end islet.
        signal(SIGPIPE, SIG_IGN)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-s"]
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        let input = Pipe()
        let out = Pipe()
        let err = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        let drained = DispatchGroup()
        for (pipe, stream) in [(out, OutputChunk.Stream.stdout), (err, .stderr)] {
            drained.enter()
            let handle = pipe.fileHandleForReading
            // Blocking reads on a dedicated thread: never on the cooperative pool.
            Thread.detachNewThread {
                while true {
                    let data = handle.availableData
                    if data.isEmpty { break }
                    output(OutputChunk(stream: stream, bytes: [UInt8](data)))
                }
                // Process does not close the parent's ends: without this every run leaks two descriptors.
                try? handle.close()
                drained.leave()
            }
        }
        return try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in
                Thread.detachNewThread {
                    drained.wait()
                    let status =
                        finished.terminationReason == .uncaughtSignal
                        ? ExitStatus(code: nil, signal: String(finished.terminationStatus))
                        : ExitStatus(code: finished.terminationStatus)
                    continuation.resume(returning: status)
                }
            }
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: error)
                return
            }
            let writer = input.fileHandleForWriting
            Thread.detachNewThread {
                var wake = pollfd(fd: feed.wakeDescriptor, events: Int16(POLLIN), revents: 0)
                while true {
                    let (bytes, closed) = feed.take()
                    if !bytes.isEmpty { try? writer.write(contentsOf: Data(bytes)) }
                    if closed { break }
                    _ = poll(&wake, 1, 1000)
                }
                try? writer.close()
            }
        }
    }

    func upload(file localPath: String, as name: String) async throws -> String {
        let destination = staging + "/" + name
        try? FileManager.default.removeItem(atPath: destination)
        try FileManager.default.copyItem(atPath: localPath, toPath: destination)
        return destination
    }

    func close() async {}
}
