import Foundation
import Testing

/// The real binary's state, secrets and saved-plan files: private, checked, and explained when wrong.
@Suite struct StateFilesTests {
    /// A platform with one step that uses a generated secret.
    func platform() -> String {
        makeLocalPlatform(
            prefix: "islet-e2e-state", stack: "vault",
            steps: """
                  - name: password
                    secrets: [{name: PASSWORD, length: 24}]
                    check: test -f "$ISLET_ROOT/pw"
                    apply: printf '%s' "$PASSWORD" > "$ISLET_ROOT/pw"

                """)
    }

    let arguments = ["-i", "inventory.yaml", "--stacks", "stacks", "--local", "nodes"]

    func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
    }

    @Test func everythingIsletWritesIsPrivateUnderAPermissiveUmaskAndAWideFolder() throws {
        let dir = platform()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(
            atPath: dir + "/.islet", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        for _ in 0..<2 {
            let applied = try IsletProcess.run(["apply", "--yes"] + arguments, in: dir, umask: "000")
            #expect(applied.status == 0, "\(applied.output)")
            try? FileManager.default.removeItem(atPath: dir + "/nodes/n1/pw")
        }
        let planned = try IsletProcess.run(["plan", "--out", "saved.plan"] + arguments, in: dir, umask: "000")
        #expect(planned.status == 0, "\(planned.output)")
        #expect(mode(dir + "/saved.plan") == 0o600)
        #expect(mode(dir + "/.islet") == 0o700)
        for file in ["state.json", "state.json.backup", "state.lock", "secrets.json"] {
            #expect(mode(dir + "/.islet/" + file) == 0o600, "\(file)")
        }
        let runs = try FileManager.default.subpathsOfDirectory(atPath: dir + "/.islet/runs")
        #expect(!runs.isEmpty)
        for path in ["runs"] + runs.map({ "runs/" + $0 }) {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: dir + "/.islet/" + path, isDirectory: &isDirectory)
            #expect(mode(dir + "/.islet/" + path) == (isDirectory.boolValue ? 0o700 : 0o600), "\(path)")
        }
    }

    @Test func aLostSecretsFileIsRefusedUntilRestoredOrRotatedOnPurpose() throws {
        let dir = platform()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try IsletProcess.run(["apply", "--yes"] + arguments, in: dir).status == 0)
        // A second secret write keeps the first file as the backup.
        let secrets = dir + "/.islet/secrets.json"
        try FileManager.default.copyItem(atPath: secrets, toPath: dir + "/kept.json")
        try FileManager.default.removeItem(atPath: secrets)
        let refused = try IsletProcess.run(["plan"] + arguments, in: dir)
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains(
                "\(secrets): the secrets file is missing, but \(dir)/.islet/state.json records 1 secret(s): secret:vault/password/PASSWORD."
            ), "\(refused.stderr)")
        #expect(refused.stderr.contains("--rotate-secrets"))
        let rotated = try IsletProcess.run(["plan", "--rotate-secrets"] + arguments, in: dir)
        #expect(rotated.status == 0, "\(rotated.output)")
        #expect(rotated.stdout.contains("secret:vault/password/PASSWORD"))
        try FileManager.default.copyItem(atPath: dir + "/kept.json", toPath: secrets)
        #expect(try IsletProcess.run(["plan", "--detailed-exitcode"] + arguments, in: dir).status == 0)
    }

    @Test func aHandEditedPlanAndAMissingOneAreRefusedNamingTheFile() throws {
        let dir = platform()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try IsletProcess.run(["apply", "--yes"] + arguments, in: dir).status == 0)
        try FileManager.default.removeItem(atPath: dir + "/nodes/n1/pw")
        #expect(try IsletProcess.run(["plan", "--out", "p.json"] + arguments, in: dir).status == 0)
        let text = try String(contentsOfFile: dir + "/p.json", encoding: .utf8)
        #expect(text.contains("\"vault/password\""))
        try text.replacingOccurrences(of: "\"repair\"", with: "\"remove\"")
            .write(toFile: dir + "/p.json", atomically: true, encoding: .utf8)
        let edited = try IsletProcess.run(["apply", "p.json"] + arguments, in: dir)
        #expect(edited.status == 1)
        #expect(edited.stderr.contains("p.json: the plan was changed after islet saved it"), "\(edited.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/nodes/n1"))
        let missing = try IsletProcess.run(["apply", "nope.json"] + arguments, in: dir)
        #expect(
            missing.stderr == "error: nope.json: no such file; expected a plan saved by `islet plan --out nope.json`\n")
        let json = try IsletProcess.run(["plan", "--json"] + arguments, in: dir)
        #expect(json.stdout.contains("\"vault/password\"") && !json.stdout.contains("\\/"))
    }

    @Test func aStateWithoutLineageIsExplained() throws {
        let dir = platform()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/.islet", withIntermediateDirectories: true)
        try Data(#"{"formatVersion": 1, "serial": 1, "cluster": "local", "nodes": {}}"#.utf8)
            .write(to: URL(fileURLWithPath: dir + "/.islet/state.json"))
        let result = try IsletProcess.run(["plan"] + arguments, in: dir)
        #expect(
            result.stderr
                == "error: \(dir)/.islet/state.json: state file is corrupt (missing field 'lineage'; expected a UUID naming the platform's history); islet will not overwrite it. Restore it from \(dir)/.islet/state.json.backup or move it away.\n"
        )
    }

    @Test(arguments: [["plan", "--parallel", "0"], ["plan", "--parallel", "-3"], ["status", "--parallel", "-3"]])
    func parallelBelowOneIsRefused(_ command: [String]) throws {
        let dir = platform()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try IsletProcess.run(command + arguments, in: dir)
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "error: --parallel \(command[2]): expected how many nodes to work on at once, a whole number of at least 1\n"
        )
    }

    @Test func statusRefreshReportsDriftWithDetailedExitcode() throws {
        let dir = platform()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try IsletProcess.run(["apply", "--yes"] + arguments, in: dir).status == 0)
        #expect(try IsletProcess.run(["status", "--refresh", "--detailed-exitcode"] + arguments, in: dir).status == 0)
        try FileManager.default.removeItem(atPath: dir + "/nodes/n1/pw")
        let drifted = try IsletProcess.run(["status", "--refresh", "--detailed-exitcode"] + arguments, in: dir)
        #expect(drifted.status == 2, "\(drifted.output)")
        #expect(drifted.stdout.contains("drifted"))
        #expect(try IsletProcess.run(["status", "--refresh"] + arguments, in: dir).status == 0)
    }
}
