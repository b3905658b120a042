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
        return LocalSession(node: node.name, root: root, staging: staging)
    }
}

public enum LocalTransportError: Error, CustomStringConvertible {
    case unreachable(String)
    /// A file operation of an upload failed.
    case fileFailed(node: String, operation: String, path: String, reason: String)
    public var description: String {
        switch self {
        case .unreachable(let node): return "node \(node): cannot connect (marked unreachable)"
        case .fileFailed(let node, let operation, let path, let reason):
            return "node \(node): \(operation) \(path) failed: \(reason)"
        }
    }
}

final class LocalSession: NodeSession {
    let node: String
    let root: String
    let staging: String

    init(node: String, root: String, staging: String) {
        self.node = node
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

    /// The same contract as over SSH, on the node's folder: a `.path` destination lies under the folder, as
    /// scripts see it through `$ISLET_ROOT`.
    func upload(_ upload: Upload) async throws -> UploadResult {
        let path: String
        switch upload.destination {
        case .staging(let name): path = staging + "/" + name
        case .path(let absolute):
            guard absolute.hasPrefix("/") else { throw UploadError.relativeDestination(node: node, path: absolute) }
            path = root + absolute
        }
        let node = self.node
        return try await onOwnThread { try LocalUpload(node: node, upload: upload, path: path).run() }
    }

    /// The target itself: every local "node" shares this machine's network.
    func forward(toHost host: String, port: Int) async throws -> any PortForward {
        LocalForward(host: host, port: port)
    }

    func close() async {}
}

/// A forward on the local transport: the target's own address, nothing in between.
final class LocalForward: PortForward {
    let host: String
    let port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    var failures: [String] { [] }

    func close() async {}
}

/// One upload into a node's folder: the same steps as over SFTP (probe, skip, resume, `.partial`, mode,
/// digest check, rename), on local files.
private struct LocalUpload {
    let node: String
    let upload: Upload
    let path: String

    static let chunkSize = 1 << 20

    func run() throws -> UploadResult {
        let reader = try UploadSourceReader(upload.source, node: node, hashing: upload.needsProbe)
        let probe = upload.needsProbe ? try self.probe() : UploadProbe()
        if let expected = upload.expectedSHA256, let existing = probe.existing, existing.sha256 == expected {
            if existing.mode != upload.mode { try check(chmod(path, mode_t(upload.mode)), "chmod", path) }
            return UploadResult(path: path, outcome: .alreadyPresent)
        }
        let start = try probe.resumeOffset(for: upload, reader: reader)
        let partialPath = path + ".partial"
        let fd = open(partialPath, O_WRONLY | O_CREAT | O_CLOEXEC | (start == 0 ? O_TRUNC : 0), 0o600)
        try check(fd, "open", partialPath)
        var closed = false
        defer { if !closed { close(fd) } }
        if start > 0 {
            try check(ftruncate(fd, off_t(start)), "truncate", partialPath)
            try check(Int32(lseek(fd, off_t(start), SEEK_SET) == off_t(start) ? 0 : -1), "seek", partialPath)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try reader.read(into: buffer)
            if n == 0 { break }
            var written = 0
            while written < n {
                let w = write(fd, buffer.baseAddress! + written, n - written)
                if w < 0 && errno == EINTR { continue }
                try check(Int32(w < 0 ? -1 : 0), "write", partialPath)
                written += w
            }
            upload.progress?(UploadProgress(completed: reader.offset, total: reader.size))
        }
        try check(fchmod(fd, mode_t(upload.mode)), "chmod", partialPath)
        closed = true
        try check(close(fd), "close", partialPath)
        if let expected = upload.expectedSHA256, reader.digestSoFar != expected {
            unlink(partialPath)
            throw UploadError.checksumMismatch(
                node: node, source: reader.name, destination: path, expected: expected, actual: reader.digestSoFar)
        }
        try check(rename(partialPath, path), "rename", partialPath)
        let sent = reader.size - start
        return UploadResult(path: path, outcome: start > 0 ? .resumed(from: start, sent: sent) : .uploaded(sent: sent))
    }

    /// What `UploadProbe.script` reports over SSH, read from the files directly.
    private func probe() throws -> UploadProbe {
        var probe = UploadProbe()
        var info = stat()
        if upload.expectedSHA256 != nil, stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG {
            let digest = try Self.digest(of: path, node: node)
            probe.existing = UploadProbe.Existing(sha256: digest, mode: Int32(info.st_mode & 0o7777))
        }
        if upload.resume, stat(path + ".partial", &info) == 0, info.st_mode & S_IFMT == S_IFREG {
            let digest = try Self.digest(of: path + ".partial", node: node)
            probe.partial = UploadProbe.Partial(size: Int64(info.st_size), sha256: digest)
        }
        return probe
    }

    private static func digest(of path: String, node: String) throws -> String {
        let reader = try UploadSourceReader(.file(path), node: node, hashing: true)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while try reader.read(into: buffer) > 0 {}
        return reader.digestSoFar
    }

    private func check(_ rc: Int32, _ operation: String, _ file: String) throws {
        guard rc < 0 else { return }
        throw LocalTransportError.fileFailed(
            node: node, operation: operation, path: file, reason: String(cString: strerror(errno)))
    }
}

/// Runs blocking file work on a thread of its own, never on Swift's cooperative pool.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
