import Foundation
import IsletCore
import IsletTestSupport
import Testing

/// The real `islet` binary against simulated nodes over real SSH, as `ops` with sudo.
/// Each test starts from fresh nodes; the suite runs serially because the nodes' addresses are fixed.
@Suite(.serialized, .freshTestbed(nodes: 3))
struct SSHTestbedTests {
    static let stacks = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/testbed-stacks").path

    /// A workspace folder holding the inventory for nodes 1...count, with optional settings appended.
    func workspace(nodes count: Int = 3, settings: String = "", connectTimeout: Int? = nil) throws -> String {
        let dir = makeTemporaryDirectory("islet-e2e-ssh")
        try Testbed.inventory(nodes: count, to: dir + "/inventory.yaml")
        var text = try String(contentsOfFile: dir + "/inventory.yaml", encoding: .utf8)
        if let connectTimeout {
            text = text.replacingOccurrences(
                of: "  become: sudo\n", with: "  become: sudo\n  connectTimeout: \(connectTimeout)\n")
        }
        if !settings.isEmpty { text += "settings:\n" + settings }
        try text.write(toFile: dir + "/inventory.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    func islet(_ arguments: [String], in dir: String, input: String = "", environment: [String: String] = [:]) throws
        -> IsletProcess.Result
    {
        try IsletProcess.run(
            arguments + ["-i", "inventory.yaml", "--stacks", Self.stacks], in: dir, input: input,
            environment: environment)
    }

    func planJSON(_ dir: String) throws -> [[String: Any]] {
        let result = try islet(["plan", "--json"], in: dir)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (object?["changes"] as? [[String: Any]] ?? []).filter { ($0["action"] as? String) != "no-change" }
    }

    func actions(_ dir: String) throws -> [String] {
        try planJSON(dir).map { "\($0["node"]!) \($0["step"]!) \($0["action"]!)" }
    }

    @Test func freshApplyRendersEveryFileAndASecondPlanHasNothingToDo() throws {
        let dir = try workspace(settings: "  demo: {greeting: \"hi there\"}\n")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let applied = try islet(["apply", "--yes"], in: dir)
        #expect(applied.status == 0, "\(applied.output)")
        #expect(applied.stdout.contains("Apply complete: 13 created."))
        for node in 1...3 {
            let config = try Testbed.exec(node, "cat /etc/demo/app.conf; stat -c '%a %U:%G' /etc/demo/app.conf")
            #expect(
                config == """
                    # demo config for node\(node)
                    node = node\(node)
                    address = \(Testbed.network).\(node)
                    hostname = node\(node)
                    greeting = hi there
                    640 root:root

                    """)
            #expect(try Testbed.exec(node, "cat /etc/demo/settings.ini") == "demo_enabled=yes\n")
        }
        #expect(
            try Testbed.exec(1, "cat /etc/demo/census")
                == (try Testbed.exec(1, "cat /etc/machine-id")).trimmingCharacters(in: .newlines))
        let plan = try islet(["plan", "--detailed-exitcode"], in: dir)
        #expect(plan.status == 0, "\(plan.output)")
        #expect(plan.stdout.contains("No changes."))
    }

    @Test func aDeletedManagedFileIsRepairedOnItsNodeOnly() throws {
        let dir = try workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try islet(["apply", "--yes"], in: dir).status == 0)
        try Testbed.exec(2, "rm /etc/demo/app.conf")
        #expect(try actions(dir) == ["node2 demo/config repair"])
        let repaired = try islet(["apply", "--yes"], in: dir)
        #expect(repaired.status == 0, "\(repaired.output)")
        #expect(try Testbed.exec(2, "grep -c node2 /etc/demo/app.conf") == "3\n")
        #expect(try islet(["plan", "--detailed-exitcode"], in: dir).status == 0)
    }

    @Test func anAddedNodeGetsOnlyItsOwnSteps() throws {
        let dir = try workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try islet(["apply", "--yes"], in: dir).status == 0)
        try Testbed.up(4)
        try Testbed.inventory(nodes: 4, to: dir + "/inventory.yaml")
        #expect(
            try actions(dir) == [
                "node4 demo/directories create", "node4 demo/config create",
                "node4 demo/config-line create", "node4 demo/secret create",
            ])
        #expect(try islet(["apply", "--yes"], in: dir).status == 0)
        #expect(try islet(["plan", "--detailed-exitcode"], in: dir).status == 0)
    }

    @Test func aRemovedNodesStepsAreRemovedAfterConfirmation() throws {
        let dir = try workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try islet(["apply", "--yes"], in: dir).status == 0)
        // Only the inventory changes: the known host keys stay as they were, as they would for a real operator.
        let smaller = makeTemporaryDirectory("islet-e2e-inventory")
        defer { try? FileManager.default.removeItem(atPath: smaller) }
        try Testbed.inventory(nodes: 2, to: smaller + "/inventory.yaml")
        try FileManager.default.removeItem(atPath: dir + "/inventory.yaml")
        try FileManager.default.copyItem(atPath: smaller + "/inventory.yaml", toPath: dir + "/inventory.yaml")
        let plan = try islet(["plan"], in: dir)
        #expect(plan.stdout.contains("Removals (run first):"))
        #expect(
            try actions(dir) == [
                "node3 demo/secret remove", "node3 demo/config-line remove",
                "node3 demo/config remove", "node3 demo/directories remove",
            ])
        let declined = try islet(["apply"], in: dir, input: "no\n")
        #expect(declined.status == 1)
        #expect(try Testbed.exec(3, "test -f /etc/demo/password && echo present") == "present\n")
        let removed = try islet(["apply"], in: dir, input: "yes\n")
        #expect(removed.status == 0, "\(removed.output)")
        #expect(try Testbed.exec(3, "test -e /etc/demo && echo present || echo gone") == "gone\n")
        #expect(try Testbed.exec(1, "test -f /etc/demo/password && echo present") == "present\n")
        #expect(try islet(["plan", "--detailed-exitcode"], in: dir).status == 0)
    }

    @Test func aKilledApplyResumesWithoutRepeatingRecordedSteps() throws {
        let dir = try workspace(settings: "  demo: {delay: 1}\n")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let process = try IsletProcess.start(
            ["apply", "--yes", "-i", "inventory.yaml", "--stacks", Self.stacks], in: dir)
        // Kill -9 once a few steps are recorded and others are still running. Records go to the state's
        // journal as steps finish, so the state is read the way islet reads it.
        let store = StateStore(statePath: dir + "/.islet/state.json")
        var serial = 0
        for _ in 0..<300 where serial < 4 {
            usleep(50_000)
            serial = (try? store.load(cluster: "testbed"))??.serial ?? 0
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        let state = try store.load(cluster: "testbed")
        let nodes = (state?.nodes ?? [:]).mapValues { $0.steps.keys.sorted() }
        let recorded = nodes.flatMap { node, steps in steps.map { "\(node) \($0)" } }
        #expect(recorded.count >= 4)
        // Let scripts orphaned by the kill finish (sshd does not stop a script whose client vanished).
        sleep(3)
        let before = try (1...3).map { try Testbed.exec($0, "cat /var/lib/demo/runs 2>/dev/null; true") }
        let resumed = try islet(["apply", "--yes"], in: dir)
        #expect(resumed.status == 0, "\(resumed.output)")
        // No step recorded before the kill ran again.
        for (node, steps) in nodes {
            let number = Int(node.dropFirst("node".count))!
            let after = try Testbed.exec(number, "cat /var/lib/demo/runs")
            for key in steps {
                let step = String(key.split(separator: "/")[1])
                let count = { (text: String) in text.split(separator: "\n").filter { $0 == step }.count }
                #expect(count(after) == count(before[number - 1]), "\(node) \(key) ran again after it was recorded")
            }
        }
        #expect(try islet(["plan", "--detailed-exitcode"], in: dir).status == 0)
    }

    @Test func aChangedHostKeyIsRefusedWithBothFingerprintsAndOtherNodesGoOn() throws {
        let dir = try workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let known = try String(contentsOfFile: dir + "/.islet/known_hosts", encoding: .utf8)
        let oldKey = known.split(separator: "\n").first { $0.hasPrefix("\(Testbed.network).2 ") }.map(String.init) ?? ""
        try Testbed.run(["rekey", "2"])
        let result = try islet(["apply", "--yes"], in: dir)
        #expect(result.status == 1)
        let expected = try fingerprint(ofKnownHostsLine: oldKey)
        let offered = try fingerprint(ofKnownHostsLine: try Testbed.exec(2, "cat /etc/ssh/ssh_host_ed25519_key.pub"))
        #expect(result.output.contains("node2"))
        #expect(result.output.contains(expected) && result.output.contains(offered), "\(result.output)")
        #expect(try Testbed.exec(1, "test -f /etc/demo/app.conf && echo yes") == "yes\n")
        #expect(try Testbed.exec(3, "test -f /etc/demo/app.conf && echo yes") == "yes\n")
        #expect(try Testbed.exec(2, "test -e /etc/demo && echo yes || echo no") == "no\n")
    }

    /// Host keys are the operator's: another state file must not make accepted keys unknown. A key accepted
    /// once is found again from anywhere, and an unknown key's message lists every file read.
    @Test func hostKeysAreFoundWhateverTheStateFileAndTheMessageListsTheFilesRead() throws {
        let dir = try workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The testbed's keys, beside the inventory where islet used to keep them, are still read.
        let elsewhere = try islet(["plan", "--detailed-exitcode", "--state", dir + "/elsewhere/state.json"], in: dir)
        #expect(elsewhere.status == 2, "\(elsewhere.output)")
        try FileManager.default.removeItem(atPath: dir + "/.islet/known_hosts")
        let unknown = try islet(["plan"], in: dir)
        #expect(unknown.status == 1)
        let files = "/.ssh/known_hosts, \(dir)/.config/islet/known_hosts, \(dir)/.islet/known_hosts)"
        #expect(unknown.output.contains(files), "\(unknown.output)")
        let accepted = try islet(["plan", "--accept-new-host-keys", "--state", dir + "/one/state.json"], in: dir)
        #expect(accepted.status == 0, "\(accepted.output)")
        let modes = try FileManager.default.attributesOfItem(atPath: dir + "/.config/islet/known_hosts")
        #expect((modes[.posixPermissions] as? Int) == 0o600)
        let other = try islet(["plan", "--state", dir + "/two/state.json"], in: dir)
        #expect(other.status == 0, "\(other.output)")
    }

    /// A node whose sshd is gone is reported with why, in the plan and again in the apply's summary, and
    /// the other nodes get every step that does not depend on it.
    @Test func aStoppedNodeIsReportedAsRefusedAndTheOthersComplete() throws {
        let dir = try workspace(connectTimeout: 2)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Testbed.run(["stop", "3"])
        let result = try islet(["apply", "--yes"], in: dir)
        #expect(result.status == 1)
        let failure = "✗ node node3: cannot connect to \(Testbed.network).3 port 22: Connection refused"
        #expect(failureLines(result.output) == [failure, failure], "\(result.output)")
        // Only node1's census reads node3's outputs.
        #expect(result.stdout.contains("Apply incomplete: 8 created, 1 skipped."), "\(result.output)")
        #expect(try recordedNodes(dir) == ["node1", "node2"])
    }

    /// A node whose sshd is frozen (SIGSTOP) accepts TCP and then says nothing: the connect timeout of
    /// 2 s, not the 60 s operation timeout, ends the wait, and the message says so.
    @Test func aFrozenNodeFailsAtTheConnectTimeoutAndTheOthersComplete() throws {
        let dir = try workspace(connectTimeout: 2)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sshd = try #require(try sshdProcess(of: 3))
        kill(sshd, SIGSTOP)
        defer { kill(sshd, SIGCONT) }
        let result = try islet(["apply", "--yes"], in: dir)
        #expect(result.status == 1)
        let failure =
            "✗ node node3: timed out: no SSH handshake from \(Testbed.network).3 port 22 within 2.0 seconds (is it an SSH server?)"
        #expect(failureLines(result.output) == [failure, failure], "\(result.output)")
        // Only node1's census reads node3's outputs.
        #expect(result.stdout.contains("Apply incomplete: 8 created, 1 skipped."), "\(result.output)")
        #expect(try recordedNodes(dir) == ["node1", "node2"])
    }

    @Test func aWrongKeyGivesAnAuthenticationErrorNamingNodeUserAndMethods() throws {
        let dir = try workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let key = dir + "/wrong_ed25519"
        let keygen = Process()
        keygen.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
        keygen.arguments = ["-q", "-t", "ed25519", "-N", "", "-f", key]
        try keygen.run()
        keygen.waitUntilExit()
        var text = try String(contentsOfFile: dir + "/inventory.yaml", encoding: .utf8)
        text = text.replacingOccurrences(of: Testbed.opsKey, with: key)
        try text.write(toFile: dir + "/inventory.yaml", atomically: true, encoding: .utf8)
        let result = try islet(["plan"], in: dir, environment: ["SSH_AUTH_SOCK": ""])
        #expect(result.status == 1)
        #expect(
            failureLines(result.output)
                == (1...3).map {
                    "✗ node node\($0): authentication as 'ops' failed (tried: publickey (\(key))). The server accepts: publickey."
                }, "\(result.output)")
    }

    /// The lines that report a node failure (`✗ …`), trimmed.
    func failureLines(_ output: String) -> [String] {
        output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("✗ ") }
    }

    /// The nodes that have steps recorded in the state.
    func recordedNodes(_ dir: String) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/.islet/state.json"))
        let state = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return ((state?["nodes"] as? [String: Any]) ?? [:]).keys.sorted()
    }

    /// The pid of node N's sshd listener, from `testbed status`.
    func sshdProcess(of node: Int) throws -> pid_t? {
        let line = try Testbed.run(["status"]).split(separator: "\n").first { $0.hasPrefix("node\(node) ") }
        return line?.split(separator: " ").last.flatMap { pid_t($0) }
    }

    @Test func aSecretWithShellMetacharactersArrivesByteForByteAndNeverInOutput() throws {
        let secret = "it's a \"quoted\" `tick` $(touch ./pwned)\nsecond line"
        let dir = try workspace(settings: "  demo: {token: {fromEnv: ISLET_E2E_TOKEN}}\n")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try islet(["apply", "--yes"], in: dir, environment: ["ISLET_E2E_TOKEN": secret])
        #expect(result.status == 0, "\(result.output)")
        for node in 1...3 {
            #expect(try Testbed.exec(node, "cat /etc/demo/token") == secret)
            #expect(try Testbed.exec(node, "ls /home/ops/pwned /root/pwned /pwned 2>/dev/null; true") == "")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/pwned"))
        #expect(!result.output.contains("touch ./pwned"))
        var logs = ""
        for case let file as String in FileManager.default.enumerator(atPath: dir + "/.islet")! {
            logs += (try? String(contentsOfFile: dir + "/.islet/" + file, encoding: .utf8)) ?? ""
        }
        #expect(logs.contains("token written: ***"))
        #expect(!logs.contains("touch ./pwned"))
        #expect(!logs.contains("second line"))
    }

    @Test func isletSSHReportsTheConnectionAndRunsACommandAsRoot() throws {
        let dir = try workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = try islet(["ssh", "node2"], in: dir)
        #expect(report.status == 0, "\(report.output)")
        #expect(report.stdout.hasPrefix("node2: connected, ops@\(Testbed.network).2:22, host key SHA256:"))
        let command = try IsletProcess.run(
            [
                "ssh", "node3", "-i", "inventory.yaml", "--stacks", Self.stacks, "--",
                "id -u; hostname; exit 7",
            ], in: dir)
        #expect(command.stdout == "0\nnode3\n")
        #expect(command.status == 7)
        let unknown = try islet(["ssh", "node9"], in: dir)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no node named node9"))
    }

    /// `ssh-keygen -l` of one known_hosts or .pub line: "SHA256:…".
    func fingerprint(ofKnownHostsLine line: String) throws -> String {
        let file = NSTemporaryDirectory() + "islet-fp-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try (line + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
        process.arguments = ["-lf", file]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.split(separator: " ").first { $0.hasPrefix("SHA256:") }.map(String.init) ?? "?"
    }
}
