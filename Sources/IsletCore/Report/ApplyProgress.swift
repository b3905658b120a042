import Foundation

/// Live apply progress: a line per finished step; on a terminal also a status line of what runs now.
public final class ApplyProgress: @unchecked Sendable {
    private let style: Style
    private let live: Bool
    private let write: @Sendable (String) -> Void
    private let lock = NSLock()
    private var running: [String: (step: StepID, since: ContinuousClock.Instant)] = [:]
    private var statusShown = false
    private var ticker: Task<Void, Never>?

    /// - Parameters:
    ///   - live: redraw a status line of running steps (only for a terminal).
    ///   - write: where text goes (standard output in the CLI).
    public init(style: Style, live: Bool, write: @escaping @Sendable (String) -> Void) {
        self.style = style
        self.live = live
        self.write = write
        if live {
            ticker = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(500))
                    self?.redraw()
                }
            }
        }
    }

    deinit { ticker?.cancel() }

    public var observer: ApplyObserver {
        ApplyObserver(
            started: { [self] in started($0) }, finished: { [self] in finished($0, $1, $2) },
            notice: { [self] text in
                lock.withLock {
                    emitLocked(style.yellow(text))
                    redrawLocked()
                }
            })
    }

    func started(_ change: PlannedChange) {
        lock.withLock {
            running[change.runsOn ?? change.node] = (change.step, ContinuousClock.now)
            if !live { emitLocked("\(change.node): \(change.action.rawValue) \(change.step) ...") }
            redrawLocked()
        }
    }

    func finished(_ change: PlannedChange, _ outcome: StepOutcome, _ duration: Duration) {
        lock.withLock {
            running[change.runsOn ?? change.node] = nil
            let seconds = Self.seconds(duration)
            let line: String
            switch outcome {
            case .succeeded(let note):
                line =
                    style.action(change.action, "\(change.action.symbol) \(change.node) \(change.step)")
                    + style.dim(" \(note) (\(seconds))")
            case .failed(let message, _):
                line = style.red("✗ \(change.node) \(change.step) failed: \(message)")
            case .skipped(let reason):
                line = style.yellow("· \(change.node) \(change.step) skipped: \(reason)")
            }
            emitLocked(line)
            redrawLocked()
        }
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.1fs", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }

    /// Clears the status line before the summary is printed.
    public func finish() {
        ticker?.cancel()
        lock.withLock {
            running = [:]
            redrawLocked()
        }
    }

    private func redraw() { lock.withLock { redrawLocked() } }

    private func emitLocked(_ line: String) {
        if statusShown { write("\r\u{1B}[2K") }
        statusShown = false
        write(line + "\n")
    }

    private func redrawLocked() {
        guard live else { return }
        if statusShown { write("\r\u{1B}[2K") }
        statusShown = !running.isEmpty
        guard statusShown else { return }
        let now = ContinuousClock.now
        let parts = running.sorted { $0.key < $1.key }.map { node, entry in
            "\(node): \(entry.step) \(Self.seconds(now - entry.since))"
        }
        write(style.dim("running " + parts.joined(separator: " | ")))
    }

    /// The closing lines: counts, then each failure with its log file.
    public static func summary(_ result: ApplyResult, plan: Plan, style: Style) -> String {
        var counts: [String: Int] = [:]
        var failed = 0
        var skipped = 0
        for (change, outcome) in result.results {
            switch outcome {
            case .succeeded(let note):
                counts[note == "unchanged after all" ? "unchanged" : change.action.rawValue, default: 0] += 1
            case .failed: failed += 1
            case .skipped: skipped += 1
            }
        }
        let done = ["create", "update", "repair", "adopt", "remove", "run", "unchanged"].compactMap { key in
            counts[key].map { "\($0) \(key == "unchanged" ? "unchanged" : pastTense(key))" }
        }
        var lines: [String] = []
        let headline =
            "Apply \(failed == 0 && skipped == 0 && plan.failures.isEmpty ? "complete" : "incomplete"): "
            + (done.isEmpty ? "nothing done" : done.joined(separator: ", "))
            + (failed > 0 ? ", \(failed) failed" : "") + (skipped > 0 ? ", \(skipped) skipped" : "") + "."
        lines.append(failed > 0 || !plan.failures.isEmpty ? style.red(style.bold(headline)) : style.bold(headline))
        for (change, outcome) in result.results {
            guard case .failed(let message, let log) = outcome else { continue }
            lines.append(
                style.red("  ✗ \(change.node) \(change.step): \(message)") + (log.map { "\n    log: \($0)" } ?? ""))
        }
        for failure in plan.failures { lines.append(style.red("  ✗ \(failure.message)")) }
        lines.append(style.dim("Logs: \(result.logDirectory)"))
        return lines.joined(separator: "\n")
    }

    private static func pastTense(_ action: String) -> String {
        switch action {
        case "create": return "created"
        case "update": return "updated"
        case "repair": return "repaired"
        case "adopt": return "adopted"
        case "remove": return "removed"
        default: return "ran"
        }
    }
}
