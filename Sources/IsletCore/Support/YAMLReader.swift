import Foundation
import Yams

/// A YAML node together with the file it came from, so every value read can point back to its line and column.
struct YAMLNode {
    let node: Yams.Node
    let file: String
    let sink: DiagnosticSink

    var location: SourceLocation {
        let mark = node.mark
        return SourceLocation(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    /// Parses a whole file; a syntax error becomes one diagnostic at the place libyaml stopped.
    static func load(file: String, displayName: String, sink: DiagnosticSink) -> YAMLNode? {
        guard let data = FileManager.default.contents(atPath: file) else {
            sink.report(.start(of: displayName), "cannot read the file; expected a readable UTF-8 YAML file")
            return nil
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            let (line, column, byte) = firstInvalidUTF8(in: data)
            sink.report(
                SourceLocation(file: displayName, line: line, column: column),
                "byte 0x\(String(format: "%02X", byte)) is not UTF-8; expected a UTF-8 text file")
            return nil
        }
        return parse(text, displayName: displayName, sink: sink)
    }

    static func parse(_ text: String, displayName: String, sink: DiagnosticSink) -> YAMLNode? {
        do {
            guard let root = try Yams.compose(yaml: text) else {
                sink.report(.start(of: displayName), "the file is empty; expected a YAML mapping")
                return nil
            }
            var bounds = ExpansionBounds(file: displayName, sink: sink)
            guard bounds.check(root) else { return nil }
            return YAMLNode(node: root, file: displayName, sink: sink)
        } catch let error as YamlError {
            let (position, message) = describe(error, in: text)
            let location = SourceLocation(file: displayName, line: position?.line ?? 1, column: position?.column ?? 1)
            sink.report(location, "invalid YAML: \(message)")
            return nil
        } catch {
            sink.report(.start(of: displayName), "invalid YAML: \(error); expected a YAML document")
            return nil
        }
    }

    /// Where a syntax error is and what it is, in the `what is wrong; what was expected` form.
    /// A scanner error points where the broken token started (the key without a colon, the quote never closed),
    /// which is where the user has to look; libyaml's problem mark is often the line after.
    private static func describe(_ error: YamlError, in text: String) -> (Position?, String) {
        switch error {
        case .scanner(let context, let problem, let mark, _):
            return (Position(context?.mark ?? mark), syntaxMessage(problem, context: context?.text))
        case .parser(let context, let problem, let mark, _), .composer(let context, let problem, let mark, _):
            if problem.hasPrefix("Maximum nesting level reached") {
                return (Position(mark), nestingMessage)
            }
            return (Position(mark), syntaxMessage(problem, context: context?.text))
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            let first = Position(context.mark)
            let second = repeatedKey(key, after: first, in: text)
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return (
                second ?? first,
                "duplicate key \(keys) (first at line \(first.line)); expected each key once in a mapping"
            )
        case .reader(let problem, _, _, _):
            return (nil, "\(problem); expected UTF-8 text")
        default:
            return (nil, "\(error); expected a YAML document")
        }
    }

    private struct Position {
        var line: Int
        var column: Int
        init(line: Int, column: Int) { (self.line, self.column) = (line, column) }
        init(_ mark: Mark) { (line, column) = (mark.line, mark.column) }
    }

    private static func syntaxMessage(_ problem: String, context: String?) -> String {
        let expectations = [
            "could not find expected ':'": "expected KEY: VALUE, with a colon and a space after the key",
            "mapping values are not allowed in this context":
                "expected each key at the indentation of its siblings, or a value with ': ' quoted",
            "did not find expected key": "expected each key at the indentation of its siblings",
            "did not find expected '-' indicator": "expected each list item at the indentation of its siblings",
            "found unexpected end of stream": "expected the quote or bracket to be closed",
            "found character that cannot start any token":
                "expected spaces, not tabs, for indentation, and special characters quoted",
            "found undefined alias": "expected an anchor (&name) defined before its alias",
        ]
        let what = context.map { "\(problem) (\($0))" } ?? problem
        return "\(what); \(expectations[problem] ?? "expected valid YAML syntax")"
    }

    /// The second occurrence of a duplicated block-mapping key: the first one's column, below it, in the same mapping.
    private static func repeatedKey(_ key: String, after first: Position, in text: String) -> Position? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let indent = first.column - 1
        guard first.line >= 1, first.line < lines.count else { return nil }
        for number in first.line..<lines.count {
            let line = lines[number]
            let content = line.drop(while: { $0 == " " })
            if content.isEmpty || content.hasPrefix("#") { continue }
            let leading = line.count - content.count
            if leading < indent { return nil }
            if leading == indent, content.hasPrefix(key) {
                let rest = content.dropFirst(key.count).drop(while: { $0 == " " })
                if rest.hasPrefix(":") { return Position(line: number + 1, column: first.column) }
            }
        }
        return nil
    }

    func child(_ node: Yams.Node) -> YAMLNode { YAMLNode(node: node, file: file, sink: sink) }

    func report(_ message: String) { sink.report(location, message) }

    var isNull: Bool {
        if case .scalar(let scalar) = node, scalar.style == .plain {
            return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
        }
        return false
    }

    private var kindName: String {
        switch node {
        case .scalar: return isNull ? "nothing" : "a scalar"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    // MARK: Typed reads. Each reports a diagnostic and returns nil when the node has the wrong shape.

    func mapping(_ field: String) -> YAMLMapping? {
        guard case .mapping(let mapping) = node else {
            report("'\(field)' is \(kindName); expected a mapping")
            return nil
        }
        return YAMLMapping(mapping: mapping, owner: self, field: field)
    }

    func sequence(_ field: String) -> [YAMLNode]? {
        guard case .sequence(let sequence) = node else {
            report("'\(field)' is \(kindName); expected a list")
            return nil
        }
        return sequence.map(child)
    }

    /// A scalar as text; numbers and booleans are accepted as their written form.
    func string(_ field: String) -> String? {
        guard case .scalar(let scalar) = node, !isNull else {
            report("'\(field)' is \(kindName); expected a string")
            return nil
        }
        return scalar.string
    }

    func nonEmptyString(_ field: String) -> String? {
        guard let text = string(field) else { return nil }
        if text.trimmingCharacters(in: .whitespaces).isEmpty {
            report("'\(field)' is empty; expected a non-empty string")
            return nil
        }
        return text
    }

    func integer(_ field: String, in range: ClosedRange<Int>? = nil, meaning: String = "an integer") -> Int? {
        guard case .scalar(let scalar) = node, let number = Int(scalar.string) else {
            report("'\(field)' is \(describeScalar()); expected \(meaning)")
            return nil
        }
        if let range, !range.contains(number) {
            report("'\(field)' is \(number); expected \(meaning)")
            return nil
        }
        return number
    }

    func port(_ field: String) -> Int? {
        integer(field, in: 1...65535, meaning: "a port number from 1 to 65535")
    }

    func boolean(_ field: String) -> Bool? {
        if case .scalar(let scalar) = node {
            switch scalar.string {
            case "true", "True", "TRUE", "yes", "on": return true
            case "false", "False", "FALSE", "no", "off": return false
            default: break
            }
        }
        report("'\(field)' is \(describeScalar()); expected true or false")
        return nil
    }

    func stringList(_ field: String) -> [String]? {
        guard let items = sequence(field) else { return nil }
        let values = items.map { $0.nonEmptyString("\(field) item") }
        return values.contains(where: { $0 == nil }) ? nil : values.compactMap { $0 }
    }

    /// Any YAML value as a typed `Value`, for settings whose type is declared elsewhere.
    func anyValue() -> Value {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if let number = Int(scalar.string) { return .integer(number) }
                if ["true", "True", "TRUE"].contains(scalar.string) { return .boolean(true) }
                if ["false", "False", "FALSE"].contains(scalar.string) { return .boolean(false) }
                if isNull { return .string("") }
            }
            return .string(scalar.string)
        case .sequence(let sequence):
            return .list(sequence.map { child($0).anyValue() })
        case .mapping(let mapping):
            var entries: [String: Value] = [:]
            for (key, value) in mapping { entries[key.string ?? ""] = child(value).anyValue() }
            return .map(entries)
        case .alias:
            return .string("")
        }
    }

    func describeScalar() -> String {
        if case .scalar(let scalar) = node, !isNull { return "'\(scalar.string)'" }
        return kindName
    }
}

/// A mapping being read: remembers which keys the loader asked for, so `finish` can report the unknown ones.
final class YAMLMapping {
    let owner: YAMLNode
    let field: String
    private(set) var entries: [(key: String, keyNode: YAMLNode, value: YAMLNode)] = []
    private var asked: [String] = []

    init(mapping: Yams.Node.Mapping, owner: YAMLNode, field: String) {
        self.owner = owner
        self.field = field
        var seen: Set<String> = []
        for (key, value) in mapping {
            let keyNode = owner.child(key)
            guard let name = keyNode.string("key") else { continue }
            if !seen.insert(name).inserted {
                keyNode.report("duplicate key '\(name)' in '\(field)'; expected each key once")
                continue
            }
            entries.append((name, keyNode, owner.child(value)))
        }
    }

    var location: SourceLocation { owner.location }
    var keys: [String] { entries.map(\.key) }

    func optional(_ key: String) -> YAMLNode? {
        allow([key])
        guard let entry = entries.first(where: { $0.key == key }), !entry.value.isNull else { return nil }
        return entry.value
    }

    func required(_ key: String, expected: String) -> YAMLNode? {
        if let value = optional(key) { return value }
        if let present = entries.first(where: { $0.key == key }) {
            present.value.report("'\(key)' is empty; expected \(expected)")
        } else {
            owner.report("missing required field '\(key)' in '\(field)'; expected \(expected)")
        }
        return nil
    }

    /// Marks keys as known without reading them: for a loader that stops early, so `finish` does not call the
    /// keys it skipped unknown.
    func allow(_ keys: [String]) {
        for key in keys where !asked.contains(key) { asked.append(key) }
    }

    func keyLocation(_ key: String) -> SourceLocation? {
        entries.first(where: { $0.key == key })?.keyNode.location
    }

    /// Reports every key nobody asked for, with the nearest known key as a suggestion.
    func finish() {
        for entry in entries where !asked.contains(entry.key) {
            var message = "unknown key '\(entry.key)' in '\(field)'; expected one of \(asked.joined(separator: ", "))"
            if let suggestion = nearest(to: entry.key, in: asked) {
                message += " (did you mean '\(suggestion)'?)"
            }
            entry.keyNode.report(message)
        }
    }
}

extension YAMLMapping {
    /// Checks the `apiVersion: islet/v1` and `kind:` every islet file starts with.
    func readHeader(kind: String) {
        if let node = required("apiVersion", expected: "islet/v1"), let text = node.string("apiVersion"),
            text != "islet/v1"
        {
            node.report("'apiVersion' is '\(text)'; expected islet/v1")
        }
        if let node = required("kind", expected: kind), let text = node.string("kind"), text != kind {
            node.report("'kind' is '\(text)'; expected \(kind)")
        }
    }
}
