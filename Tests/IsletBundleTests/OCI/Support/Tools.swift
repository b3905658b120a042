import Foundation
import IsletTestSupport

@testable import IsletBundle

struct ToolFailed: Error, CustomStringConvertible {
    let command: [String]
    let status: Int32
    let output: String
    var description: String { "\(command.joined(separator: " ")) exited \(status): \(output)" }
}

/// Runs a program to completion (posix_spawn, output through a file) and returns its stdout+stderr.
@discardableResult
func toolOutput(_ arguments: [String], environment: [String: String]? = nil) throws -> String {
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("islet-tool-\(UUID())").path
    defer { unlink(output) }
    let pid = try spawnProcess(arguments, environment: environment, stdoutPath: output)
    let status = waitForExit(pid)
    let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    guard status == 0 else { throw ToolFailed(command: arguments, status: status, output: text) }
    return text
}

/// Ends a server the test started (SIGTERM, then reaps it); nothing when it is not running.
func terminate(_ pid: inout pid_t) {
    guard pid > 0 else { return }
    kill(pid, SIGTERM)
    _ = waitForExit(pid)
    pid = 0
}

/// Starts a server (a Python script of the tests) that binds port 0 and writes the port it got to
/// `portFile`; returns its pid and port once it has.
func startServer(_ arguments: [String], portFile: String, log: String) throws -> (pid: pid_t, port: Int) {
    var pid = try spawnProcess(arguments, stdoutPath: log)
    for _ in 0..<250 {
        if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
            return (pid, port)
        }
        usleep(20_000)
    }
    terminate(&pid)
    throw ToolFailed(command: arguments, status: -1, output: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
}

/// A port on 127.0.0.1 that was free a moment ago.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func isListening(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    } == 0
}

/// `skopeo` with the arguments, returning its output.
@discardableResult
func skopeo(_ arguments: [String]) throws -> String {
    try toolOutput(["/usr/bin/skopeo", "--insecure-policy"] + arguments)
}

/// A registry client for servers on loopback: no proxy from the environment of whoever runs the tests, and
/// one quick retry (a registry's 500 is not worth seconds of backoff in a test).
func loopbackClient(
    _ options: RegistryOptions, retry: RetryPolicy = RetryPolicy(attempts: 2, initialDelay: 0.05, maxDelay: 0.1)
) -> RegistryClient {
    var options = options
    options.retry = retry
    return RegistryClient(http: HTTPClient(options: .loopback), options: options)
}
