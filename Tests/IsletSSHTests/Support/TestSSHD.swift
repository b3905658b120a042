import Foundation

@testable import IsletSSH

/// A throwaway OpenSSH server on 127.0.0.1 for one test, run as root with
/// its own host key, authorized_keys and pid file in a temporary directory.
final class TestSSHD: @unchecked Sendable {
    let directory: String
    let port: Int
    let hostKey: String
    let authorizedKeys: String
    let log: String
    private let process: Daemon

    /// - Parameters:
    ///   - config: Extra sshd_config lines.
    ///   - hostKey: An existing host key to reuse (to simulate a reinstall, pass another).
    ///   - users: Extra passwd users `(name, password)` visible only to this
    ///     sshd, via a private mount namespace over /etc/passwd and /etc/shadow.
    init(config: [String] = [], hostKey existingHostKey: String? = nil, users: [(String, String)] = []) throws {
        directory = try makeTemporaryDirectory("islet-sshd")
        hostKey = try existingHostKey ?? generateKey(in: directory, name: "ssh_host_ed25519_key")
        authorizedKeys = directory + "/authorized_keys"
        log = directory + "/sshd.log"
        _ = FileManager.default.createFile(atPath: authorizedKeys, contents: Data())
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)

        var lastError: Error = CommandFailed(command: ["sshd"], status: -1, output: "not started")
        for _ in 0..<5 {
            let port = try freeLoopbackPort()
            do {
                process = try Self.start(
                    directory: directory, port: port, hostKey: hostKey,
                    config: config, users: users, log: log)
                self.port = port
                return
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Starts a server off the cooperative pool.
    static func start(config: [String] = [], users: [(String, String)] = []) async throws -> TestSSHD {
        try await offPool { try TestSSHD(config: config, users: users) }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func stop() {
        process.stop()
    }

    func authorize(_ privateKey: String) throws {
        let key = try String(contentsOfFile: privateKey + ".pub", encoding: .utf8)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: authorizedKeys))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(key.utf8))
        try handle.close()
    }

    /// The per-connection sshd processes (all descendants of the listener).
    func connectionProcesses() -> [pid_t] {
        var parents: [pid_t: pid_t] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = pid_t(fields[1]) { parents[pid] = parent }
        }
        var result: [pid_t] = []
        var frontier = [process.pid]
        while let parent = frontier.popLast() {
            let children = parents.filter { $0.value == parent }.map(\.key)
            result += children
            frontier += children
        }
        return result
    }

    var hostFingerprint: String { get throws { try keygenFingerprint(hostKey + ".pub") } }

    /// The known_hosts line OpenSSH would write for this server.
    var knownHostsLine: String {
        get throws {
            let key = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8).split(separator: " ")
            return "[127.0.0.1]:\(port) \(key[0]) \(key[1])\n"
        }
    }

    /// The sshd log, for failure messages.
    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    private static func start(
        directory: String, port: Int, hostKey: String, config: [String],
        users: [(String, String)], log: String
    ) throws -> Daemon {
        let configPath = directory + "/sshd_config"
        let lines =
            [
                "ListenAddress 127.0.0.1:\(port)",
                "HostKey \(hostKey)",
                "PidFile \(directory)/sshd.pid",
                "AuthorizedKeysFile \(directory)/authorized_keys",
                "StrictModes no",
                "UsePAM no",
                "KbdInteractiveAuthentication no",
                "MaxStartups 100:30:200",
                "LogLevel VERBOSE",
                "PrintMotd no",
                "X11Forwarding no",
                "Subsystem sftp /usr/lib/openssh/sftp-server",
            ] + config
        try (lines.joined(separator: "\n") + "\n").write(toFile: configPath, atomically: true, encoding: .utf8)

        let arguments: [String]
        if users.isEmpty {
            arguments = ["/usr/sbin/sshd", "-D", "-e", "-f", configPath]
        } else {
            let script = try userNamespaceScript(directory: directory, users: users, configPath: configPath)
            arguments = ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script]
        }
        let process = try Daemon(arguments, stderrPath: log)

        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if !process.isRunning {
                throw CommandFailed(
                    command: ["sshd"], status: -1,
                    output: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
            }
            if canConnect(port: port) { return process }
            usleep(20_000)
        }
        process.stop()
        throw CommandFailed(command: ["sshd"], status: -1, output: "did not listen on port \(port)")
    }

    /// Shadows /etc/passwd and /etc/shadow with copies that add `users`,
    /// only inside sshd's own mount namespace; the machine is not changed.
    private static func userNamespaceScript(directory: String, users: [(String, String)], configPath: String) throws
        -> String
    {
        var passwd = try String(contentsOfFile: "/etc/passwd", encoding: .utf8)
        var shadow = try String(contentsOfFile: "/etc/shadow", encoding: .utf8)
        for (index, (name, password)) in users.enumerated() {
            let home = directory + "/home-" + name
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            let uid = 42420 + index
            chown(home, uid_t(uid), gid_t(uid))
            let hash = try run(["/usr/bin/openssl", "passwd", "-6", "-stdin"], input: password)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            passwd += "\(name):x:\(uid):\(uid)::\(home):/bin/sh\n"
            shadow += "\(name):\(hash):19000:0:99999:7:::\n"
        }
        try passwd.write(toFile: directory + "/passwd", atomically: true, encoding: .utf8)
        try shadow.write(toFile: directory + "/shadow", atomically: true, encoding: .utf8)
        chmod(directory + "/shadow", 0o600)
        return """
            mount --bind \(directory)/passwd /etc/passwd && \
            mount --bind \(directory)/shadow /etc/shadow && \
            exec /usr/sbin/sshd -D -e -f \(configPath)
            """
    }

    private static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// One test's world: an sshd, a client key it accepts, and a host-key
/// policy that already knows the server.
final class Fixture: Sendable {
    let sshd: TestSSHD
    let clientKey: String
    let knownHosts: String
    let scratch: String

    init(config: [String] = []) throws {
        sshd = try TestSSHD(config: config)
        scratch = try makeTemporaryDirectory("islet-client")
        clientKey = try generateKey(in: scratch, name: "id_ed25519")
        try sshd.authorize(clientKey)
        knownHosts = scratch + "/known_hosts"
        try sshd.knownHostsLine.write(toFile: knownHosts, atomically: true, encoding: .utf8)
    }

    /// Sets up a fixture off the cooperative pool.
    static func start(config: [String] = []) async throws -> Fixture {
        try await offPool { try Fixture(config: config) }
    }

    deinit { try? FileManager.default.removeItem(atPath: scratch) }

    func endpoint(
        user: String = "root", keys: [String]? = nil, connectTimeout: Duration = .seconds(30),
        operationTimeout: Duration = .seconds(60)
    ) -> SSHEndpoint {
        SSHEndpoint(
            host: "127.0.0.1", port: sshd.port, user: user, identityFiles: keys ?? [clientKey],
            connectTimeout: connectTimeout, operationTimeout: operationTimeout)
    }

    var hostKeys: SSHHostKeyPolicy {
        SSHHostKeyPolicy(knownHostsFiles: [knownHosts], recordFile: knownHosts, acceptNew: false)
    }

    static let noAgent = SSHCredentials(useAgent: false)

    func connect(_ endpoint: SSHEndpoint? = nil, credentials: SSHCredentials = Fixture.noAgent) async throws
        -> SSHConnection
    {
        try await SSHConnection.connect(
            name: "test-node", to: endpoint ?? self.endpoint(),
            hostKeys: hostKeys, credentials: credentials)
    }
}

/// Collects streamed output from the connection thread.
final class Output: @unchecked Sendable {
    private let lock = NSLock()
    private var stdout: [UInt8] = []
    private var stderr: [UInt8] = []

    var handler: @Sendable (SSHOutputStream, [UInt8]) -> Void {
        { stream, bytes in
            self.lock.withLock {
                if stream == .stdout { self.stdout += bytes } else { self.stderr += bytes }
            }
        }
    }

    var stdoutBytes: [UInt8] { lock.withLock { stdout } }
    var stdoutText: String { String(decoding: stdoutBytes, as: UTF8.self) }
    var stderrText: String { lock.withLock { String(decoding: stderr, as: UTF8.self) } }
}

extension SSHConnection {
    /// Runs a command without stdin and returns its status and output.
    func run(_ command: String, stdin: [UInt8] = []) async throws -> (SSHExitStatus, Output) {
        let output = Output()
        let status = try await execute(command, stdin: stdin, onOutput: output.handler)
        return (status, output)
    }
}
