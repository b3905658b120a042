import Foundation
import Logging

/// One run's log folder: `.islet/runs/<UTC time>/`, a file per node and step that printed something or
/// did not succeed, plus `islet.log`.
public final class RunLog: Sendable {
    public let directory: String
    public let masker: Masker
    /// `islet.log`, opened once for the run.
    private let mainLog: AppendingFile

    public init(runsDirectory: String, masker: Masker, now: Date = Date()) throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS'Z'"
        directory = runsDirectory + "/" + formatter.string(from: now)
        self.masker = masker
        try PrivateFiles.makeDirectory(runsDirectory)
        try PrivateFiles.makeDirectory(directory)
        mainLog = AppendingFile(path: directory + "/islet.log")
    }

    /// Node and step names are checked where they are read, but they come from files a user can edit: each
    /// is turned into one harmless path component, so no name can put a log outside this run's folder.
    public func stepLogPath(node: String, step: StepID) -> String {
        let file = PrivateFiles.component(step.stack) + "." + PrivateFiles.component(step.step) + ".log"
        return "\(directory)/\(PrivateFiles.component(node))/\(file)"
    }

    /// A masked, line-buffered writer for one step's output.
    public func stepLog(node: String, step: StepID) -> StepLog {
        StepLog(path: stepLogPath(node: node, step: step), masker: masker)
    }

    /// A swift-log logger writing masked lines to `islet.log`.
    public func logger(label: String = "islet") -> Logger {
        let file = mainLog
        let masker = self.masker
        return Logger(label: label) { _ in FileLogHandler(file: file, masker: masker) }
    }
}

/// Writes a step's stdout and stderr to its log file a whole line at a time, so a secret is never split
/// across two writes and escapes masking. Result lines of islet's own scripts are left out.
///
/// The file is made only for a step that printed something or did not succeed (`keep`): a silent step
/// that succeeded has its lines in `islet.log` alone, so a large apply does not create a file per step.
public final class StepLog: @unchecked Sendable {
    public let path: String
    private let masker: Masker
    private let lock = NSLock()
    private var handle: FileHandle?
    private var opened = false
    /// Notes written before the file exists.
    private var pending: [String] = []
    private var hiddenPrefix: String?
    private var lines: MaskedLines!

    init(path: String, masker: Masker) {
        self.path = path
        self.masker = masker
        lines = MaskedLines(masker: masker) { [unowned self] stream, text in write(text, stream: stream) }
    }

    /// Lines starting with `prefix` (a script's result marker) are not written.
    func hide(linesStartingWith prefix: String) { lock.withLock { hiddenPrefix = prefix } }

    public func note(_ text: String) { lock.withLock { writeLocked("# islet: " + masker.mask(text), open: false) } }

    /// Makes sure the file exists with everything noted so far: for a step whose log a message points at.
    public func keep() { lock.withLock { openLocked() } }

    /// Notes why the step did not succeed, keeps the file for the message that points at it, and closes it.
    public func closeKept(noting text: String) {
        note(text)
        keep()
        close()
    }

    public func append(_ chunk: OutputChunk) { lines.append(chunk) }

    public func close() {
        lines.flush()
        lock.withLock {
            try? handle?.close()
            handle = nil
        }
    }

    private func write(_ text: String, stream: OutputChunk.Stream) {
        lock.withLock {
            // Result lines are islet's own; the blank line before each is from the newline that keeps them apart.
            if text.isEmpty { return }
            if let hiddenPrefix, text.hasPrefix(hiddenPrefix) { return }
            writeLocked((stream == .stderr ? "! " : "| ") + text)
        }
    }

    private func writeLocked(_ line: String, open: Bool = true) {
        if open { openLocked() }
        guard opened else {
            pending.append(line)
            return
        }
        try? handle?.write(contentsOf: Data((line + "\n").utf8))
    }

    private func openLocked() {
        guard !opened else { return }
        opened = true
        try? PrivateFiles.makeDirectory((path as NSString).deletingLastPathComponent)
        handle = PrivateFiles.openForAppending(path)
        try? handle?.write(contentsOf: Data(pending.map { $0 + "\n" }.joined().utf8))
        pending = []
    }
}

/// A swift-log handler appending masked lines to a file.
struct FileLogHandler: LogHandler {
    let file: AppendingFile
    let masker: Masker
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = self.metadata.merging(event.metadata ?? [:]) { $1 }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let time = Date().formatted(.iso8601)
        let text = masker.mask("\(time) \(event.level) \(event.message)\(fields.isEmpty ? "" : " " + fields)") + "\n"
        file.append(text)
    }
}

/// A private file opened on first use and kept open, written a whole line at a time from any thread.
final class AppendingFile: @unchecked Sendable {
    let path: String
    private let lock = NSLock()
    private var handle: FileHandle?

    init(path: String) { self.path = path }

    deinit { try? handle?.close() }

    func append(_ text: String) {
        lock.withLock {
            if handle == nil { handle = PrivateFiles.openForAppending(path) }
            try? handle?.write(contentsOf: Data(text.utf8))
        }
    }
}
