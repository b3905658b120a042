import Foundation
import Testing

@testable import IsletCore

/// Any value passed as an input reaches the script byte for byte, and nothing in it runs.
@Suite struct ShellQuotingTests {
    /// Bytes a shell treats specially, mixed with arbitrary ones (NUL excluded: no shell variable holds it).
    static let nasty: [[UInt8]] = [
        "'", "\"", "`", "$(touch pwned)", "${HOME}", "\\", "\n", "'\\''", "*", "; rm -rf /",
        "\r", "\t", "$", "!", "#", "~", "|", "&", "<", ">", "(", ")", "{", "}",
    ].map { Array($0.utf8) }

    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func samples(count: Int, seed: UInt64) -> [[UInt8]] {
        var random = SplitMix(state: seed)
        return (0..<count).map { _ in
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...12, using: &random) {
                if Bool.random(using: &random) {
                    bytes += nasty.randomElement(using: &random)!
                } else {
                    bytes.append(UInt8.random(in: 1...255, using: &random))  // includes non-UTF-8 bytes
                }
            }
            return bytes
        }
    }

    /// Runs one script that writes each quoted value to its own file, then compares every file byte for byte.
    func roundTrip(_ values: [[UInt8]], through quote: ([UInt8]) -> [UInt8]) throws {
        let dir = NSTemporaryDirectory() + "islet-quote-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var script: [UInt8] = Array("cd '\(dir)' || exit 1\n".utf8)
        for (index, value) in values.enumerated() {
            script += Array("V=".utf8) + quote(value) + Array("\nprintf '%s' \"$V\" > out.\(index)\n".utf8)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-s"]
        let input = Pipe()
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(Data(script))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        for (index, value) in values.enumerated() {
            let written = FileManager.default.contents(atPath: "\(dir)/out.\(index)").map { [UInt8]($0) }
            #expect(written == value, "value \(index) \(value) did not survive quoting")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/pwned"), "a quoted value was executed")
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func anyByteStringSurvivesQuoting(seed: UInt64) throws {
        try roundTrip(Self.samples(count: 200, seed: seed), through: ShellQuoting.quote(bytes:))
    }

    @Test func everyNastyPieceAloneSurvivesQuoting() throws {
        try roundTrip(
            Self.nasty + [[], Array("''''".utf8), Array("a'b\"c`d$(e)\n\\f".utf8)], through: ShellQuoting.quote(bytes:))
    }

    @Test func stringQuotingMatchesByteQuoting() {
        for value in Self.samples(count: 300, seed: 9) {
            let text = String(decoding: value, as: UTF8.self)
            #expect(Array(ShellQuoting.quote(text).utf8) == ShellQuoting.quote(bytes: Array(text.utf8)))
        }
    }

    @Test func exportsRefuseNUL() {
        #expect(throws: ShellQuoting.QuotingError.self) { try ShellQuoting.exports([("A", "x\u{0}y")]) }
    }

    /// The same through the engine: an inventory setting with every nasty piece reaches the step's script.
    @Test func aNastySettingReachesTheScriptUnchanged() async throws {
        let platform = TestPlatform()
        platform.stack(
            "echo",
            """
            roles: [{name: web}]
            settings: [{key: banner, type: string, description: text written as is}]
            steps:
              - name: write
                inputs: {BANNER: settings.banner}
                check: test "$(cat "$ISLET_ROOT/banner" 2>/dev/null)" = "$BANNER"
                apply: printf '%s' "$BANNER" > "$ISLET_ROOT/banner"
            """)
        let banner = "it's \"quoted\" `date` $(touch ./pwned) ${PATH} \\ back\\slash; echo hi"
        platform.inventory(nodes: [("n1", ["web"])], settings: "  banner: \(jsonQuoted(banner))\n")
        let (_, result) = try await platform.apply()
        #expect(result.succeeded)
        #expect(platform.read(node: "n1", "/banner") == banner)
        #expect(!FileManager.default.fileExists(atPath: platform.node("n1", "/pwned")))
    }
}
