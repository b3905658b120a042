import Foundation
import IsletTestSupport

/// Debian's docker-registry (distribution 2.8) on 127.0.0.1 at a free port, with its storage, config and
/// logs in a temporary folder; stopped and removed by `stop()` (and on deinit).
final class RegistryServer: @unchecked Sendable {
    enum Auth {
        case none
        /// htpasswd with one user (bcrypt hash).
        case basic(user: String, bcryptHash: String)
        /// distribution's token auth: tokens from `realm`, signed by the key whose certificate is `certificate`.
        case token(realm: String, service: String, issuer: String, certificate: String)
    }

    let directory: String
    let port: Int
    let accessLog: String
    private var pid: pid_t = 0

    var host: String { "127.0.0.1:\(port)" }
    var storage: String { "\(directory)/storage" }

    init(auth: Auth = .none) throws {
        directory = try makeScratchDirectory("islet-registry")
        accessLog = "\(directory)/access.log"
        for _ in 0..<5 {
            let port = try freeLoopbackPort()
            try Self.config(port: port, auth: auth, directory: directory)
                .write(toFile: "\(directory)/config.yml", atomically: true, encoding: .utf8)
            if let pid = try Self.launch(directory: directory, port: port) {
                self.port = port
                self.pid = pid
                return
            }
        }
        let log = (try? String(contentsOfFile: "\(directory)/registry.log", encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: directory)
        throw ToolFailed(command: ["docker-registry", "serve"], status: -1, output: log)
    }

    deinit { stop() }

    /// Stops the server and removes its folder.
    func stop() {
        terminate(&pid)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stops the server, keeping its storage, so that it can be started again on the same port.
    func interrupt() { terminate(&pid) }

    /// Starts the interrupted server again, same port, same storage.
    func resume() throws {
        guard let pid = try Self.launch(directory: directory, port: port) else {
            throw ToolFailed(command: ["docker-registry", "serve"], status: -1, output: "did not start again")
        }
        self.pid = pid
    }

    /// Starts docker-registry with the folder's config and waits until it listens; nil when it exited
    /// (the port was taken meanwhile).
    private static func launch(directory: String, port: Int) throws -> pid_t? {
        var pid = try spawnProcess(
            ["/usr/bin/docker-registry", "serve", "\(directory)/config.yml"], stdoutPath: "\(directory)/access.log",
            stderrPath: "\(directory)/registry.log")
        for _ in 0..<250 where !isListening(port: port) {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return nil }
            usleep(20_000)
        }
        if isListening(port: port) { return pid }
        terminate(&pid)
        return nil
    }

    private static func config(port: Int, auth: Auth, directory: String) throws -> String {
        var text = """
            version: 0.1
            log:
              level: info
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: \(directory)/storage
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:\(port)
              secret: islet-test-upload-state-secret

            """
        switch auth {
        case .none:
            break
        case .basic(let user, let hash):
            try "\(user):\(hash)\n".write(toFile: "\(directory)/htpasswd", atomically: true, encoding: .utf8)
            text += """
                auth:
                  htpasswd:
                    realm: islet-test
                    path: \(directory)/htpasswd

                """
        case .token(let realm, let service, let issuer, let certificate):
            text += """
                auth:
                  token:
                    realm: \(realm)
                    service: \(service)
                    issuer: \(issuer)
                    rootcertbundle: \(certificate)

                """
        }
        return text
    }

    /// The requests the registry served so far, as `METHOD /path?query` with their status, from its
    /// access log. A marker request is sent first and waited for, so every request answered before the
    /// call is in the log.
    func requests() throws -> [(method: String, path: String, status: Int)] {
        let marker = "/v2/islet-log-marker-\(UUID().uuidString.lowercased())/tags/list"
        _ = try? toolOutput(["/usr/bin/curl", "-s", "-o", "/dev/null", "http://\(host)\(marker)"])
        for _ in 0..<250 {
            let text = (try? String(contentsOfFile: accessLog, encoding: .utf8)) ?? ""
            if text.contains(marker) {
                return text.split(separator: "\n").compactMap { line in
                    guard let quote = line.firstIndex(of: "\"") else { return nil }
                    let request = line[line.index(after: quote)...].split(separator: "\"", maxSplits: 1)
                    let parts = request.first?.split(separator: " ") ?? []
                    let status = request.count > 1 ? Int(request[1].split(separator: " ").first ?? "") ?? 0 : 0
                    guard parts.count == 3, !parts[1].contains("islet-log-marker") else { return nil }
                    return (String(parts[0]), String(parts[1]), status)
                }
            }
            usleep(20_000)
        }
        throw ToolFailed(command: ["registry access log"], status: -1, output: "marker request never logged")
    }

    /// Where the registry keeps the bytes of a blob (to corrupt one on purpose).
    func blobDataPath(_ hex: String) -> String {
        "\(storage)/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }
}
