import Foundation
import Yams

/// libyaml's limit on nested lists and mappings (its MAX_NESTING_LEVEL), named in messages.
let maximumNesting = 1000

let nestingMessage =
    "lists and mappings nested more than \(maximumNesting) levels deep (counting what aliases repeat); expected at most \(maximumNesting) levels"

/// Limits on what aliases may add to a document. Yams shares an anchored node between its aliases, so a
/// composed document stays small however often it is aliased; only a walk that expands it (reading a `list` or
/// `map` setting into a `Value`, say) would grow exponentially. These bounds are checked by a walk that stops at
/// the first excess, so checking never costs more than the bounds themselves.
struct ExpansionBounds {
    /// Nodes that aliases add in total, once expanded.
    static let maximumAliasNodes = 100_000
    /// Bytes of scalar text that aliases add in total, once expanded.
    static let maximumAliasBytes = 16 << 20
    /// Levels of nesting once aliases are expanded: the same as libyaml allows in the text.
    static let maximumDepth = maximumNesting

    let file: String
    let sink: DiagnosticSink
    private var aliasNodes = 0
    private var aliasBytes = 0
    /// The furthest place in the text reached so far: a node that starts before it was reached through an alias.
    private var furthest = (line: 0, column: 0)

    init(file: String, sink: DiagnosticSink) {
        self.file = file
        self.sink = sink
    }

    /// Walks the document as if every alias were expanded, in document order.
    /// - Returns: false, with one diagnostic, at the first bound exceeded; a NUL anywhere is reported too.
    mutating func check(_ root: Yams.Node) -> Bool {
        walk(root, depth: 1, throughAlias: false, origin: location(of: root))
    }

    private func location(of node: Yams.Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    /// - Parameter origin: where the text that led here is written: the key of a mapping entry, or the list
    ///   holding an item. For a node reached through an alias this is the alias's line, not the anchor's.
    private mutating func walk(_ node: Yams.Node, depth: Int, throughAlias: Bool, origin: SourceLocation) -> Bool {
        var throughAlias = throughAlias
        if let mark = node.mark {
            if (mark.line, mark.column) < furthest { throughAlias = true } else { furthest = (mark.line, mark.column) }
        }
        // Inside an expansion every mark points at the anchor's text: keep pointing at the alias that led here.
        func childOrigin(_ own: SourceLocation) -> SourceLocation { throughAlias ? origin : own }
        if depth > Self.maximumDepth {
            sink.report(origin, nestingMessage)
            return false
        }
        if throughAlias {
            aliasNodes += 1
            if case .scalar(let scalar) = node { aliasBytes += scalar.string.utf8.count }
            if aliasNodes > Self.maximumAliasNodes || aliasBytes > Self.maximumAliasBytes {
                sink.report(
                    origin,
                    "aliases expand to more than \(Self.maximumAliasNodes) values or \(Self.maximumAliasBytes >> 20) MiB of text; expected aliases that repeat a small part of the file (is this an alias bomb?)"
                )
                return false
            }
        }
        switch node {
        case .scalar(let scalar):
            if scalar.string.utf8.contains(0) {
                sink.report(
                    throughAlias ? origin : location(of: node),
                    "the value contains a NUL character; expected text without NUL, which no environment variable or file name can carry"
                )
            }
        case .sequence(let sequence):
            let here = childOrigin(location(of: node))
            for item in sequence where !walk(item, depth: depth + 1, throughAlias: throughAlias, origin: here) {
                return false
            }
        case .mapping(let mapping):
            for (key, value) in mapping {
                let here = childOrigin(location(of: key))
                guard walk(key, depth: depth + 1, throughAlias: throughAlias, origin: here),
                    walk(value, depth: depth + 1, throughAlias: throughAlias, origin: here)
                else { return false }
            }
        case .alias:
            break
        }
        return true
    }
}

/// Where the first byte that is not UTF-8 is: its line, its column (in characters) and its value.
func firstInvalidUTF8(in data: Data) -> (line: Int, column: Int, byte: UInt8) {
    let bytes = [UInt8](data)
    var (line, column, index) = (1, 1, 0)
    while index < bytes.count {
        let lead = bytes[index]
        let length: Int
        switch lead {
        case 0x00...0x7F: length = 1
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return (line, column, lead)
        }
        guard index + length <= bytes.count else { return (line, column, lead) }
        if String(validating: bytes[index..<index + length], as: UTF8.self) == nil { return (line, column, lead) }
        if lead == 0x0A { (line, column) = (line + 1, 1) } else { column += 1 }
        index += length
    }
    return (line, column, 0)
}
