import Foundation
import Testing

/// The real binary over the local transport: what happens between processes (locks, kills).
@Suite struct LocalApplyTests {
    /// A platform folder with one stack whose step sleeps `seconds`, so a test can act while it runs.
    func platform(seconds: Double = 0) -> String {
        makeLocalPlatform(
            prefix: "islet-e2e-local", stack: "slow",
            steps: """
                  - name: first
                    check: test -f "$ISLET_ROOT/first"
                    apply: sleep \(seconds); touch "$ISLET_ROOT/first"
                  - name: second
                    after: [first]
                    check: test -f "$ISLET_ROOT/second"
                    apply: touch "$ISLET_ROOT/second"

                """)
    }

    let arguments = ["-i", "inventory.yaml", "--stacks", "stacks", "--local", "nodes"]

    @Test func aSecondApplyFailsAtOnceNamingTheLockHolder() throws {
        let dir = platform(seconds: 3)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try IsletProcess.start(["apply", "--yes"] + arguments, in: dir)
        // Wait until the first apply holds the lock (its holder line is written right after flock).
        var holder = ""
        for _ in 0..<100 where holder.isEmpty {
            holder = (try? String(contentsOfFile: dir + "/.islet/state.lock", encoding: .utf8)) ?? ""
            usleep(50_000)
        }
        let second = try IsletProcess.run(["apply", "--yes"] + arguments, in: dir)
        first.waitUntilExit()
        #expect(second.status == 1)
        #expect(second.stderr.contains("another islet holds the state lock (pid \(first.processIdentifier), user "))
        #expect(second.stderr.contains("running '\(IsletProcess.binary) apply --yes"))
        #expect(first.terminationStatus == 0)
    }

    @Test func aKillBetweenStateWriteAndRenameLeavesTheOldStateAndTheNextApplyCompletes() throws {
        let dir = platform()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Apply "first" only, then crash while recording "second".
        let seeded = try IsletProcess.run(["apply", "--yes"] + arguments, in: dir)
        #expect(seeded.status == 0)
        try FileManager.default.removeItem(atPath: dir + "/nodes/n1/second")
        let before = try String(contentsOfFile: dir + "/.islet/state.json", encoding: .utf8)
        let crashed = try IsletProcess.run(
            ["apply", "--yes"] + arguments, in: dir,
            environment: ["ISLET_FAULT_INJECTION": "kill-before-rename"])
        #expect(crashed.status == 9, "the process should have been killed by SIGKILL")
        #expect(try String(contentsOfFile: dir + "/.islet/state.json", encoding: .utf8) == before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir + "/.islet").filter {
            $0.contains(".tmp-")
        }
        #expect(leftovers.count == 1, "the killed writer leaves its temporary file")
        let resumed = try IsletProcess.run(["apply", "--yes"] + arguments, in: dir)
        #expect(resumed.status == 0)
        let plan = try IsletProcess.run(["plan", "--detailed-exitcode"] + arguments, in: dir)
        #expect(plan.status == 0, "plan after the resumed apply: \(plan.output)")
        let after = try FileManager.default.contentsOfDirectory(atPath: dir + "/.islet").filter { $0.contains(".tmp-") }
        #expect(after.isEmpty, "the next apply, holding the lock, removes the leftover")
    }

    @Test func aCorruptStateIsRefusedAndLeftAsItWas() throws {
        let dir = platform()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/.islet", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/.islet/state.json", contents: Data("garbage".utf8))
        let result = try IsletProcess.run(["apply", "--yes"] + arguments, in: dir)
        #expect(result.status == 1)
        #expect(result.stderr.contains("state file is corrupt"))
        #expect(try String(contentsOfFile: dir + "/.islet/state.json", encoding: .utf8) == "garbage")
        #expect(!FileManager.default.fileExists(atPath: dir + "/nodes"))
    }

    @Test func planExitCodesAndSavedPlans() throws {
        let dir = platform()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let changes = try IsletProcess.run(["plan", "--detailed-exitcode", "--out", "plan.json"] + arguments, in: dir)
        #expect(changes.status == 2)
        #expect(changes.stdout.contains("Plan: 2 to create, 0 to update, 0 to repair, 0 to remove."))
        let json = try IsletProcess.run(["plan", "--json"] + arguments, in: dir)
        let decoded = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((decoded?["changes"] as? [[String: Any]])?.count == 2)
        let applied = try IsletProcess.run(["apply", "plan.json"] + arguments, in: dir)
        #expect(applied.status == 0, "\(applied.output)")
        let again = try IsletProcess.run(["apply", "plan.json"] + arguments, in: dir)
        #expect(again.status == 1)
        #expect(
            again.stderr.contains("the saved plan is stale: ")
                && again.stderr.contains("the state moved from serial 0 to 2"))
        let none = try IsletProcess.run(["plan", "--detailed-exitcode"] + arguments, in: dir)
        #expect(none.status == 0)
        #expect(none.stdout.contains("No changes."))
    }

    @Test func applyWithoutYesAsksAndAnythingButYesCancels() throws {
        let dir = platform()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cancelled = try IsletProcess.run(["apply"] + arguments, in: dir, input: "y\n")
        #expect(cancelled.status == 1)
        #expect(cancelled.stdout.contains("Only 'yes' is accepted"))
        #expect(cancelled.stdout.contains("Apply cancelled; nothing was changed."))
        #expect(!FileManager.default.fileExists(atPath: dir + "/nodes/n1/first"))
        let confirmed = try IsletProcess.run(["apply"] + arguments, in: dir, input: "yes\n")
        #expect(confirmed.status == 0)
        #expect(FileManager.default.fileExists(atPath: dir + "/nodes/n1/second"))
    }

    @Test func ctrlCLetsTheRunningStepFinishAndTheNextApplyResumes() throws {
        let dir = platform(seconds: 1.5)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let errors = Pipe()
        let process = try IsletProcess.start(["apply", "--yes"] + arguments, in: dir, stderr: errors)
        // Interrupt while "first" runs (it sleeps 1.5 s); "second" must then never start.
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: dir + "/.islet/runs") { usleep(20_000) }
        usleep(500_000)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 1)
        #expect(stderr.contains("Interrupted: no new steps start; waiting for running ones"))
        #expect(FileManager.default.fileExists(atPath: dir + "/nodes/n1/first"), "the running step finished")
        #expect(!FileManager.default.fileExists(atPath: dir + "/nodes/n1/second"), "no new step started")
        let resumed = try IsletProcess.run(["apply", "--yes"] + arguments, in: dir)
        #expect(resumed.status == 0)
        #expect(resumed.stdout.contains("+ second"))
        #expect(!resumed.stdout.contains("+ first"), "the step recorded before the interrupt does not run again")
    }

    /// On a terminal, apply redraws a status line of what runs where; piped, it prints plain lines.
    @Test func aTerminalGetsALiveStatusLineAndAPipePlainLines() throws {
        let dir = platform(seconds: 1.5)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // `script` gives islet a pseudo-terminal, as an operator's shell would.
        let command = ([IsletProcess.binary, "apply", "--yes"] + arguments).joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment["TERM"] = "xterm"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.contains(try Regex(#"running n1: slow/first \d+\.\ds"#)), "\(text)")
        #expect(text.contains("\r\u{1B}[2K"), "the status line is cleared before the next line")
        #expect(!text.contains("n1: create slow/first ..."))

        try FileManager.default.removeItem(atPath: dir + "/nodes/n1/first")
        let piped = try IsletProcess.run(["apply", "--yes"] + arguments, in: dir)
        #expect(piped.stdout.contains("n1: repair slow/first ..."))
        #expect(!piped.stdout.contains("running n1"))
    }
}
