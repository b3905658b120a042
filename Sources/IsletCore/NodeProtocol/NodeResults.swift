import Foundation

/// The kinds of result line a node script prints: `MARKER KIND [INDEX] FIELDS...`.
enum ResultKind: String, Sendable {
    /// `Y`: the script holds the node's lock and has its working folder; nothing before this line ran.
    case ready = "Y"
    /// `W`: another islet script holds the node's lock; this one waits for it.
    case waiting = "W"
    /// `F NAME BASE64` or `F NAME =PLAIN`: a fact about the node.
    case fact = "F"
    /// `B INDEX`: the step starts; what follows until its `E` line is its output.
    case begin = "B"
    /// `P INDEX`: the step's files could not be put in place; its apply did not run.
    case filesNotPlaced = "P"
    /// `X INDEX SHA256`: a file artifact could not be put in place (its sha256 on the node differs, or it
    /// vanished since islet asked); the apply did not run.
    case artifactNotPlaced = "X"
    /// `A INDEX STATUS`: the apply script's exit status.
    case applied = "A"
    /// `C INDEX STATUS`: the check script's exit status.
    case checked = "C"
    /// `H INDEX NUMBER SHA256 MODE OWNER`: a managed file as found (`-` fields: missing).
    case file = "H"
    /// `O INDEX [BASE64]`: what the step wrote to `$ISLET_OUTPUT`.
    case outputs = "O"
    /// `L INDEX [BASE64]`: the end of a quiet check's output.
    case logTail = "L"
    /// `U INDEX`: the step already converged with the values known now; nothing was applied.
    case unchanged = "U"
    /// `R INDEX STATUS`: the remove script's exit status.
    case removed = "R"
    /// `S INDEX`: not started, because a step before it in the same script did not succeed.
    case skipped = "S"
    /// `E INDEX 1|0`: the step is over and every result line of it has been sent; 1 when the node
    /// found it converged (the engine decides again from the lines; this verdict gates later steps).
    case end = "E"
}

/// Everything a node reported about one step of a script.
struct StepResults: Sendable, Equatable {
    var applied: Int32?
    var checked: Int32?
    var removed: Int32?
    var filesNotPlaced = false
    /// The digest of a file artifact that could not be put in place.
    var artifactNotPlaced: String?
    var files: [Int: RemoteFile] = [:]
    var outputs: [String: String]?
    var logTail: String?
    var unchanged = false
    var skipped = false
    /// The node's verdict from the `E` line; nil until the step is over.
    var ended: Bool?

    /// Whether the check passed and every managed file is as rendered.
    func converged(files expected: [RenderedFile]) -> Bool {
        checked == 0 && driftedFiles(expected).isEmpty
    }

    func driftedFiles(_ expected: [RenderedFile]) -> [String] {
        expected.enumerated().compactMap { number, file in
            files[number]?.matches(file) == true ? nil : file.destination
        }
    }
}

/// A managed file as the node found it.
struct RemoteFile: Sendable, Equatable {
    var sha256: String?
    var mode: String
    var owner: String

    func matches(_ file: RenderedFile) -> Bool {
        guard sha256 == file.sha256, Int(mode, radix: 8) == file.mode else { return false }
        guard let wanted = file.owner, !wanted.isEmpty else { return true }
        return wanted.contains(":") ? owner == wanted : owner.hasPrefix(wanted + ":")
    }
}

/// Reads a node script's stdout as it streams: result lines are applied to `StepResults` the moment they
/// arrive, and every other line is handed on as the output of the step that is running.
///
/// Partial lines are kept until their newline comes; the blank line the script prints before each result
/// line (so a result always starts a line) is dropped. Events are delivered on the reading thread, in
/// order; a handler must not call back into the reader.
final class NodeResultReader: @unchecked Sendable {
    enum Event {
        /// A step's output line (without its newline), while step INDEX runs; nil outside any step.
        case text(index: Int?, line: [UInt8])
        /// A result line; `results` already holds it.
        case result(ResultKind, index: Int?)
        /// Step INDEX is over: all it reported.
        case ended(index: Int, StepResults)
    }

    private let marker: [UInt8]
    private let lock = NSLock()
    private var pending: [UInt8] = []
    private var blankLineHeld = false
    private var current: Int?
    private let onEvent: (Event) -> Void
    private(set) var facts: [String: String] = [:]
    private(set) var results: [Int: StepResults] = [:]
    private(set) var isReady = false
    private(set) var waitedForLock = false

    init(marker: String, onEvent: @escaping (Event) -> Void = { _ in }) {
        self.marker = Array((marker + " ").utf8)
        self.onEvent = onEvent
    }

    /// Takes the next bytes of stdout, in any chunking.
    func read(_ bytes: [UInt8]) {
        lock.withLock {
            if pending.isEmpty {
                consumeLines(of: bytes)
            } else {
                let buffer = pending + bytes
                pending = []
                consumeLines(of: buffer)
            }
        }
    }

    /// The stream ended: a last line without its newline is still output.
    func finish() {
        lock.withLock {
            if blankLineHeld {
                blankLineHeld = false
                onEvent(.text(index: current, line: []))
            }
            if !pending.isEmpty {
                handle(line: pending)
                pending = []
            }
        }
    }

    func results(of index: Int) -> StepResults { lock.withLock { results[index] ?? StepResults() } }

    var snapshot: (facts: [String: String], results: [Int: StepResults], ready: Bool) {
        lock.withLock { (facts, results, isReady) }
    }

    private func consumeLines(of buffer: [UInt8]) {
        var lineStart = 0
        var position = 0
        let count = buffer.count
        buffer.withUnsafeBufferPointer { bytes in
            while position < count {
                if bytes[position] == 0x0A {
                    handle(line: Array(bytes[lineStart..<position]))
                    lineStart = position + 1
                }
                position += 1
            }
        }
        pending = lineStart < count ? Array(buffer[lineStart...]) : []
    }

    private func handle(line: [UInt8]) {
        if line.isEmpty {
            if blankLineHeld { onEvent(.text(index: current, line: [])) }
            blankLineHeld = true
            return
        }
        if line.count > marker.count, line.starts(with: marker) {
            blankLineHeld = false
            parse(String(decoding: line[marker.count...], as: UTF8.self))
            return
        }
        if blankLineHeld {
            blankLineHeld = false
            onEvent(.text(index: current, line: []))
        }
        onEvent(.text(index: current, line: line))
    }

    private func parse(_ text: String) {
        let fields = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard let kind = ResultKind(rawValue: fields[0]) else { return }
        let index = fields.count > 1 ? Int(fields[1]) : nil
        func field(_ number: Int) -> String? { fields.count > number ? fields[number] : nil }
        switch kind {
        case .ready:
            isReady = true
        case .waiting:
            waitedForLock = true
        case .fact:
            guard let name = field(1) else { return }
            facts[name] = field(2).map { $0.hasPrefix("=") ? String($0.dropFirst()) : decodeBase64($0) } ?? ""
        case .begin:
            current = index
        case .end:
            guard let index else { return }
            results[index, default: StepResults()].ended = field(2) == "1"
            if current == index { current = nil }
            onEvent(.ended(index: index, results[index]!))
            return
        default:
            guard let index else { return }
            update(&results[index, default: StepResults()], kind: kind, fields: fields)
        }
        onEvent(.result(kind, index: index))
    }

    private func update(_ step: inout StepResults, kind: ResultKind, fields: [String]) {
        let status = fields.count > 2 ? Int32(fields[2]) ?? 255 : 255
        switch kind {
        case .applied: step.applied = status
        case .checked: step.checked = status
        case .removed: step.removed = status
        case .filesNotPlaced: step.filesNotPlaced = true
        case .artifactNotPlaced: step.artifactNotPlaced = fields.count > 2 ? fields[2] : "?"
        case .unchanged: step.unchanged = true
        case .skipped: step.skipped = true
        case .outputs: step.outputs = parseOutputLines(fields.count > 2 ? decodeBase64(fields[2]) : "")
        case .logTail: step.logTail = fields.count > 2 ? decodeBase64(fields[2]) : ""
        case .file:
            guard fields.count >= 6, let number = Int(fields[2]) else { return }
            step.files[number] = RemoteFile(
                sha256: fields[3] == "-" ? nil : fields[3], mode: fields[4], owner: fields[5])
        case .ready, .waiting, .fact, .begin, .end:
            break
        }
    }
}

/// `KEY=VALUE` lines as a step writes them to `$ISLET_OUTPUT`: the key starts the line; the last value of a
/// key wins.
func parseOutputLines(_ text: String) -> [String: String] {
    var outputs: [String: String] = [:]
    for line in text.split(separator: "\n") {
        guard let equals = line.firstIndex(of: "=") else { continue }
        let key = String(line[..<equals])
        guard isEnvironmentName(key) else { continue }
        outputs[key] = String(line[line.index(after: equals)...])
    }
    return outputs
}

func decodeBase64(_ text: String) -> String {
    guard let data = Data(base64Encoded: text) else { return "" }
    return String(decoding: data, as: UTF8.self)
}
