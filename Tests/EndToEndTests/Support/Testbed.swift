import Foundation
import Testing

/// Drives `Tests/testbed/testbed`: simulated nodes with their own sshd on 127.0.10.N.
enum Testbed {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let script = root + "/Tests/testbed/testbed"
    /// Apart from the demo's folder, so tests never touch a demo someone left running.
    /// `ISLET_E2E_TESTBED_DIR` and `ISLET_E2E_TESTBED_NET` move them, so two checkouts can test at once.
    static let directory =
        ProcessInfo.processInfo.environment["ISLET_E2E_TESTBED_DIR"] ?? "/var/tmp/islet-testbed-tests"
    /// Node N listens on 127.0.20.N: apart from the demo (127.0.10) and the benchmarks.
    static let network = ProcessInfo.processInfo.environment["ISLET_E2E_TESTBED_NET"] ?? "127.0.20"

    @discardableResult
    static func run(_ arguments: [String], allowFailure: Bool = false) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["ISLET_TESTBED_DIR"] = directory
        environment["ISLET_TESTBED_NET"] = network
        let outputPath = NSTemporaryDirectory() + "islet-testbed-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let status = try spawnAndWait([script] + arguments, environment: environment, outputPath: outputPath)
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        if status != 0 && !allowFailure {
            throw TestbedError(message: "testbed \(arguments.joined(separator: " ")) failed: \(text)")
        }
        return text
    }

    static func up(_ count: Int) throws { try run(["up", String(count)]) }
    static func down() { _ = try? run(["down"], allowFailure: true) }

    /// Writes the inventory for nodes 1...count and their host keys to `.islet/known_hosts` beside it.
    static func inventory(nodes count: Int, to path: String) throws {
        try run(["inventory", "--nodes", String(count), "--out", path])
    }

    /// Runs a shell command as root inside node N.
    @discardableResult
    static func exec(_ node: Int, _ command: String) throws -> String {
        try run(["exec", String(node), "--", "sh", "-c", command])
    }

    static var opsKey: String { directory + "/keys/ops_ed25519" }
}

struct TestbedError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Fresh simulated nodes around each test of a suite, stopped afterwards even when the test fails.
struct FreshTestbed: TestTrait, SuiteTrait, TestScoping {
    var nodes: Int
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void)
        async throws
    {
        guard !test.isSuite else { return try await function() }
        Testbed.down()
        try Testbed.up(nodes)
        defer { Testbed.down() }
        try await function()
    }
}

extension Trait where Self == FreshTestbed {
    static func freshTestbed(nodes: Int) -> FreshTestbed { FreshTestbed(nodes: nodes) }
}
