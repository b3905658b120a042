import Foundation

/// Starts a program with posix_spawn: stdin from /dev/null, stdout to `stdoutPath`, stderr to `stderrPath`
/// (appended) or to stdout.
///
/// Not Foundation's Process: it learns of a child's exit when an inherited descriptor closes, and daemons
/// such as sshd close every inherited descriptor at start-up, after which Process blocks its monitor
/// thread in waitpid and no later Process ever completes. The signal mask is reset so that a child
/// spawned from a dispatch worker still obeys SIGTERM.
public func spawnProcess(
    _ arguments: [String], environment: [String: String]? = nil, stdoutPath: String = "/dev/null",
    stderrPath: String? = nil
) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    if let stderrPath {
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
    } else {
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
    }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let rc: Int32
    if let environment {
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }
        rc = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
    } else {
        rc = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
    }
    guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
    return pid
}

/// Waits for `pid` and returns its exit status, or 128 + the signal that ended it, as shells report it.
public func waitForExit(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return exitCode(fromWaitStatus: status)
}

/// WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
public func exitCode(fromWaitStatus status: Int32) -> Int32 {
    status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// Runs a program (absolute path) to completion and returns its exit status and output, stderr included.
@discardableResult
public func runProgram(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("islet-run-\(UUID())").path
    defer { try? FileManager.default.removeItem(atPath: outputPath) }
    let status = waitForExit(try spawnProcess(arguments, stdoutPath: outputPath))
    return (status, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
}
