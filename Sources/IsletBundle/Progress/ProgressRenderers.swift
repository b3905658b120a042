import Foundation

/// Draws frames on a terminal: finished transfers as lasting lines, and below them a block redrawn in
/// place with one line per running transfer and a total line (bytes, rate, ETA).
public struct TerminalProgressRenderer: Sendable {
    public var width: Int
    private var liveLines = 0

    public init(width: Int = 80) {
        self.width = max(20, width)
    }

    /// The text to write for `frame`: erase the previous block, print what finished, draw the new block.
    public mutating func render(_ frame: TransferBoard.Frame) -> String {
        var text = liveLines > 0 ? "\u{1B}[\(liveLines)F\u{1B}[J" : ""
        for event in frame.events {
            switch event {
            case .started: continue
            case .finished(let item): text += fit(ProgressText.finished(item)) + "\n"
            case .failed(let item): text += fit(ProgressText.failed(item)) + "\n"
            }
        }
        var live = frame.active.map { fit(ProgressText.live($0)) }
        if !frame.active.isEmpty { live.append(fit(ProgressText.total(frame))) }
        text += live.map { $0 + "\n" }.joined()
        liveLines = live.count
        return text
    }

    private func fit(_ line: String) -> String {
        line.count < width ? line : String(line.prefix(width - 2)) + "…"
    }
}

/// Writes frames as plain lines, for logs and pipes: when a transfer starts, when it ends (size and
/// duration), and for a long one a line at most every `interval` seconds.
public struct PlainProgressRenderer: Sendable {
    public var interval: Double
    private var lastLine: [Int: Double] = [:]

    public init(interval: Double = 10) {
        self.interval = interval
    }

    public mutating func render(_ frame: TransferBoard.Frame) -> String {
        var text = ""
        for event in frame.events {
            switch event {
            case .started(let item):
                text += "downloading \(item.name)" + (item.total.map { " (\(ProgressText.bytes($0)))" } ?? "") + "\n"
            case .finished(let item):
                lastLine[item.id] = nil
                text += ProgressText.finished(item) + "\n"
            case .failed(let item):
                lastLine[item.id] = nil
                text += ProgressText.failed(item) + "\n"
            }
        }
        for item in frame.active where frame.now - (lastLine[item.id] ?? item.started) >= interval {
            lastLine[item.id] = frame.now
            text += ProgressText.live(item, padded: false) + "\n"
        }
        return text
    }
}

/// The words and numbers both renderers use.
enum ProgressText {
    static func live(_ item: TransferBoard.Item, padded: Bool = true) -> String {
        let name =
            padded
            ? item.name.padding(toLength: max(item.name.count, 24), withPad: " ", startingAt: 0) : item.name + ":"
        return ([name] + amounts(bytes: item.bytes, total: item.total, rate: item.rate, eta: item.eta))
            .joined(separator: "  ")
    }

    static func total(_ frame: TransferBoard.Frame) -> String {
        let files = "total \(frame.finishedCount)/\(frame.count) done"
        return
            ([files.padding(toLength: max(files.count, 24), withPad: " ", startingAt: 0)]
            + amounts(bytes: frame.bytes, total: frame.total, rate: frame.rate, eta: frame.eta))
            .joined(separator: "  ")
    }

    static func finished(_ item: TransferBoard.Item) -> String {
        let elapsed = (item.finished ?? item.started) - item.started
        return "downloaded \(item.name): \(bytes(item.bytes)) in \(duration(elapsed))"
            + (item.rate.map { " (\(rate($0)))" } ?? "")
            + (item.startBytes > 0 ? ", resumed at \(bytes(item.startBytes))" : "")
    }

    static func failed(_ item: TransferBoard.Item) -> String {
        let elapsed = (item.finished ?? item.started) - item.started
        return "failed \(item.name) after \(bytes(item.bytes)) in \(duration(elapsed))"
    }

    private static func amounts(bytes count: Int64, total: Int64?, rate speed: Double?, eta: Double?) -> [String] {
        var parts: [String] = []
        if let total, total > 0 {
            parts.append("\(bytes(count)) of \(bytes(total))")
            parts.append("\(min(100, count * 100 / total))%")
        } else {
            parts.append(bytes(count))
        }
        if let speed { parts.append(rate(speed)) }
        if let eta { parts.append("ETA " + clock(eta)) }
        return parts
    }

    /// 512 B, 1.5 KiB, 12.3 MiB, 1.02 GiB.
    static func bytes(_ count: Int64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard count >= 1024 else { return "\(count) B" }
        var value = Double(count) / 1024
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: unit >= 2 ? "%.2f" : "%.1f", value) + " " + units[unit]
    }

    static func rate(_ bytesPerSecond: Double) -> String {
        bytes(Int64(bytesPerSecond.rounded())) + "/s"
    }

    /// 0.4 s, 12.0 s, then 3:05, 1:02:03.
    static func duration(_ seconds: Double) -> String {
        seconds < 60 ? String(format: "%.1f s", seconds) : clock(seconds)
    }

    /// m:ss or h:mm:ss.
    static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        let (hours, minutes, rest) = (whole / 3600, whole / 60 % 60, whole % 60)
        return hours > 0
            ? String(format: "%d:%02d:%02d", hours, minutes, rest) : String(format: "%d:%02d", minutes, rest)
    }
}
