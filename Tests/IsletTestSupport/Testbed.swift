import Foundation

/// Drives `Tests/testbed/testbed`: simulated nodes with their own sshd on NET.N.
///
/// Every test target runs in one process and its suites run in parallel, while the testbed's addresses are
/// fixed: `fresh(nodes:_:)` lets one test at a time have the nodes, whichever target it is in.
public enum Testbed {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    public static let script = root + "/Tests/testbed/testbed"
    /// Apart from the demo's folder, so tests never touch a demo someone left running.
    /// `ISLET_E2E_TESTBED_DIR` and `ISLET_E2E_TESTBED_NET` move them, so two checkouts can test at once.
    public static let directory =
        ProcessInfo.processInfo.environment["ISLET_E2E_TESTBED_DIR"] ?? "/var/tmp/islet-testbed-tests"
    /// Node N listens on 127.0.20.N: apart from the demo (127.0.10) and the benchmarks.
    public static let network = ProcessInfo.processInfo.environment["ISLET_E2E_TESTBED_NET"] ?? "127.0.20"

    @discardableResult
    public static func run(_ arguments: [String], allowFailure: Bool = false) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["ISLET_TESTBED_DIR"] = directory
        environment["ISLET_TESTBED_NET"] = network
        let outputPath = NSTemporaryDirectory() + "islet-testbed-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let status = waitForExit(
            try spawnProcess([script] + arguments, environment: environment, stdoutPath: outputPath))
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        if status != 0 && !allowFailure {
            throw TestbedError(message: "testbed \(arguments.joined(separator: " ")) failed: \(text)")
        }
        return text
    }

    public static func up(_ count: Int) throws { try run(["up", String(count)]) }
    public static func down() { _ = try? run(["down"], allowFailure: true) }

    /// Writes the inventory for nodes 1...count and their host keys to `.islet/known_hosts` beside it.
    public static func inventory(nodes count: Int, to path: String) throws {
        try run(["inventory", "--nodes", String(count), "--out", path])
    }

    /// Runs a shell command as root inside node N.
    @discardableResult
    public static func exec(_ node: Int, _ command: String) throws -> String {
        try run(["exec", String(node), "--", "sh", "-c", command])
    }

    public static var opsKey: String { directory + "/keys/ops_ed25519" }

    /// Node N's address.
    public static func address(_ node: Int) -> String { "\(network).\(node)" }

    /// Runs `body` with fresh nodes 1...count, alone: no other test holds the testbed meanwhile. The nodes
    /// are stopped afterwards, also when `body` throws.
    public static func fresh(nodes count: Int, _ body: () async throws -> Void) async throws {
        await owner.acquire()
        do {
            down()
            try up(count)
            try await body()
            down()
            await owner.release()
        } catch {
            down()
            await owner.release()
            throw error
        }
    }

    private static let owner = TestbedOwner()
}

/// One holder of the testbed at a time; the others wait their turn.
private actor TestbedOwner {
    private var held = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        guard held else {
            held = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { held = false } else { waiting.removeFirst().resume() }
    }
}

public struct TestbedError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    public init(message: String) { self.message = message }
}
