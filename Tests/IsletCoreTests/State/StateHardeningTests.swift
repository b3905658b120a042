import Foundation
import Testing

@testable import IsletCore

/// A state file is input: every broken one is refused as corrupt, naming the file and the field, and never
/// steers islet (a node name read back is never used in a path).
@Suite struct BrokenStateTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/states/broken").standardizedFileURL.path

    /// What each broken state is refused for: the text between "state file is corrupt (" and ")".
    static let reasons: [String: String] = [
        "connection-name-differs": "field 'nodes.n2.connection.name' is 'n1'; expected 'n2'",
        "fingerprint-not-sha256": "field 'nodes.n1.steps.web/a.fingerprint' is 'md5:00'; expected sha256:…",
        "format-version-zero": "field 'formatVersion' is 0; expected 1 or more",
        "invalid-address":
            "field 'nodes.n1.connection.address' is '10.9.0.1; rm -rf /'; expected an IP address or host name",
        "invalid-output-name":
            "field 'nodes.n1.steps.web/a.outputs' has output name 'lower'; expected an upper-case variable name",
        "lineage-not-a-uuid": "field 'lineage' is 'abc'; expected a UUID",
        "malformed-step-key":
            "field 'nodes.n1.steps': step 'web/../a' is not valid; expected STACK/STEP or STACK/STEP[ITEM], each letters, digits and '-'",
        "missing-format-version": "missing field 'formatVersion'; expected a whole number, 1 or more",
        "missing-lineage": "missing field 'lineage'; expected a UUID naming the platform's history",
        "missing-step-fingerprint": "missing field 'nodes.n1.steps.web/a.fingerprint'",
        "negative-serial": "field 'serial' is -5; expected a whole number, 0 or more",
        "node-name-escapes":
            "field 'nodes': node name '../../etc' is not a DNS label; expected letters, digits and '-', at most 63",
        "port-out-of-range": "field 'nodes.n1.connection.ssh.port' is 0; expected a port number from 1 to 65535",
        "serial-not-a-number": "field 'serial' has the wrong type; expected a whole number",
        "step-key-without-stack":
            "field 'nodes.n1.steps': step 'a' is not valid; expected STACK/STEP or STACK/STEP[ITEM], each letters, digits and '-'",
    ]

    static func names() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: fixtures)) ?? []).filter { $0.hasSuffix(".json") }
            .map { String($0.dropLast(".json".count)) }.sorted()
    }

    @Test func everyBrokenStateIsListed() {
        #expect(Self.names() == Self.reasons.keys.sorted())
    }

    @Test(arguments: names())
    func refusedAsCorruptNamingTheFileAndTheField(_ name: String) throws {
        let path = Self.fixtures + "/\(name).json"
        let reason = try #require(Self.reasons[name])
        #expect {
            try StateStore(statePath: path).load(cluster: "test")
        } throws: { error in
            "\(error)"
                == "\(path): state file is corrupt (\(reason)); islet will not overwrite it. Restore it from \(path).backup or move it away."
        }
    }

    @Test func aStateNamingANodeOutsideTheFolderStopsPlanBeforeAnyNodeIsTouched() throws {
        let platform = TestPlatform()
        platform.stack("web", "roles: [{name: web}]\nsteps:\n  - {name: a, check: \"true\", apply: \"true\"}\n")
        platform.inventory(nodes: [("n1", ["web"])])
        try FileManager.default.createDirectory(
            atPath: platform.directory + "/.islet", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: Self.fixtures + "/node-name-escapes.json", toPath: platform.directory + "/.islet/state.json")
        #expect(throws: StateError.self) { try platform.workspace() }
    }

    /// `--state state.json`: everything beside it goes in the current folder, never at the filesystem root.
    @Test func aBareStateFileNameKeepsItsCompanionsInTheCurrentFolder() {
        let store = StateStore(statePath: "state.json")
        #expect(store.directory == ".")
        #expect(store.secretsPath == "./secrets.json")
        #expect(store.lockPath == "./state.lock")
    }
}

/// Everything islet writes under `.islet/` is private, whoever created the folder and whatever the umask.
@Suite struct PrivateFileTests {
    func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func stateBackupAndLockAre0600AndAWideFolderIsTightened() throws {
        let dir = NSTemporaryDirectory() + "islet-modes-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(
            atPath: dir + "/.islet", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        // An older islet wrote these 0644.
        for file in ["state.lock", "secrets.json"] {
            _ = FileManager.default.createFile(
                atPath: dir + "/.islet/" + file, contents: nil, attributes: [.posixPermissions: 0o644])
        }
        try FileManager.default.removeItem(atPath: dir + "/.islet/secrets.json")
        let store = StateStore(statePath: dir + "/.islet/state.json")
        let lock = try StateLock.acquire(store, command: "test")
        var secrets = try SecretStore.open(path: store.secretsPath, lineage: nil)
        try secrets.set("first-value", for: "k")
        try secrets.set("second-value", for: "k")
        try store.save(State(cluster: "c"))
        try store.save(State(cluster: "c"))
        withExtendedLifetime(lock) {}
        #expect(try mode(dir + "/.islet") == 0o700)
        for file in ["state.json", "state.json.backup", "state.lock", "secrets.json", "secrets.json.backup"] {
            #expect(try mode(dir + "/.islet/" + file) == 0o600, "\(file)")
        }
    }

    @Test func runLogsArePrivateAndNoNameLeavesTheRunFolder() throws {
        let dir = NSTemporaryDirectory() + "islet-runs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try RunLog(runsDirectory: dir + "/runs", masker: Masker())
        let stepLog = log.stepLog(node: "../../escaped", step: StepID(stack: "..", step: "x/../../y"))
        stepLog.note("hello")
        stepLog.keep()
        stepLog.close()
        #expect(stepLog.path.hasPrefix(log.directory + "/"))
        #expect(!stepLog.path.dropFirst(log.directory.count).contains("/../"))
        #expect(try mode(dir + "/runs") == 0o700)
        #expect(try mode(log.directory) == 0o700)
        #expect(try mode(stepLog.path) == 0o600)
        #expect(!FileManager.default.fileExists(atPath: dir + "/escaped"))
        #expect(
            log.stepLogPath(node: "n1", step: StepID(stack: "base", step: "dirs")) == log.directory
                + "/n1/base.dirs.log")
    }
}

/// A lost or broken secrets file is never silently replaced by new secrets.
@Suite struct SecretsFileTests {
    func platform() -> TestPlatform {
        let platform = TestPlatform()
        platform.stack(
            "vault",
            """
            roles: [{name: web}]
            steps:
              - name: password
                secrets: [{name: PASSWORD, length: 24}]
                check: test -f "$ISLET_ROOT/pw"
                apply: printf '%s' "$PASSWORD" > "$ISLET_ROOT/pw"
            """)
        platform.inventory(nodes: [("n1", ["web"])])
        return platform
    }

    @Test func aMissingSecretsFileIsRefusedSayingHowToRestoreOrRotate() async throws {
        let platform = platform()
        try await platform.apply()
        let store = try platform.workspace().store
        #expect(try platform.workspace().state?.secretKeys == ["secret:vault/password/PASSWORD"])
        try FileManager.default.removeItem(atPath: store.secretsPath)
        #expect {
            try platform.workspace()
        } throws: { error in
            "\(error)"
                == "\(store.secretsPath): the secrets file is missing, but \(store.statePath) records 1 secret(s): "
                + "secret:vault/password/PASSWORD. Generating new ones would change passwords the nodes still use. "
                + "Restore the file (islet keeps the previous copy as \(store.secretsPath).backup), or, to replace "
                + "these secrets on purpose, plan and apply with --rotate-secrets."
        }
        let rotating = try Workspace.load(
            inventoryPath: platform.inventoryPath, stacksDirectory: platform.stacksDirectory, statePath: nil,
            rotateSecrets: true)
        #expect(rotating.rotatedSecrets == ["secret:vault/password/PASSWORD"])
        #expect(rotating.rotationNotice?.contains("will be made anew") == true)
    }

    @Test func anOlderSecretsFileLackingARecordedSecretIsRefused() async throws {
        let platform = platform()
        try await platform.apply()
        let store = try platform.workspace().store
        // Put back a copy from before the first secret was made.
        try Data(#"{"formatVersion": 1, "lineage": "\#(try platform.workspace().state!.lineage)", "values": {}}"#.utf8)
            .write(to: URL(fileURLWithPath: store.secretsPath))
        #expect {
            try platform.workspace()
        } throws: { error in
            "\(error)".hasPrefix(
                "\(store.secretsPath): the secrets file lacks 1 secret(s) that \(store.statePath) records")
        }
    }

    @Test func aCorruptSecretsFileIsCalledSoAndPointsAtItsOwnBackup() async throws {
        let platform = platform()
        try await platform.apply()
        let store = try platform.workspace().store
        try Data("{\"formatVersion\": 1, \"values\": {}}".utf8).write(to: URL(fileURLWithPath: store.secretsPath))
        #expect {
            try platform.workspace()
        } throws: { error in
            "\(error)"
                == "\(store.secretsPath): secrets file is corrupt (missing field 'lineage'; expected a UUID naming the platform's history); islet will not overwrite it. Restore it from \(store.secretsPath).backup or move it away."
        }
    }
}

/// A plain output that carries a secret is not written to the state in clear.
@Suite struct SecretInOutputTests {
    @Test func anOutputContainingAGeneratedSecretIsRefusedAndNotRecorded() async throws {
        let platform = TestPlatform()
        platform.stack(
            "gitea",
            """
            roles: [{name: web}]
            steps:
              - name: admin
                secrets: [{name: PASSWORD, length: 24}]
                outputs: [URL]
                check: test -f "$ISLET_ROOT/done"
                apply: |
                  touch "$ISLET_ROOT/done"
                  echo "URL=http://admin:$PASSWORD@git.internal/" >> "$ISLET_OUTPUT"
            """)
        platform.inventory(nodes: [("n1", ["web"])])
        let (_, result) = try await platform.apply()
        let failure = try #require(result.failures.first)
        guard case .failed(let message, _) = failure.outcome else {
            Issue.record("not failed")
            return
        }
        #expect(
            message.hasSuffix(
                "output URL of step gitea/admin on n1 contains a secret value; it was not recorded, since state.json is not a place for secrets. Expected the output declared `secret: true` (outputs: [{name: URL, secret: true}]), so it is kept in the secrets file and masked."
            ), "\(message)")
        let workspace = try platform.workspace()
        let password = try #require(
            workspace.secrets[SecretStore.generatedKey(StepID(stack: "gitea", step: "admin"), "PASSWORD")])
        let state = (try? String(contentsOfFile: workspace.store.statePath, encoding: .utf8)) ?? ""
        #expect(!state.contains(password))
        #expect(OutputListing.entries(workspace).allSatisfy { $0.secret || !$0.value.contains(password) })
    }

    @Test func anOutputContainingASecretSettingIsRefused() async throws {
        let platform = TestPlatform()
        platform.stack(
            "db",
            """
            roles: [{name: web}]
            settings: [{key: db.password, type: string, secret: true, description: the password}]
            steps:
              - name: dsn
                inputs: {PW: settings.db.password}
                outputs: [DSN]
                check: test -f "$ISLET_ROOT/done"
                apply: |
                  touch "$ISLET_ROOT/done"
                  echo "DSN=postgres://app:$PW@db/app" >> "$ISLET_OUTPUT"
            """)
        platform.inventory(nodes: [("n1", ["web"])], settings: "  db: {password: hunter2-long}\n")
        let (_, result) = try await platform.apply()
        #expect(!result.succeeded)
        #expect("\(result.failures.map(\.outcome))".contains("output DSN of step db/dsn on n1 contains a secret value"))
        let state = (try? String(contentsOfFile: try platform.workspace().store.statePath, encoding: .utf8)) ?? ""
        #expect(!state.contains("hunter2-long"))
    }
}
