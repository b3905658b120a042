import Foundation

struct CommandFailed: Error, CustomStringConvertible {
    let command: [String]
    let status: Int32
    let output: String
    var description: String { "\(command.joined(separator: " ")) exited \(status): \(output)" }
}

/// Runs a local program to completion and returns its stdout+stderr.
@discardableResult
func run(_ arguments: [String], environment: [String: String]? = nil, input: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    if let environment { process.environment = environment }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw CommandFailed(command: arguments, status: process.terminationStatus, output: text)
    }
    return text
}

/// A fresh directory under /tmp, removed by `remove()`.
func makeTemporaryDirectory(_ prefix: String) throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(
        atPath: path, withIntermediateDirectories: true,
        attributes: [.posixPermissions: 0o700])
    return path
}

/// A private key generated with ssh-keygen; `path + ".pub"` is its public key.
func generateKey(
    in directory: String, name: String, type: String = "ed25519", bits: Int? = nil,
    passphrase: String = ""
) throws -> String {
    let path = directory + "/" + name
    var arguments = ["/usr/bin/ssh-keygen", "-q", "-t", type, "-N", passphrase, "-C", name, "-f", path]
    if let bits { arguments += ["-b", String(bits)] }
    try run(arguments)
    return path
}

/// `SHA256:…` as `ssh-keygen -lf` prints it for a public key file.
func keygenFingerprint(_ publicKeyPath: String) throws -> String {
    let line = try run(["/usr/bin/ssh-keygen", "-lf", publicKeyPath])
    let fields = line.split(separator: " ")
    guard fields.count > 1 else { throw CommandFailed(command: ["ssh-keygen", "-lf"], status: 0, output: line) }
    return String(fields[1])
}

/// A port on 127.0.0.1 that was free a moment ago.
func freeLoopbackPort() throws -> Int {
    let (fd, port) = try listeningSocket(backlog: 1)
    close(fd)
    return port
}

/// A port on 127.0.0.1 that refuses connections for as long as the returned socket stays open: the
/// socket holds the port bound without listening, so no other test's server can take it meanwhile.
/// Close the socket when done.
func refusingLoopbackPort() throws -> (fd: Int32, port: Int) {
    try boundSocket(listening: nil)
}

/// A TCP socket listening on 127.0.0.1 at a kernel-chosen port. Nothing
/// accepts on it: the kernel completes connections into the backlog and the
/// peer then waits forever for a banner.
func listeningSocket(backlog: Int32 = 16) throws -> (fd: Int32, port: Int) {
    try boundSocket(listening: backlog)
}

private func boundSocket(listening backlog: Int32?) throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0, backlog.map({ listen(fd, $0) == 0 }) ?? true else {
        close(fd)
        throw POSIXError(.EADDRINUSE)
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// Runs blocking set-up work (ssh-keygen, starting sshd) on its own thread.
///
/// Swift's cooperative pool has one thread per core (two here); tests that
/// block it would delay every other test's resumptions and make timing
/// assertions fail for reasons that have nothing to do with the library.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result { try body() })
        }.start()
    }
}

/// `run` off the cooperative pool.
@discardableResult
func shell(_ arguments: [String], environment: [String: String]? = nil, input: String? = nil) async throws -> String {
    try await offPool { try run(arguments, environment: environment, input: input) }
}

/// `generateKey` off the cooperative pool.
func makeKey(
    in directory: String, name: String, type: String = "ed25519", bits: Int? = nil,
    passphrase: String = ""
) async throws -> String {
    try await offPool { try generateKey(in: directory, name: name, type: type, bits: bits, passphrase: passphrase) }
}
