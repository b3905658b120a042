import Foundation
import Testing

@testable import IsletSSH

@Suite struct ExecTests {
    @Test func runsCommandAndReportsExitCode() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let (ok, output) = try await connection.run("echo hello; whoami")
        #expect(ok == SSHExitStatus(code: 0, signal: nil))
        #expect(output.stdoutText == "hello\nroot\n")
        let (failed, _) = try await connection.run("exit 3")
        #expect(failed.code == 3)
        #expect(failed.signal == nil)
        await connection.close()
    }

    @Test func separatesStderrFromStdout() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let (status, output) = try await connection.run("echo out; echo err >&2; echo out2")
        #expect(status.code == 0)
        #expect(output.stdoutText == "out\nout2\n")
        #expect(output.stderrText == "err\n")
        await connection.close()
    }

    @Test func reportsExitSignal() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let (status, _) = try await connection.run("kill -TERM $$")
        #expect(status == SSHExitStatus(code: nil, signal: "TERM"))
        await connection.close()
    }

    @Test func feedsStdinToShell() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let script = "x=41\necho $((x + 1))\necho to-stderr >&2\nexit 7\n"
        let (status, output) = try await connection.run("sh -s", stdin: Array(script.utf8))
        #expect(status.code == 7)
        #expect(output.stdoutText == "42\n")
        #expect(output.stderrText == "to-stderr\n")
        await connection.close()
    }
}

@Suite struct LargeExecTests {
    static let size = 5 * 1024 * 1024

    /// Deterministic bytes that compress badly, so nothing along the way can shortcut them.
    static func pattern(_ count: Int) -> [UInt8] {
        var state: UInt32 = 2_463_534_242
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        }
    }

    @Test func echoesFiveMebibytesThroughCat() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let input = Self.pattern(Self.size)
        let (status, output) = try await connection.run("cat", stdin: input)
        #expect(status.code == 0)
        #expect(output.stdoutBytes.count == Self.size)
        #expect(output.stdoutBytes == input)
        await connection.close()
    }

    /// The command writes all its output before reading any input: a client
    /// that writes stdin to completion before reading would deadlock here.
    @Test func doesNotDeadlockWhenOutputComesBeforeInput() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let input = Self.pattern(Self.size)
        let (status, output) = try await connection.run(
            "head -c \(Self.size) /dev/zero; sha256sum >&2", stdin: input)
        #expect(status.code == 0)
        #expect(output.stdoutBytes.count == Self.size)
        let local = fixture.scratch + "/input"
        try Data(input).write(to: URL(fileURLWithPath: local))
        let expected = try await shell(["/usr/bin/sha256sum", local]).prefix(64)
        #expect(output.stderrText.prefix(64) == expected)
        await connection.close()
    }

    /// With a tiny socket buffer most packets go out in pieces, so reads
    /// (window adjustments) and writes constantly meet a half-sent packet.
    @Test func survivesPartialSendsInBothDirections() async throws {
        let fixture = try await Fixture.start()
        let connection = try await SSHConnection.connect(
            name: "test-node", to: fixture.endpoint(), hostKeys: fixture.hostKeys,
            credentials: Fixture.noAgent, socketSendBuffer: 4096)
        let input = Self.pattern(Self.size)
        let (status, output) = try await connection.run("cat", stdin: input)
        #expect(status.code == 0)
        #expect(output.stdoutBytes == input)
        await connection.close()
    }

    @Test func commandThatIgnoresStdinStillFinishes() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let (status, output) = try await connection.run("echo ignored", stdin: Self.pattern(Self.size))
        #expect(status.code == 0)
        #expect(output.stdoutText == "ignored\n")
        await connection.close()
    }

    @Test func commandThatClosesOutputKeepsReadingStdin() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        let path = fixture.scratch + "/stdin-copy"
        let input = Self.pattern(1024 * 1024)
        let (status, _) = try await connection.run("exec >/dev/null 2>&1; cat > \(path)", stdin: input)
        #expect(status.code == 0)
        #expect(FileManager.default.contents(atPath: path).map([UInt8].init) == input)
        await connection.close()
    }
}

@Suite struct ExecTimeoutTests {
    /// A silent command outlives the operation timeout because keepalives
    /// are answered by the live server.
    @Test func silentCommandSurvivesPastOperationTimeout() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect(fixture.endpoint(operationTimeout: .seconds(3)))
        let (status, output) = try await connection.run("sleep 7; echo done")
        #expect(status.code == 0)
        #expect(output.stdoutText == "done\n")
        await connection.close()
    }

    /// A server that stops answering (its processes frozen) is reported as a
    /// timeout instead of hanging forever, and the connection is then dead:
    /// later calls fail at once with that same error. A new wait would end in
    /// an error naming the later command instead.
    @Test func frozenServerTimesOutOnceAndTheConnectionStaysDead() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect(fixture.endpoint(operationTimeout: .seconds(3)))
        _ = try await connection.run("true")
        let frozen = fixture.sshd.connectionProcesses()
        #expect(!frozen.isEmpty)
        defer { for pid in frozen { kill(pid, SIGCONT) } }
        let output = Output()
        let command = "echo started; sleep 30; echo late"
        let task = Task { try await connection.execute(command, stdin: [], onOutput: output.handler) }
        // Freeze once the command runs, so the wait for its output is what times out.
        while output.stdoutText.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        for pid in frozen { kill(pid, SIGSTOP) }
        let first = SSHError.timeout(
            node: "test-node",
            operation: "'\(command)': the server sent nothing, not even keepalive replies, for 3.0 seconds")
        await #expect(throws: first) { _ = try await task.value }
        #expect(connection.failure == first)
        await #expect(throws: first) { _ = try await connection.run("echo again") }
        await #expect(throws: first) {
            try await connection.upload(bytes: [1], to: fixture.scratch + "/never", mode: 0o600)
        }
        await connection.close()
    }

    @Test func executeAfterCloseFails() async throws {
        let fixture = try await Fixture.start()
        let connection = try await fixture.connect()
        await connection.close()
        await connection.close()
        await #expect(throws: SSHError.closed(node: "test-node")) {
            _ = try await connection.run("true")
        }
    }
}
