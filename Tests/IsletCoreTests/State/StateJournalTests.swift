import Foundation
import Testing

@testable import IsletCore

/// Records are appended to `state.json.journal` as steps finish; the whole state is written now and then.
@Suite struct StateJournalTests {
    func store() -> StateStore {
        let path = NSTemporaryDirectory() + "islet-journal-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return StateStore(statePath: path + "/.islet/state.json")
    }

    let node = NodeAddress(name: "n1", address: "10.9.0.1", ssh: SSHSettings())

    func change(_ serial: Int, _ step: String, forget: Bool = false) -> StateChange {
        let record = StepRecord(
            fingerprint: "sha256:" + String(repeating: "a", count: 64), appliedAt: Date(timeIntervalSince1970: 0),
            isletVersion: "0.1.0", outputs: ["PORT": "\(serial)"])
        return forget
            ? StateChange(serial: serial, node: "n1", step: step, forget: true)
            : StateChange(serial: serial, node: "n1", step: step, connection: node, record: record)
    }

    @Test func loadingReplaysTheJournalOverTheWholeState() throws {
        let store = store()
        defer { try? FileManager.default.removeItem(atPath: store.directory + "/..") }
        try store.save(State(cluster: "c"))
        try store.append([change(1, "s/a"), change(2, "s/b")])
        try store.append([change(3, "s/a", forget: true)])
        let state = try #require(try store.load(cluster: "c"))
        #expect(state.serial == 3)
        #expect(state.record(node: "n1", step: StepID(stack: "s", step: "a")) == nil)
        #expect(state.record(node: "n1", step: StepID(stack: "s", step: "b"))?.outputs == ["PORT": "2"])
        // A whole write holds everything: the journal is gone and the state the same.
        try store.save(state)
        #expect(!FileManager.default.fileExists(atPath: store.journalPath))
        #expect(try store.load(cluster: "c") == state)
    }

    /// A crash in the middle of an append leaves a last line cut short: it is ignored, as never written.
    @Test func aTornLastLineIsIgnored() throws {
        let store = store()
        try store.save(State(cluster: "c"))
        try store.append([change(1, "s/a")])
        let handle = try #require(FileHandle(forWritingAtPath: store.journalPath))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"serial":2,"node":"n1","st"#.utf8))
        try handle.close()
        let state = try #require(try store.load(cluster: "c"))
        #expect(state.serial == 1)
        #expect(state.record(node: "n1", step: StepID(stack: "s", step: "a")) != nil)
    }

    /// Anything else that is not a valid change is a corrupt state, named by the journal's file and line.
    @Test func aBrokenLineInTheMiddleIsACorruptState() throws {
        let store = store()
        try store.save(State(cluster: "c"))
        try store.append([change(1, "s/a")])
        let handle = try #require(FileHandle(forWritingAtPath: store.journalPath))
        handle.seekToEndOfFile()
        handle.write(Data("not json\n".utf8))
        try handle.close()
        try store.append([change(2, "s/b")])
        #expect {
            try store.load(cluster: "c")
        } throws: { error in
            "\(error)".contains(store.journalPath) && "\(error)".contains("line 2")
        }
    }

    /// A node name that would escape a folder is refused from the journal as it is from the state file.
    @Test func journalValuesAreValidatedLikeTheState() throws {
        let store = store()
        try store.save(State(cluster: "c"))
        var bad = change(1, "s/a")
        bad.node = "../x"
        bad.connection?.name = "../x"
        try store.append([bad])
        #expect(throws: StateError.self) { try store.load(cluster: "c") }
    }

    /// An apply appends records as steps finish and ends with one whole state and no journal.
    @Test func anApplyLeavesOneWholeStateAndNoJournal() async throws {
        let platform = TestPlatform()
        let steps = (1...30).map {
            "  - {name: s\($0), check: 'test -f \"$ISLET_ROOT/s\($0)\"', apply: 'touch \"$ISLET_ROOT/s\($0)\"'}"
        }
        platform.stack("many", "roles: [{name: web}]\nsteps:\n" + steps.joined(separator: "\n") + "\n")
        platform.inventory(nodes: [("n1", ["web"]), ("n2", ["web"])])
        let (_, result) = try await platform.apply()
        #expect(result.succeeded)
        let workspace = try platform.workspace()
        #expect(!FileManager.default.fileExists(atPath: workspace.store.journalPath))
        #expect(workspace.state?.recordedPairs.count == 60)
    }
}

/// The whole state, encoded one node at a time, is byte for byte what the encoder gives for all of it.
@Suite struct StateEncodingTests {
    @Test(arguments: [0, 1, 3])
    func nodeByNodeEqualsTheWholeEncoding(nodes: Int) throws {
        var state = State(cluster: "c \"quoted\"/x")
        state.serial = 12
        if nodes > 1 { state.secretKeys = ["generated:a/b.PASS", "output:n1:a/b.TOKEN"] }
        for index in 0..<nodes {
            let address = NodeAddress(name: "n\(index)", address: "10.9.0.\(index)", ssh: SSHSettings())
            for step in ["a/one", "b/two"] {
                let record = StepRecord(
                    fingerprint: "sha256:" + String(repeating: "b", count: 64),
                    appliedAt: Date(timeIntervalSince1970: 0),
                    isletVersion: "0.1.0", outputs: index == 0 ? [:] : ["URL": "http://h/x\ny", "A": "1"])
                state.setRecord(record, node: address, step: StepID(step, defaultStack: nil)!)
            }
        }
        let whole = try JSONDocument.encoder().encode(state)
        let byNode = try state.encodedNodeByNode()
        #expect(String(decoding: byNode, as: UTF8.self) == String(decoding: whole, as: UTF8.self))
        #expect(try JSONDecoder().decode(State.self, from: byNode) == state)
    }
}
