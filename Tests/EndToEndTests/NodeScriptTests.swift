import Foundation
import IsletTestSupport
import Testing

/// How islet's scripts behave on a node: nothing in argv, one run at a time, nothing left behind.
@Suite struct NodeScriptTests {
    /// one → two (slow, logs its start and end) → three, on node n1 of a `--local` platform; the steps log
    /// to `steps.log` in the platform's folder.
    func platform() -> String {
        let log = "\"$ISLET_ROOT/../../steps.log\""
        let steps = """
              - name: one
                check: test -f "$ISLET_ROOT/one"
                apply: echo one >> \(log) && touch "$ISLET_ROOT/one"
              - name: two
                after: [one]
                check: test -f "$ISLET_ROOT/two"
                apply: |
                  echo "two start" >> \(log)
                  touch "$ISLET_ROOT/two-started"
                  sleep 2
                  touch "$ISLET_ROOT/two"
                  echo "two end" >> \(log)
              - name: three
                after: [two]
                check: test -f "$ISLET_ROOT/three"
                apply: echo three >> \(log) && touch "$ISLET_ROOT/three"
            """
        return makeLocalPlatform(prefix: "islet-e2e-orphan", stack: "slow", steps: steps)
    }

    /// islet killed with SIGKILL in the middle of a batch, and run again at once: the step it recorded does
    /// not run again, the orphaned script on the node finishes before the new run touches the node (the
    /// node's run lock, with a note saying so), and no working folder is left behind.
    @Test func killedMidBatchThenRunAgainAtOnce() throws {
        let dir = platform()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = dir + "/steps.log"
        let arguments = ["-i", "inventory.yaml", "--stacks", "stacks", "--local", "nodes"]
        let first = try IsletProcess.start(["apply", "--yes"] + arguments, in: dir)
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: dir + "/nodes/n1/two-started") {
            usleep(10_000)
        }
        #expect(FileManager.default.fileExists(atPath: dir + "/nodes/n1/two-started"))
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()

        let again = try IsletProcess.run(["apply", "--yes"] + arguments, in: dir)
        #expect(again.status == 0, "\(again.output)")
        #expect(again.output.contains("n1: waiting for an earlier islet script still running there"), "\(again.output)")
        #expect(!again.stdout.contains("slow/one"), "one was recorded before the kill: \(again.stdout)")
        // The orphan's `two` ended before anything else ran on the node: starts and ends alternate.
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.first == "one" && lines.last == "three", "\(lines)")
        let twos = lines.filter { $0.hasPrefix("two") }
        #expect(twos.count >= 2 && twos.count % 2 == 0, "\(lines)")
        for (index, line) in twos.enumerated() {
            #expect(line == (index % 2 == 0 ? "two start" : "two end"), "\(lines)")
        }
        #expect(lines.filter { $0 == "one" }.count == 1)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir + "/nodes/n1/var/lib/islet/tmp")
        #expect(leftovers.isEmpty, "working folders left on the node: \(leftovers)")
        let plan = try IsletProcess.run(["plan", "--detailed-exitcode"] + arguments, in: dir)
        #expect(plan.status == 0, "\(plan.output)")
    }

    /// Rendered files land whole with their mode and owner (`user:group` or `user` alone), in folders made
    /// for them; the uploaded copies and the temporary `.islet-new` files are gone when the script ends.
    @Test func placedFilesHaveTheirModeAndOwnerAndNothingStagedIsLeft() throws {
        let steps = """
              - name: files
                files:
                  - {template: templates/a.conf, destination: /etc/deep/a/a.conf, mode: "0640", owner: "daemon:bin"}
                  - {template: templates/b.conf, destination: /etc/b.conf, mode: "0600", owner: daemon}
                check: "true"
                apply: "true"
            """
        let dir = makeLocalPlatform(prefix: "islet-e2e-place", stack: "files", steps: steps)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(
            atPath: dir + "/stacks/files/templates", withIntermediateDirectories: true)
        try "a\n".write(toFile: dir + "/stacks/files/templates/a.conf", atomically: true, encoding: .utf8)
        try "b\n".write(toFile: dir + "/stacks/files/templates/b.conf", atomically: true, encoding: .utf8)
        let arguments = ["-i", "inventory.yaml", "--stacks", "stacks", "--local", "nodes"]
        let apply = try IsletProcess.run(["apply", "--yes"] + arguments, in: dir)
        #expect(apply.status == 0, "\(apply.output)")

        let node = dir + "/nodes/n1"
        let a = try FileManager.default.attributesOfItem(atPath: node + "/etc/deep/a/a.conf")
        #expect((a[.posixPermissions] as? Int) == 0o640)
        #expect((a[.ownerAccountName] as? String) == "daemon" && (a[.groupOwnerAccountName] as? String) == "bin")
        let b = try FileManager.default.attributesOfItem(atPath: node + "/etc/b.conf")
        #expect((b[.posixPermissions] as? Int) == 0o600)
        #expect((b[.ownerAccountName] as? String) == "daemon" && (b[.groupOwnerAccountName] as? String) == "root")
        #expect(try String(contentsOfFile: node + "/etc/b.conf", encoding: .utf8) == "b\n")
        let staged = try FileManager.default.contentsOfDirectory(atPath: node + "/.islet-staging")
        #expect(staged.isEmpty, "uploaded copies left on the node: \(staged)")
        let etc = try FileManager.default.contentsOfDirectory(atPath: node + "/etc")
        #expect(!etc.contains { $0.hasSuffix(".islet-new") }, "\(etc)")
        let plan = try IsletProcess.run(["plan", "--detailed-exitcode"] + arguments, in: dir)
        #expect(plan.status == 0, "\(plan.output)")
    }
}

/// Over real SSH: what the node's process table shows while a step runs.
extension SSHTestbedTests {
    @Test func stepScriptsAndInputsNeverAppearInTheNodesProcessTable() throws {
        let dir = try workspace(nodes: 1)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let stacks = dir + "/argv-stacks/argv"
        try FileManager.default.createDirectory(atPath: stacks, withIntermediateDirectories: true)
        let stack = """
            apiVersion: islet/v1
            kind: Stack
            name: argv
            roles: [{name: control-plane}, {name: worker}, {name: registry}, {name: git}]
            steps:
              - name: slow
                inputs: {NEEDLE: {value: "input-value-3f9a"}}
                check: test -f /var/tmp/argv-slow-done
                apply: |
                  # script-text-7c2e
                  touch /var/tmp/argv-slow-started
                  sleep 3
                  touch /var/tmp/argv-slow-done
            """
        try stack.write(toFile: stacks + "/stack.yaml", atomically: true, encoding: .utf8)
        let process = try IsletProcess.start(
            ["apply", "--yes", "-i", "inventory.yaml", "--stacks", dir + "/argv-stacks"], in: dir)
        var table = ""
        for _ in 0..<300 {
            if (try? Testbed.exec(1, "test -f /var/tmp/argv-slow-started && echo yes")) == "yes\n" {
                table = try Testbed.exec(1, "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\"; echo; done")
                break
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(table.contains("sleep 3"), "the step was running while the table was read: \(table)")
        #expect(!table.contains("script-text-7c2e"), "a step script is in argv: \(table)")
        #expect(!table.contains("input-value-3f9a"), "an input is in argv: \(table)")
        #expect(!table.contains("ISLET_"), "islet's own script is in argv: \(table)")
    }
}
