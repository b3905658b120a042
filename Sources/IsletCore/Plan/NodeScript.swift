import Foundation

/// Builds the shell scripts islet sends to a node and reads their results back.
///
/// Results travel as lines `MARKER KIND FIELDS...` on stdout, where MARKER holds a random nonce per script,
/// so nothing a step prints can be mistaken for a result. Free text (facts, outputs, logs) is base64-encoded.
struct NodeScript {
    let marker = "__ISLET_\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))__"
    private(set) var text = ""

    init(filesystemRoot: String) {
        text = """
            __m=\(ShellQuoting.quote(marker))
            ISLET_ROOT=\(ShellQuoting.quote(filesystemRoot)); export ISLET_ROOT
            __t=$(mktemp -d "${TMPDIR:-/tmp}/islet.XXXXXX") || { echo "islet: mktemp failed" >&2; exit 70; }
            trap 'rm -rf "$__t"' EXIT
            __b64() { base64 | tr -d '\\n'; }
            __emit() { printf '\\n%s %s\\n' "$__m" "$*"; }
            __file() {
              if [ -f "$3" ]; then
                __h=$(sha256sum < "$3"); __s=$(stat -c '%a %U:%G' "$3")
                __emit H "$1" "$2" "${__h%% *}" "$__s"
              else
                __emit H "$1" "$2" - - -
              fi
            }

            """
    }

    mutating func append(_ line: String) { text += line + "\n" }

    /// Prints the node's facts; they come first so that inputs reading facts can use them in the same script.
    mutating func gatherFacts() {
        append(
            """
            __fact() { eval "__f_$1=\\$2"; __emit F "$1" "$(printf %s "$2" | __b64)"; }
            __osr="$ISLET_ROOT/etc/os-release"; [ -r "$__osr" ] || __osr=/etc/os-release
            __fact os "$( . "$__osr" 2>/dev/null; printf %s "${ID:-}")"
            __fact osVersion "$( . "$__osr" 2>/dev/null; printf %s "${VERSION_ID:-}")"
            __fact arch "$(uname -m)"
            if [ -n "$ISLET_ROOT" ] && [ -r "$ISLET_ROOT/etc/hostname" ]; then __fact hostname "$(cat "$ISLET_ROOT/etc/hostname")"; else __fact hostname "$(uname -n)"; fi
            __fact machineId "$(cat "$ISLET_ROOT/etc/machine-id" 2>/dev/null)"
            __fact kernel "$(uname -r)"
            """)
    }

    /// Exports a step's environment inside the current (sub)shell.
    /// Inputs that read facts take them from the shell variables `gatherFacts` set earlier in the same script.
    mutating func export(
        _ environment: [(name: String, value: String)], factInputs: [String: String] = [:], index: Int,
        node: String, step: StepID
    ) throws {
        let base: [(String, String)] = [("ISLET_NODE", node), ("ISLET_STEP", step.description)]
        append(
            try ShellQuoting.exports(
                base + environment.filter { factInputs[$0.name] == nil }.map { ($0.name, $0.value) }))
        for (name, fact) in factInputs.sorted(by: { $0.key < $1.key }) {
            append("export \(name)=\"$__f_\(fact)\"")
        }
        append("export ISLET_OUTPUT=\"$__t/out.\(index)\"; : > \"$ISLET_OUTPUT\"")
    }

    /// Reports the sha256, mode and owner of each managed file.
    mutating func reportFiles(_ files: [RenderedFile], index: Int) {
        for (number, file) in files.enumerated() {
            append("__file \(index) \(number) \"$ISLET_ROOT\"\(ShellQuoting.quote(file.destination))")
        }
    }

    /// Runs a step script in its own shell; its output goes to `log` (a path expression) or streams.
    mutating func runScript(_ script: Script, kind: String, index: Int, quiet: Bool) {
        let redirect = quiet ? " > \"$__t/log.\(index)\" 2>&1 < /dev/null" : " < /dev/null"
        append("/bin/sh -c \(ShellQuoting.quote(script.text)) islet-\(kind)\(redirect)")
        append("__emit \(kind == "check" ? "C" : "A") \(index) \"$?\"")
    }

    mutating func reportOutputs(index: Int, includeLog: Bool) {
        // Most steps write no outputs and print nothing: report those without starting a process.
        append(
            "if [ -s \"$ISLET_OUTPUT\" ]; then __emit O \(index) \"$(__b64 < \"$ISLET_OUTPUT\")\"; else __emit O \(index); fi"
        )
        if includeLog {
            append(
                "if [ -s \"$__t/log.\(index)\" ]; then __emit L \(index) \"$(tail -c 4096 \"$__t/log.\(index)\" | __b64)\"; else __emit L \(index); fi"
            )
        }
    }
}

/// What a node reported back from a script built by `NodeScript`.
struct NodeReport {
    var facts: [String: String] = [:]
    var checks: [Int: Int32] = [:]
    var applies: [Int: Int32] = [:]
    var files: [Int: [Int: RemoteFile]] = [:]
    var outputs: [Int: [String: String]] = [:]
    var logs: [Int: String] = [:]
    /// Which index each instance had in the script.
    var indexes: [StepInstance: Int] = [:]

    struct RemoteFile: Equatable {
        var sha256: String?
        var mode: String
        var owner: String

        func matches(_ file: RenderedFile) -> Bool {
            guard sha256 == file.sha256, Int(mode, radix: 8) == file.mode else { return false }
            guard let wanted = file.owner else { return true }
            return wanted.contains(":") ? owner == wanted : owner.hasPrefix(wanted + ":")
        }
    }

    /// Parses the marker lines out of stdout; other lines are the steps' own output.
    init(stdout: String, marker: String) {
        for line in stdout.split(separator: "\n", omittingEmptySubsequences: true) where line.hasPrefix(marker + " ") {
            let fields = line.dropFirst(marker.count + 1).split(separator: " ", omittingEmptySubsequences: false).map(
                String.init)
            guard let kind = fields.first else { continue }
            let index = fields.count > 1 ? Int(fields[1]) : nil
            switch (kind, index) {
            case ("F", _) where fields.count >= 2:
                facts[fields[1]] = fields.count > 2 ? decodeBase64(fields[2]) : ""
            case ("C", let index?) where fields.count >= 3:
                checks[index] = Int32(fields[2]) ?? 255
            case ("A", let index?) where fields.count >= 3:
                applies[index] = Int32(fields[2]) ?? 255
            case ("H", let index?) where fields.count >= 6:
                guard let number = Int(fields[2]) else { continue }
                files[index, default: [:]][number] = RemoteFile(
                    sha256: fields[3] == "-" ? nil : fields[3],
                    mode: fields[4], owner: fields[5])
            case ("O", let index?):
                outputs[index] = parseOutputLines(fields.count > 2 ? decodeBase64(fields[2]) : "")
            case ("L", let index?):
                logs[index] = fields.count > 2 ? decodeBase64(fields[2]) : ""
            default:
                continue
            }
        }
    }

    /// Whether the check passed and every managed file is as rendered.
    func converged(index: Int, files expected: [RenderedFile]) -> Bool {
        guard checks[index] == 0 else { return false }
        return driftedFiles(index: index, files: expected).isEmpty
    }

    func driftedFiles(index: Int, files expected: [RenderedFile]) -> [String] {
        expected.enumerated().compactMap { number, file in
            files[index]?[number]?.matches(file) == true ? nil : file.destination
        }
    }
}

/// `KEY=VALUE` lines as a step writes them to `$ISLET_OUTPUT`; the last value of a key wins.
func parseOutputLines(_ text: String) -> [String: String] {
    var outputs: [String: String] = [:]
    for line in text.split(separator: "\n") {
        guard let equals = line.firstIndex(of: "=") else { continue }
        let key = String(line[..<equals]).trimmingCharacters(in: .whitespaces)
        guard isEnvironmentName(key) else { continue }
        outputs[key] = String(line[line.index(after: equals)...])
    }
    return outputs
}

func decodeBase64(_ text: String) -> String {
    guard let data = Data(base64Encoded: text) else { return "" }
    return String(decoding: data, as: UTF8.self)
}
