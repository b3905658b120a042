import Foundation
import Testing

@testable import IsletCore

/// The node protocol's reader: result lines in any chunking, step output routed to the step that runs.
@Suite struct NodeResultReaderTests {
    let marker = "__ISLET_TEST__"

    /// What a two-step batch prints: output of each step between its begin and end lines.
    var transcript: String {
        """
        \n\(marker) Y
        \n\(marker) B 0
        installing
        \n\(marker) A 0 0
        \n\(marker) H 0 0 abc 644 root:root
        \n\(marker) C 0 0
        \n\(marker) O 0 \(Data("PORT=5000\n".utf8).base64EncodedString())
        \n\(marker) E 0 1
        \n\(marker) B 1
        half a line, then the rest
        \n\(marker) A 1 3
        \n\(marker) E 1
        \n\(marker) S 2

        """
    }

    final class Events: @unchecked Sendable {
        var lines: [(Int?, String)] = []
        var ended: [Int] = []
    }

    func read(_ text: String, chunkSize: Int) -> (NodeResultReader, Events) {
        let events = Events()
        let reader = NodeResultReader(marker: marker) { event in
            switch event {
            case .text(let index, let line): events.lines.append((index, String(decoding: line, as: UTF8.self)))
            case .ended(let index, _): events.ended.append(index)
            case .result: break
            }
        }
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            reader.read(Array(bytes[start..<min(start + chunkSize, bytes.count)]))
            start += chunkSize
        }
        reader.finish()
        return (reader, events)
    }

    /// Every chunking, down to a byte at a time, gives the same results: lines split across reads are joined.
    @Test(arguments: [1, 2, 7, 64, 100_000])
    func partialLinesGiveTheSameResults(chunkSize: Int) {
        let (reader, events) = read(transcript, chunkSize: chunkSize)
        let snapshot = reader.snapshot
        #expect(snapshot.ready)
        let first = snapshot.results[0]
        #expect(first?.applied == 0)
        #expect(first?.checked == 0)
        #expect(first?.files[0] == RemoteFile(sha256: "abc", mode: "644", owner: "root:root"))
        #expect(first?.outputs == ["PORT": "5000"])
        #expect(first?.ended == true)
        #expect(snapshot.results[1]?.applied == 3)
        #expect(snapshot.results[1]?.ended == false)
        #expect(snapshot.results[2]?.skipped == true)
        #expect(snapshot.results[2]?.ended == nil)
        #expect(events.ended == [0, 1])
        // Each step's own output goes to that step; the blank lines before result lines are islet's, dropped.
        #expect(events.lines.map(\.0) == [0, 1])
        #expect(events.lines.map(\.1) == ["installing", "half a line, then the rest"])
    }

    /// A step's output that looks like a result line but lacks this script's nonce is only output.
    @Test func outputImitatingAResultLineIsOutput() {
        let text = "\n\(marker) B 0\n__ISLET_OTHER__ E 0 1\n\(marker)X E 0 1\n"
        let (reader, events) = read(text, chunkSize: 5)
        #expect(reader.snapshot.results[0]?.ended == nil)
        #expect(events.lines.map(\.1) == ["__ISLET_OTHER__ E 0 1", "\(marker)X E 0 1"])
    }

    /// A script cut short (the connection dropped): the step that was running has no end line, and its
    /// output up to the cut, even without a final newline, is kept.
    @Test func aMissingEndLineLeavesTheStepUnfinished() {
        let text = "\n\(marker) Y\n\n\(marker) B 0\nstarted\npartial"
        let (reader, events) = read(text, chunkSize: 3)
        #expect(reader.snapshot.results[0]?.ended == nil)
        #expect(events.ended.isEmpty)
        #expect(events.lines.map(\.1) == ["started", "partial"])
    }

    /// Blank lines a step prints itself are its output; only the one right before a result line is islet's.
    @Test func blankLinesOfAStepAreKept() {
        let text = "\n\(marker) B 0\na\n\n\nb\n\n\(marker) E 0 1\n"
        let (_, events) = read(text, chunkSize: 4)
        #expect(events.lines.map(\.1) == ["a", "", "", "b"])
    }

    /// A script that never got its lock and working folder (a failing mkdir, say) has no ready line.
    @Test func noReadyLineMeansTheScriptDidNotStart() {
        let (reader, _) = read("mkdir: cannot create directory\n", chunkSize: 10)
        #expect(!reader.snapshot.ready)
    }

    @Test func outputLinesNeedTheKeyAtTheStartOfTheLine() {
        #expect(parseOutputLines("A=1\n B=2\nC=3=4\nnot a line\nA=5\n") == ["A": "5", "C": "3=4"])
    }

    /// Facts of plain characters travel as `=VALUE` without a process; others in base64. Runs the real
    /// prologue and fact gathering in `sh` under a folder standing for the node's root.
    @Test func factsArriveIntactWhetherPlainOrEncoded() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("islet-facts-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        try "ID=\"rocky linux\"\nVERSION_ID=\"9.4\"\n".write(
            toFile: root + "/etc/os-release", atomically: true, encoding: .utf8)
        try "node-1.site\n".write(toFile: root + "/etc/hostname", atomically: true, encoding: .utf8)
        try "0123abcd".write(toFile: root + "/etc/machine-id", atomically: true, encoding: .utf8)  // no newline
        var script = NodeScript(filesystemRoot: root, lock: .shared)
        script.gatherFacts()
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        let input = Pipe()
        let output = Pipe()
        shell.standardInput = input
        shell.standardOutput = output
        try shell.run()
        input.fileHandleForWriting.write(Data(script.text.utf8))
        try input.fileHandleForWriting.close()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        shell.waitUntilExit()
        let text = String(decoding: printed, as: UTF8.self)
        #expect(text.contains(" F osVersion =9.4\n"))
        #expect(!text.contains("rocky linux"))  // a value with a space is encoded
        let reader = NodeResultReader(marker: script.marker) { _ in }
        reader.read(Array(printed))
        reader.finish()
        let facts = reader.snapshot.facts
        #expect(facts["os"] == "rocky linux")
        #expect(facts["osVersion"] == "9.4")
        #expect(facts["hostname"] == "node-1.site")
        #expect(facts["machineId"] == "0123abcd")
        #expect(facts["arch"]?.isEmpty == false)
        #expect(facts["kernel"]?.isEmpty == false)
    }
}
