import Foundation

/// A value read from the inventory or produced by a step: what stacks receive as inputs.
public enum Value: Sendable, Hashable, Codable {
    case string(String)
    case integer(Int)
    case boolean(Bool)
    case list([Value])
    case map([String: Value])

    /// The text a script sees in its environment variable: scalars as written, lists and maps as compact JSON.
    public var environmentText: String {
        switch self {
        case .string(let text): return text
        case .integer(let number): return String(number)
        case .boolean(let flag): return flag ? "true" : "false"
        case .list, .map: return canonicalJSON
        }
    }

    /// JSON with sorted keys: the same value always gives the same bytes, which fingerprints rely on.
    public var canonicalJSON: String {
        switch self {
        case .string(let text): return jsonQuoted(text)
        case .integer(let number): return String(number)
        case .boolean(let flag): return flag ? "true" : "false"
        case .list(let items): return "[" + items.map(\.canonicalJSON).joined(separator: ",") + "]"
        case .map(let entries):
            let body = entries.keys.sorted().map { jsonQuoted($0) + ":" + entries[$0]!.canonicalJSON }
            return "{" + body.joined(separator: ",") + "}"
        }
    }

    /// The shape a template engine walks: dictionaries, arrays and scalars.
    public var templateObject: Any {
        switch self {
        case .string(let text): return text
        case .integer(let number): return number
        case .boolean(let flag): return flag
        case .list(let items): return items.map(\.templateObject)
        case .map(let entries): return entries.mapValues(\.templateObject)
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            self = .boolean(flag)
        } else if let number = try? container.decode(Int.self) {
            self = .integer(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let items = try? container.decode([Value].self) {
            self = .list(items)
        } else {
            self = .map(try container.decode([String: Value].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let text): try container.encode(text)
        case .integer(let number): try container.encode(number)
        case .boolean(let flag): try container.encode(flag)
        case .list(let items): try container.encode(items)
        case .map(let entries): try container.encode(entries)
        }
    }
}

func jsonQuoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
