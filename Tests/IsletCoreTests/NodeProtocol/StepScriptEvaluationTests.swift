import Foundation
import Testing

@testable import IsletCore

@Suite struct StepScriptEvaluationTests {
    static func run(_ command: String) throws -> (status: Int32, output: String) {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", command]
        let output = Pipe()
        shell.standardOutput = output
        shell.standardError = output
        try shell.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        shell.waitUntilExit()
        return (shell.terminationStatus, String(decoding: printed, as: UTF8.self))
    }

    @Test(arguments: ["true", " true\n", "\ntrue  "])
    func aScriptThatIsOnlyTrueRunsAsTheBuiltinWithoutASubshell(text: String) {
        let command = NodeScript.evaluate(Script(text: text, origin: "stack.yaml:1"), log: "\"$__t/log.0\"")
        #expect(command == "true")
    }

    @Test func anyOtherScriptRunsInItsOwnSubshellWithItsOutputLogged() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nodescript-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let log = folder + "/log"
        for text in ["true; echo more", "exit 3", "false || true"] {
            let command = NodeScript.evaluate(Script(text: text, origin: "stack.yaml:1"), log: ShellQuoting.quote(log))
            #expect(command.hasPrefix("( eval "), "\(text)")
            // The script's exit ends its subshell only: the line after it still runs and sees its status.
            let (status, output) = try Self.run("\(command); echo \"after $?\"")
            #expect(status == 0)
            let expected = text == "exit 3" ? "after 3\n" : "after 0\n"
            #expect(output == expected, "\(text)")
        }
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "")
        let printing = NodeScript.evaluate(
            Script(text: "echo hello", origin: "stack.yaml:1"), log: ShellQuoting.quote(log))
        _ = try Self.run(printing)
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "hello\n")
    }
}
