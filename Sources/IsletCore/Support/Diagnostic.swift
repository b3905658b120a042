import Foundation

/// A place in a file the user wrote: where an error points.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// The start of a file, for problems that belong to the file as a whole.
    public static func start(of file: String) -> SourceLocation {
        SourceLocation(file: file, line: 1, column: 1)
    }

    /// A file or folder as a whole, with no line to point at (a folder with no stacks): shown as its path alone.
    public static func whole(_ path: String) -> SourceLocation {
        SourceLocation(file: path, line: 0, column: 0)
    }

    public var description: String { line == 0 ? file : "\(file):\(line):\(column)" }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.file, a.line, a.column) < (b.file, b.line, b.column)
    }
}

/// One problem in the user's input, rendered as `FILE:LINE:COLUMN: what is wrong; what was expected`.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String

    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

/// Every problem found in the inventory and the stacks, reported together so a user fixes them in one pass.
public struct ValidationFailure: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics.sorted { $0.location < $1.location }
    }

    public var description: String {
        let noun = diagnostics.count == 1 ? "problem" : "problems"
        return (diagnostics.map(\.description) + ["\(diagnostics.count) \(noun) found."]).joined(separator: "\n")
    }
}

/// Collects diagnostics while a loader walks a document, so that loading reports every problem at once.
final class DiagnosticSink {
    private(set) var diagnostics: [Diagnostic] = []

    func report(_ location: SourceLocation, _ message: String) {
        let diagnostic = Diagnostic(location, message)
        if !diagnostics.contains(diagnostic) { diagnostics.append(diagnostic) }
    }

    var isEmpty: Bool { diagnostics.isEmpty }

    func throwIfAny() throws {
        if !diagnostics.isEmpty { throw ValidationFailure(diagnostics) }
    }
}

/// The nearest candidate by edit distance, offered as "did you mean" when a key or name is misspelt.
func nearest(to word: String, in candidates: [String]) -> String? {
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
    let limit = max(2, word.count / 3)
    return best.1 <= limit ? best.0 : nil
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        previous = current
    }
    return previous[b.count]
}

/// "a, b or c" for messages that list what was expected.
func humanList(_ items: [String], conjunction: String = "or") -> String {
    switch items.count {
    case 0: return "nothing"
    case 1: return items[0]
    default: return items.dropLast().joined(separator: ", ") + " \(conjunction) " + items.last!
    }
}
