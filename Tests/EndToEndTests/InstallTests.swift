import Foundation
import IsletTestSupport
import Testing

/// islet as `make install` lays it out, used from a folder that holds nothing of islet's.
@Suite struct InstallTests {
    /// Runs the Makefile's copy step for the binary under test into `destination` with `PREFIX=/opt/islet`.
    func install(into destination: String) throws {
        let log = destination + ".log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let status = waitForExit(
            try spawnProcess(
                [
                    "/usr/bin/make", "-s", "-C", Testbed.root, "install-files", "DESTDIR=\(destination)",
                    "PREFIX=/opt/islet", "BINARY=\(IsletProcess.binary)",
                ], stdoutPath: log))
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        try #require(status == 0, "make install-files failed: \(output)")
    }

    @Test func initValidateAndSSHWorkFromAnEmptyFolderWithTheInstalledStacks() throws {
        let root = makeTemporaryDirectory("islet-e2e-install")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try install(into: root + "/dest")
        let islet = root + "/dest/opt/islet/bin/islet"
        let installedStacks = root + "/dest/opt/islet/share/islet/stacks"
        #expect(FileManager.default.isExecutableFile(atPath: islet))
        #expect(FileManager.default.fileExists(atPath: installedStacks + "/base/stack.yaml"))
        // Installed again: still one copy of the stacks, not stacks/stacks.
        try install(into: root + "/dest")
        #expect(!FileManager.default.fileExists(atPath: installedStacks + "/stacks"))

        let empty = root + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let initialised = try IsletProcess.run(["init"], in: empty, executable: islet)
        #expect(initialised.status == 0, "\(initialised.output)")
        let validated = try IsletProcess.run(["validate"], in: empty, executable: islet)
        #expect(validated.status == 0, "\(validated.output)")
        #expect(validated.stdout.hasPrefix("inventory.yaml: valid: "), "\(validated.output)")
        let inventory = try String(contentsOfFile: empty + "/inventory.yaml", encoding: .utf8)
        let node = try #require(
            inventory.split(separator: "\n").first { $0.hasPrefix("  - name: ") }?.split(separator: " ").last)
        let ssh = try IsletProcess.run(
            ["ssh", "--local", empty + "/nodes", String(node), "--", "echo", "reached", "$PWD"], in: empty,
            executable: islet)
        #expect(ssh.status == 0, "\(ssh.output)")
        #expect(ssh.stdout == "reached \(empty)/nodes/\(node)\n", "\(ssh.output)")
    }

    @Test func aBinaryWithoutStacksNamesEveryPlaceItLooked() throws {
        let root = makeTemporaryDirectory("islet-e2e-install-bare")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        #expect(waitForExit(try spawnProcess(["/bin/cp", IsletProcess.binary, root + "/bin/islet"])) == 0)
        let empty = root + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let initialised = try IsletProcess.run(["init"], in: empty, executable: root + "/bin/islet")
        #expect(initialised.status == 1)
        #expect(
            initialised.stderr.hasPrefix(
                "error: stacks: no stacks found; searched stacks, \(empty)/stacks, \(empty)/../stacks and \(root)/share/islet/stacks; expected folders that each hold a stack.yaml (or --stacks DIR)\n"
            ), "\(initialised.output)")
    }
}
