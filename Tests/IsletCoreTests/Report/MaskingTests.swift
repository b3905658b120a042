import Foundation
import Testing

@testable import IsletCore

/// Secrets never appear in output, logs, plans or state.
@Suite struct MaskingTests {
    @Test func maskerReplacesEverySecretAndEachLineOfAMultiLineOne() {
        let masker = Masker(secrets: ["hunter22", "line-one\nline-two", "ab"])
        #expect(masker.mask("pw=hunter22 and hunter22") == "pw=*** and ***")
        #expect(masker.mask("got line-two") == "got ***")
        #expect(masker.mask("ab stays: too short to mask") == "ab stays: too short to mask")
    }

    @Test func theLongerOfTwoOverlappingSecretsIsMaskedWhole() {
        let masker = Masker(secrets: ["pass", "password123"])
        #expect(masker.mask("password123") == "***")
    }

    @Test func stepLogsMaskSecretsEvenWhenSplitAcrossChunks() throws {
        let dir = NSTemporaryDirectory() + "islet-log-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try RunLog(runsDirectory: dir, masker: Masker(secrets: ["s3cr3t-value"]))
        let stepLog = log.stepLog(node: "n1", step: StepID(stack: "a", step: "b"))
        stepLog.append(OutputChunk(stream: .stdout, bytes: Array("token is s3cr".utf8)))
        stepLog.append(OutputChunk(stream: .stdout, bytes: Array("3t-value\nnext line\n".utf8)))
        stepLog.append(OutputChunk(stream: .stderr, bytes: Array("warn s3cr3t-value".utf8)))
        stepLog.close()
        let text = try String(contentsOfFile: stepLog.path, encoding: .utf8)
        #expect(text == "| token is ***\n| next line\n! warn ***\n")
    }

    @Test func generatedSecretsAndSecretOutputsStayOutOfStatePlanAndLogs() async throws {
        let platform = TestPlatform()
        platform.stack(
            "vault",
            """
            roles: [{name: web}]
            steps:
              - name: password
                secrets: [{name: PASSWORD, length: 40}]
                outputs: [{name: API_KEY, secret: true}, PUBLIC]
                check: test -f "$ISLET_ROOT/pw"
                apply: |
                  printf '%s' "$PASSWORD" > "$ISLET_ROOT/pw"
                  echo "the password is $PASSWORD"
                  echo "API_KEY=key-$PASSWORD" >> "$ISLET_OUTPUT"
                  echo "PUBLIC=visible" >> "$ISLET_OUTPUT"
              - name: user
                inputs: {KEY: steps.password.API_KEY}
                check: test -f "$ISLET_ROOT/key"
                apply: printf '%s' "$KEY" > "$ISLET_ROOT/key"; echo "using $KEY" >&2
            """)
        platform.inventory(nodes: [("n1", ["web"])])
        let (plan, result) = try await platform.apply()
        #expect(result.succeeded)
        let password = try #require(platform.read(node: "n1", "/pw"))
        #expect(password.count == 40)
        #expect(platform.read(node: "n1", "/key") == "key-" + password)
        let workspace = try platform.workspace()
        let state = try String(contentsOfFile: workspace.store.statePath, encoding: .utf8)
        #expect(!state.contains(password))
        #expect(state.contains("visible"))
        #expect(!String(decoding: try JSONEncoder().encode(plan), as: UTF8.self).contains(password))
        let logs = FileManager.default.enumerator(atPath: result.logDirectory)!.allObjects.compactMap { $0 as? String }
        var logText = ""
        for file in logs {
            logText += (try? String(contentsOfFile: result.logDirectory + "/" + file, encoding: .utf8)) ?? ""
        }
        #expect(logText.contains("the password is ***"))
        #expect(logText.contains("using ***"))
        #expect(!logText.contains(password))
        let secrets = try FileManager.default.attributesOfItem(atPath: workspace.store.secretsPath)
        #expect((secrets[.posixPermissions] as? Int) == 0o600)
        let lines = OutputListing.render(OutputListing.entries(workspace), name: nil, showSecrets: false)
        #expect(
            lines == [
                "n1/vault/password.API_KEY = *** (secret; --show-secrets to reveal)",
                "n1/vault/password.PASSWORD = *** (secret; --show-secrets to reveal)",
                "n1/vault/password.PUBLIC = visible",
            ])
    }

    @Test func aSecretSettingFromTheEnvironmentReachesTheNodeButNoLogOrState() async throws {
        let platform = TestPlatform()
        platform.stack(
            "ldap",
            """
            roles: [{name: web}]
            settings: [{key: ldap.password, type: string, secret: true, description: bind password}]
            steps:
              - name: bind
                inputs: {PASSWORD: settings.ldap.password}
                check: test "$(cat "$ISLET_ROOT/bind" 2>/dev/null)" = "$PASSWORD"
                apply: printf '%s' "$PASSWORD" > "$ISLET_ROOT/bind"; echo "binding with $PASSWORD"
            """)
        let password = "p'a\"s`s $(touch ./pwned) \\ end"
        platform.inventory(nodes: [("n1", ["web"])], settings: "  ldap: {password: {fromEnv: ISLET_TEST_LDAP}}\n")
        // Passed to the loader, not set with setenv: the tests running beside this one read the environment.
        let workspace = try workspace(platform, environment: ["ISLET_TEST_LDAP": password])
        let connections = Connections(transport: LocalTransport(baseDirectory: platform.nodesDirectory))
        let plan = await Planner(workspace: workspace).plan(connections: connections)
        let runLog = try RunLog(runsDirectory: workspace.store.runsDirectory, masker: Masker())
        let result = await Applier(workspace: workspace).apply(
            plan, connections: connections, log: runLog, observer: ApplyObserver())
        await connections.closeAll()
        #expect(result.succeeded)
        #expect(platform.read(node: "n1", "/bind") == password)
        #expect(!FileManager.default.fileExists(atPath: platform.node("n1", "/pwned")))
        let log = try String(contentsOfFile: result.logDirectory + "/n1/ldap.bind.log", encoding: .utf8)
        #expect(log.contains("binding with ***"))
        #expect(!log.contains(password))
        let state = try String(contentsOfFile: workspace.store.statePath, encoding: .utf8)
        #expect(!state.contains("touch ./pwned"))
    }

    /// The platform as `TestPlatform.workspace()` loads it, with `{fromEnv: …}` read from `environment`.
    private func workspace(_ platform: TestPlatform, environment: [String: String]) throws -> Workspace {
        try Workspace.load(
            inventoryPath: platform.inventoryPath, stacksDirectory: platform.stacksDirectory, statePath: nil,
            environment: environment)
    }

    @Test func aMissingEnvironmentVariableIsAValidationError() throws {
        let platform = TestPlatform()
        platform.stack(
            "ldap",
            """
            roles: [{name: web}]
            settings: [{key: ldap.password, type: string, secret: true, description: bind password}]
            steps: [{name: bind, check: "true", apply: "true"}]
            """)
        platform.inventory(
            nodes: [("n1", ["web"])], settings: "  ldap: {password: {fromEnv: ISLET_TEST_UNSET_VARIABLE}}\n")
        #expect {
            try platform.workspace()
        } throws: { error in
            "\(error)".contains(
                "inventory.yaml:8:30: environment variable ISLET_TEST_UNSET_VARIABLE for 'settings.ldap.password' is not set; expected it exported before running islet"
            )
        }
    }
}
