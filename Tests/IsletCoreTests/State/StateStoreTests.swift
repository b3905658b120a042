import Foundation
import Testing

@testable import IsletCore

@Suite struct StateStoreTests {
    func folder() -> String {
        let path = NSTemporaryDirectory() + "islet-state-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func saveKeepsThePreviousCopyAsBackupAndLeavesNoTemporaryFile() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = StateStore(statePath: dir + "/.islet/state.json")
        var state = State(cluster: "c")
        try store.save(state)
        state.serial = 7
        try store.save(state)
        #expect(try store.load(cluster: "c")?.serial == 7)
        let backup = try JSONDecoder().decode(
            State.self, from: Data(contentsOf: URL(fileURLWithPath: store.backupPath)))
        #expect(backup.serial == 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir + "/.islet").filter {
            $0.contains(".tmp-")
        }
        #expect(leftovers.isEmpty)
    }

    @Test func noStateYetIsNil() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try StateStore(statePath: dir + "/state.json").load(cluster: "c") == nil)
    }

    @Test func aCorruptStateIsRefusedAndNotOverwritten() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state.json"
        try Data("{\"formatVersion\": 1, \"lineage\": ".utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            try StateStore(statePath: path).load(cluster: "c")
        } throws: { error in
            "\(error)".hasPrefix("\(path): state file is corrupt") && "\(error)".contains("will not overwrite it")
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"formatVersion\": 1, \"lineage\": ")
    }

    @Test func aStateFromANewerIsletIsRefused() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state.json"
        try Data("{\"formatVersion\": 9}".utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            try StateStore(statePath: path).load(cluster: "c")
        } throws: { error in
            "\(error)"
                == "\(path): state format 9 was written by a newer islet (this one reads up to 1); upgrade islet."
        }
    }

    @Test func anotherClustersStateIsRefused() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = StateStore(statePath: dir + "/state.json")
        try store.save(State(cluster: "prod"))
        #expect {
            try store.load(cluster: "staging")
        } throws: { error in
            "\(error)".contains("state belongs to cluster 'prod', but the inventory describes 'staging'")
        }
    }

    @Test func secretsOfAnotherLineageAreRefused() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var secrets = try SecretStore.open(path: dir + "/secrets.json", lineage: "aaa")
        try secrets.set("s3cret", for: "k")
        #expect(try SecretStore.open(path: dir + "/secrets.json", lineage: "aaa")["k"] == "s3cret")
        #expect {
            try SecretStore.open(path: dir + "/secrets.json", lineage: "bbb")
        } throws: { error in
            "\(error)".contains("lineage aaa does not match the state's lineage bbb")
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/secrets.json")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func aSecondLockHolderIsRefusedNamingTheFirst() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = StateStore(statePath: dir + "/state.json")
        let first = try StateLock.acquire(store, command: "islet apply -i a.yaml")
        #expect {
            try StateLock.acquire(store, command: "islet apply -i b.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.contains("another islet holds the state lock (pid \(getpid()), user ")
                && text.contains(", since ") && text.contains("running 'islet apply -i a.yaml'")
        }
        withExtendedLifetime(first) {}
    }

    @Test func theLockIsFreeAgainOnceReleased() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = StateStore(statePath: dir + "/state.json")
        do { _ = try StateLock.acquire(store, command: "first") }
        _ = try StateLock.acquire(store, command: "second")
    }

    @Test func generatedSecretsUseTheWholeAlphabetAndTheLength() {
        let value = SecretStore.generate(length: 64, alphabet: "ab")
        #expect(value.count == 64)
        #expect(Set(value) == Set("ab"))
    }
}

/// A saved plan is applied exactly, or refused when what it was made from moved.
@Suite struct StalePlanTests {
    func platform() -> TestPlatform {
        let platform = TestPlatform()
        platform.stack(
            "web",
            """
            roles: [{name: web}]
            steps:
              - {name: a, check: "test -f \\"$ISLET_ROOT/a\\"", apply: "touch \\"$ISLET_ROOT/a\\""}
            """)
        platform.inventory(nodes: [("n1", ["web"]), ("n2", ["web"])])
        return platform
    }

    @Test func aPlanIsCurrentUntilSomethingMoves() async throws {
        let platform = platform()
        let plan = try await platform.plan()
        try Applier(workspace: platform.workspace()).checkCurrent(plan)
    }

    @Test func aPlanIsStaleOnceTheStateMoved() async throws {
        let platform = platform()
        let plan = try await platform.plan()
        try await platform.apply()
        #expect {
            try Applier(workspace: platform.workspace()).checkCurrent(plan)
        } throws: { error in
            "\(error)".contains("the state's lineage is ") && "\(error)".contains("the plan's none")
                && "\(error)".contains("the state moved from serial 0 to 2 since the plan was made")
        }
    }

    @Test func aPlanIsStaleOnceTheInventoryOrStacksChanged() async throws {
        let platform = platform()
        let plan = try await platform.plan()
        platform.inventory(nodes: [("n1", ["web"])])
        platform.write(platform.stacksDirectory + "/web/notes.txt", "changed")
        #expect {
            try Applier(workspace: platform.workspace()).checkCurrent(plan)
        } throws: { error in
            "\(error)" == "the saved plan is stale: the inventory changed; the stacks changed. Run islet plan again."
        }
    }
}
