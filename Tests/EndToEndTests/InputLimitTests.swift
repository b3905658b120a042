import Foundation
import Testing

/// The real binary on inputs that must be refused cheaply, or accepted with a warning: alias bombs through
/// `list` and `map` settings under hard memory and CPU limits, a fresh `islet init` on a machine without
/// ~/.ssh/id_ed25519, and the messages for a missing folder.
@Suite struct InputLimitTests {
    /// The stacks islet ships, which `islet init` is meant to be run with.
    static let shippedStacks = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("stacks").standardizedFileURL.path

    /// A stack with a `map` and a `list` setting that a step reads: the settings islet reads as whole values.
    static let stack = """
        apiVersion: islet/v1
        kind: Stack
        name: bombs
        roles:
          - {name: worker, min: 1}
        settings:
          - {key: labels, type: map, default: {}, description: labels of every node}
          - {key: mirrors, type: list, default: [], description: registry mirrors}
        steps:
          - name: show
            inputs:
              LABELS: settings.labels
              MIRRORS: settings.mirrors
            check: "true"
            apply: "true"

        """

    /// Nine levels of aliases, each repeating the one before ten times: 10⁹ values once expanded.
    static func laughs(indent: String, key: (Int) -> String) -> String {
        var lines = [indent + key(1) + "&l1 [" + Array(repeating: "lol", count: 10).joined(separator: ", ") + "]"]
        for level in 2...9 {
            let items = Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ")
            lines.append(indent + key(level) + "&l\(level) [\(items)]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func inventory(settings: String) -> String {
        """
        apiVersion: islet/v1
        kind: Inventory
        cluster: {name: bombs}
        nodes:
          - {name: n1, address: 127.0.21.1, roles: [worker]}
        settings:

        """ + settings
    }

    @Test(
        "an alias bomb in a list or map setting is refused at its line within 512 MiB and 10 s of CPU",
        arguments: [
            ("mirrors", "  mirrors:\n" + laughs(indent: "    ", key: { _ in "- " }), "12:7"),
            ("labels", "  labels:\n" + laughs(indent: "    ", key: { "k\($0): " }), "12:9"),
        ])
    func aliasBomb(_ setting: String, _ yaml: String, _ place: String) throws {
        let root = makeTemporaryDirectory("islet-e2e-alias-bomb")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/stacks/bombs", withIntermediateDirectories: true)
        try Self.stack.write(toFile: root + "/stacks/bombs/stack.yaml", atomically: true, encoding: .utf8)
        try Self.inventory(settings: yaml).write(toFile: root + "/inventory.yaml", atomically: true, encoding: .utf8)
        let result = try IsletProcess.run(
            ["validate", "-i", "inventory.yaml"], in: root,
            limits: .init(addressSpaceKiB: 512 << 10, cpuSeconds: 10))
        #expect(result.status == 1, "setting \(setting): \(result.output)")
        #expect(
            result.stderr.contains(
                "inventory.yaml:\(place): aliases expand to more than 100000 values or 16 MiB of text"),
            "setting \(setting): \(result.stderr)")
    }

    @Test(
        "init then validate on a machine without ~/.ssh/id_ed25519: a warning, exit 0; plan without an agent: an error")
    func initThenValidateWithoutKey() throws {
        let root = makeTemporaryDirectory("islet-e2e-init-no-key")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let home = root + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let environment = ["HOME": home, "SSH_AUTH_SOCK": "", "ISLET_SSH_PASSWORD": ""]
        let initialised = try IsletProcess.run(
            ["init", "--stacks", Self.shippedStacks], in: root, environment: environment)
        #expect(initialised.status == 0, "\(initialised.output)")
        // The example's addresses are not loopback ones; this test never connects, but keeps to loopback anyway.
        let inventory = try String(contentsOfFile: root + "/inventory.yaml", encoding: .utf8)
            .replacingOccurrences(of: "10.20.0.", with: "127.0.21.")
        try inventory.write(toFile: root + "/inventory.yaml", atomically: true, encoding: .utf8)
        let line =
            try #require(
                inventory.split(separator: "\n", omittingEmptySubsequences: false)
                    .firstIndex { $0.contains("identityFile: ~/.ssh/id_ed25519") }) + 1
        let options = ["-i", "inventory.yaml", "--stacks", Self.shippedStacks]
        let validated = try IsletProcess.run(["validate"] + options, in: root, environment: environment)
        #expect(validated.status == 0, "\(validated.output)")
        #expect(
            validated.stderr.contains(
                "warning: inventory.yaml:\(line):17: 'ssh.identityFile' ~/.ssh/id_ed25519 does not exist; islet will rely on ssh-agent"
            ), "\(validated.stderr)")
        let planned = try IsletProcess.run(["plan"] + options, in: root, environment: environment)
        #expect(planned.status == 1, "\(planned.output)")
        #expect(
            planned.stderr.contains(
                "inventory.yaml:\(line):17: 'ssh.identityFile' ~/.ssh/id_ed25519 does not exist and no ssh-agent is running (SSH_AUTH_SOCK is unset)"
            ), "\(planned.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root + "/.islet"), "plan wrote state")
    }

    @Test("init -o into a missing folder names the folder; validate without stacks names the folders searched")
    func missingFolders() throws {
        let root = makeTemporaryDirectory("islet-e2e-missing-folders")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let initialised = try IsletProcess.run(
            ["init", "--stacks", BadInputTests.validStacks, "-o", "nowhere/inventory.yaml"], in: root)
        #expect(initialised.status == 1)
        #expect(
            initialised.stderr
                == "error: cannot write nowhere/inventory.yaml: the folder \(root)/nowhere does not exist; expected an existing folder (create it first)\n"
        )
        try "apiVersion: islet/v1\n".write(toFile: root + "/inventory.yaml", atomically: true, encoding: .utf8)
        let validated = try IsletProcess.run(["validate", "-i", "inventory.yaml"], in: root)
        #expect(validated.status == 1)
        // Last, the stacks installed beside the binary (none beside a build's binary).
        let installed = URL(fileURLWithPath: IsletProcess.binary).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("../share/islet/stacks").standardizedFileURL.path
        #expect(
            validated.stderr.hasPrefix(
                "error: stacks: no stacks found; searched stacks, \(root)/stacks, \(root)/../stacks and \(installed); expected folders that each hold a stack.yaml (or --stacks DIR)"
            ), "\(validated.stderr)")
    }
}
