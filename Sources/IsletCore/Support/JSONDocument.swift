import Foundation

/// How islet writes and reads its own JSON files (state, secrets, saved plans).
enum JSONDocument {
    /// Sorted keys and unescaped slashes: the same value always gives the same bytes, and `"base/directories"`
    /// reads as written.
    static func encoder(pretty: Bool = true) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty
            ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            : [
                .sortedKeys, .withoutEscapingSlashes,
            ]
        return encoder
    }

    /// A decoding failure in words: which field, and what was expected, instead of Foundation's dump.
    static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return "missing field '\(field)'" + (expectation[key.stringValue].map { "; expected \($0)" } ?? "")
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "field '\(path(context.codingPath))' has the wrong type; expected \(name(of: type))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "not valid JSON" }
            return "field '\(path(context.codingPath))' is not valid: \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    /// What the fields islet's files share hold, for messages about a missing one.
    private static let expectation: [String: String] = [
        "formatVersion": "a whole number, 1 or more",
        "lineage": "a UUID naming the platform's history",
        "serial": "a whole number, 0 or more",
        "cluster": "the inventory's cluster name",
        "nodes": "an object of node records",
        "changes": "a list of planned changes",
        "digest": "the sha256 of the plan that `islet plan --out` writes",
    ]

    static func path(_ keys: [CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return text.isEmpty ? "(top level)" : text
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type: return "a whole number"
        case is Bool.Type: return "true or false"
        default:
            let text = "\(type)"
            if text.hasPrefix("Array") { return "a list" }
            if text.hasPrefix("Dictionary") { return "an object" }
            return "a \(text) value"
        }
    }
}
