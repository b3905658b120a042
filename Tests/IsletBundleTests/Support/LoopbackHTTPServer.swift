import Foundation
import IsletBundle
import IsletTestSupport

/// A real HTTP(S) server or forward proxy on a loopback address for one test: `http_server.py` beside
/// this file (Python 3 stdlib), on a port it picks itself, stopped when this object goes away.
///
/// It serves `root`, takes behaviour per path from `setRules` (fail N times, cut the body half-way,
/// ignore Range, redirect, stall) and logs every request it sees, which `requests()` reads back.
final class LoopbackHTTPServer: @unchecked Sendable {
    /// A scratch folder of this server's own: its log, rules, port file; `root` is inside it.
    let directory: String
    let root: String
    let host: String
    let port: Int
    let scheme: String
    private let pid: pid_t
    private let lock = NSLock()
    private var stopped = false

    private static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("http_server.py").path

    /// - Parameters:
    ///   - host: A 127.0.0.0/8 address; another address is another host to libcurl (for redirects).
    ///   - tls: Serve HTTPS with this certificate.
    ///   - proxy: Be a forward proxy (absolute URLs and CONNECT, to loopback only) instead of a file server.
    init(host: String = "127.0.0.1", tls: TestCertificates? = nil, proxy: Bool = false) throws {
        precondition(host.hasPrefix("127."), "test servers listen on loopback only")
        directory = try makeScratchDirectory("islet-http")
        root = directory + "/root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        self.host = host
        scheme = tls == nil ? "http" : "https"
        var arguments = [
            "/usr/bin/python3", Self.script, "--host", host, "--root", root, "--port-file", directory + "/port",
            "--log", directory + "/requests.jsonl", "--rules", directory + "/rules.json",
        ]
        if let tls { arguments += ["--cert", tls.serverCertificate, "--key", tls.serverKey] }
        if proxy { arguments.append("--proxy") }
        let pid = try spawnProcess(arguments, stdoutPath: directory + "/server.log")
        self.pid = pid
        var port: Int?
        let deadline = Date().addingTimeInterval(20)
        while port == nil && Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                stopped = true
                let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
                throw TestServerError(message: "http_server.py exited (\(exitCode(fromWaitStatus: status))): \(log)")
            }
            port = (try? String(contentsOfFile: directory + "/port", encoding: .utf8)).flatMap { Int($0) }
            if port == nil { usleep(20_000) }
        }
        guard let port else {
            kill(pid, SIGKILL)
            _ = waitForExit(pid)
            stopped = true
            throw TestServerError(message: "http_server.py did not start listening within 20 s")
        }
        self.port = port
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var baseURL: String { "\(scheme)://\(host):\(port)" }

    func url(_ path: String) -> String { baseURL + path }

    func stop() {
        lock.withLock {
            guard !stopped else { return }
            stopped = true
            kill(pid, SIGTERM)
            _ = waitForExit(pid)
        }
    }

    /// Writes a file under `root` and returns its path there.
    @discardableResult
    func serve(_ path: String, bytes: [UInt8]) throws -> String {
        let full = root + path
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        return full
    }

    /// Replaces the per-path rules (see http_server.py): e.g. `["/f": ["fail_status": 503, "fail_times": 2]]`.
    /// The server reads them on every request; counters of "_times" rules are kept by the server.
    func setRules(_ rules: [String: [String: Any]]) throws {
        let data = try JSONSerialization.data(withJSONObject: rules)
        try data.write(to: URL(fileURLWithPath: directory + "/rules.json"), options: .atomic)
    }

    /// Every request seen so far, oldest first.
    func requests() throws -> [RecordedRequest] {
        let text = (try? String(contentsOfFile: directory + "/requests.jsonl", encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map {
            try JSONDecoder().decode(RecordedRequest.self, from: Data($0.utf8))
        }
    }

    /// The requests for `path` (the request target, so a proxy's are full URLs).
    func requests(to path: String) throws -> [RecordedRequest] {
        try requests().filter { $0.path == path }
    }
}

struct RecordedRequest: Decodable {
    var method: String
    var path: String
    /// Lowercased names.
    var headers: [String: String]
    var bodyLength: Int?
    var bodySHA256: String?

    enum CodingKeys: String, CodingKey {
        case method, path, headers
        case bodyLength = "body_length"
        case bodySHA256 = "body_sha256"
    }
}

struct TestServerError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A CA made by openssl for one test, and a server certificate it signed for 127.0.0.1.
struct TestCertificates {
    let caCertificate: String
    let serverCertificate: String
    let serverKey: String

    init(in directory: String) throws {
        caCertificate = directory + "/ca.pem"
        serverCertificate = directory + "/server.pem"
        serverKey = directory + "/server.key"
        let caKey = directory + "/ca.key"
        let request = directory + "/server.csr"
        let extensions = directory + "/server.ext"
        try "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n".write(
            toFile: extensions, atomically: true, encoding: .utf8)
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try runTool(
            ["/usr/bin/openssl", "req", "-x509"] + curve
                + ["-keyout", caKey, "-out", caCertificate, "-days", "2", "-subj", "/CN=islet test CA"], in: directory)
        try runTool(
            ["/usr/bin/openssl", "req"] + curve + ["-keyout", serverKey, "-out", request, "-subj", "/CN=127.0.0.1"],
            in: directory)
        try runTool(
            [
                "/usr/bin/openssl", "x509", "-req", "-in", request, "-CA", caCertificate, "-CAkey", caKey,
                "-CAcreateserial", "-out", serverCertificate, "-days", "2", "-extfile", extensions,
            ], in: directory)
    }
}

/// Runs a tool to completion; throws with its output when it fails.
func runTool(_ arguments: [String], in directory: String) throws {
    let output = directory + "/tool-\(UUID().uuidString).log"
    defer { try? FileManager.default.removeItem(atPath: output) }
    let status = waitForExit(try spawnProcess(arguments, stdoutPath: output))
    guard status == 0 else {
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        throw TestServerError(message: "\(arguments.joined(separator: " ")) exited \(status): \(text)")
    }
}

/// A fresh folder under the temporary directory, for one test.
func makeScratchDirectory(_ prefix: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Bytes that differ at every offset, so a misplaced range shows in the digest (a linear congruential
/// sequence, eight bytes per step: test builds are unoptimised, and files here are megabytes).
func patternBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var words = [UInt64](repeating: 0, count: (count + 7) / 8)
    var state = seed
    for index in words.indices {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        words[index] = state
    }
    return words.withUnsafeBytes { Array($0.prefix(count)) }
}

/// The hex sha256 of `bytes`.
func sha256Hex(_ bytes: [UInt8]) -> String {
    var stream = SHA256Stream()
    stream.update(bytes)
    return stream.hexDigest()
}

extension HTTPOptions {
    /// Defaults, but no proxy from the environment of whoever runs the tests: test servers are on loopback.
    static var loopback: HTTPOptions { HTTPOptions(environment: [:]) }
}
