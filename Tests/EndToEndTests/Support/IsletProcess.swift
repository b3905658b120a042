import Foundation

/// Runs the real `islet` binary built by SwiftPM, as a user would.
struct IsletProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + stderr }
    }

    /// `.build/<config>/islet`, found beside the test bundle (or `ISLET_BINARY`).
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["ISLET_BINARY"] { return path }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("islet").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug/islet").path
    }

    /// Starts islet in the background (stdout discarded), for tests that act while it runs.
    static func start(_ arguments: [String], in directory: String, stderr: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Resource limits the kernel enforces on one run (setrlimit through the shell's `ulimit`): a run that
    /// needs more address space is refused memory, one that needs more CPU time is killed with SIGXCPU.
    struct Limits {
        var addressSpaceKiB: Int
        var cpuSeconds: Int
    }

    /// Runs islet with `arguments` in `directory`, feeding `input` on stdin.
    /// - Parameter umask: run islet under this umask (octal, e.g. "000"), through sh.
    /// islet's per-user files (`$XDG_CONFIG_HOME/islet/known_hosts`) go to `directory/.config` unless
    /// `environment` says otherwise, so tests never read or write the real user's.
    /// - Parameter executable: another copy of islet (an installed one) instead of the build's.
    @discardableResult
    static func run(
        _ arguments: [String], in directory: String, input: String = "", environment: [String: String] = [:],
        umask: String? = nil, limits: Limits? = nil, executable: String = binary
    )
        throws -> Result
    {
        let process = Process()
        // Through sh, which sets the umask and the kernel's limits, then becomes islet.
        var setup: [String] = []
        if let umask { setup.append("umask \(umask)") }
        if let limits { setup += ["ulimit -v \(limits.addressSpaceKiB)", "ulimit -t \(limits.cpuSeconds)"] }
        if !setup.isEmpty {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments =
                ["-c", (setup + ["exec \"$0\" \"$@\""]).joined(separator: " && "), executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        env["XDG_CONFIG_HOME"] = directory + "/.config"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty process never blocks on a full pipe.
        let errData = LockedData()
        let reader = Thread { errData.set(stderr.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outData = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errData.isSet { usleep(1000) }
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData.value, as: UTF8.self))
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.withLock { data = value } }
    var isSet: Bool { lock.withLock { data != nil } }
    var value: Data { lock.withLock { data ?? Data() } }
}

/// A fresh temporary folder, removed by the caller.
func makeTemporaryDirectory(_ prefix: String = "islet-test") -> String {
    let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return URL(fileURLWithPath: path).standardizedFileURL.path
}
