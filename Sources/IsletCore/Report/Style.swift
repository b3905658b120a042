import Foundation

/// ANSI colours, on only for a terminal and when NO_COLOR is unset (https://no-color.org).
public struct Style: Sendable {
    public var enabled: Bool

    public init(enabled: Bool) {
        self.enabled = enabled
    }

    /// Colours for a file descriptor as the user's terminal and environment allow.
    public static func detect(fileDescriptor: Int32 = STDOUT_FILENO) -> Style {
        let environment = ProcessInfo.processInfo.environment
        let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        return Style(enabled: isatty(fileDescriptor) == 1 && !noColor && environment["TERM"] != "dumb")
    }

    public func paint(_ text: String, _ code: String) -> String {
        enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    public func bold(_ text: String) -> String { paint(text, "1") }
    public func red(_ text: String) -> String { paint(text, "31") }
    public func green(_ text: String) -> String { paint(text, "32") }
    public func yellow(_ text: String) -> String { paint(text, "33") }
    public func dim(_ text: String) -> String { paint(text, "2") }

    public func action(_ action: Action, _ text: String) -> String {
        switch action {
        case .create: return green(text)
        case .update: return yellow(text)
        case .repair: return paint(text, "35")
        case .remove: return red(text)
        case .adopt, .run: return paint(text, "36")
        case .noChange: return text
        }
    }
}
