import Foundation
import Mustache

/// Renders file templates with Mustache. Templates see only the step's declared inputs, so a rendered file
/// can never depend on something the fingerprint does not cover.
enum TemplateRenderer {
    /// Config files are not HTML: the pragma turns off Mustache's HTML escaping for the whole template.
    /// It sits on the first line without a newline, so line numbers in parse errors stay true.
    static func compile(_ text: String) throws -> MustacheTemplate {
        try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + text)
    }

    static func render(_ text: String, inputs: [String: Value]) throws -> String {
        try compile(text).render(inputs.mapValues(\.templateObject))
    }
}

extension TemplateRenderer {
    /// A tag islet refuses, with where it starts in the template file.
    struct TagProblem: Equatable {
        var line: Int
        var column: Int
        var message: String
    }

    /// Tags a template may not use: a name outside any section that is not one of the step's inputs (Mustache would
    /// render it silently as empty), and partials, blocks, parents, pragmas and delimiter changes, which islet does
    /// not support. Names inside a section may be fields of a list item, so they are left to Mustache.
    static func unsupportedTags(in text: String, inputs: Set<String>) -> [TagProblem] {
        var problems: [TagProblem] = []
        var sectionDepth = 0
        var (line, column) = (1, 1)
        var rest = Substring(text)
        func advance(over part: Substring) {
            for character in part {
                if character == "\n" { (line, column) = (line + 1, 1) } else { column += 1 }
            }
        }
        while let open = rest.range(of: "{{") {
            advance(over: rest[..<open.lowerBound])
            let triple = rest[open.upperBound...].hasPrefix("{")
            let closing = triple ? "}}}" : "}}"
            let bodyStart = triple ? rest.index(after: open.upperBound) : open.upperBound
            guard let close = rest[bodyStart...].range(of: closing) else { break }
            let tag = rest[open.lowerBound..<close.upperBound]
            let body = rest[bodyStart..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            let sigil = triple ? "" : body.first.map(String.init) ?? ""
            let name =
                ["#", "^", "/", "&", "!", ">", "<", "$", "=", "%"].contains(sigil)
                ? body.dropFirst().trimmingCharacters(in: .whitespaces) : body
            func refuse(_ message: String) { problems.append(TagProblem(line: line, column: column, message: message)) }
            switch sigil {
            case "!":
                break
            case ">", "<", "$", "=", "%":
                let kind = [
                    ">": "a partial", "<": "a parent", "$": "a block", "=": "a delimiter change", "%": "a pragma",
                ]
                refuse(
                    "uses \(kind[sigil]!) '\(tag)', which islet does not support; expected {{NAME}}, {{{NAME}}}, sections {{#NAME}}…{{/NAME}} and comments"
                )
                if sigil == "=" { return problems }  // the rest of the file uses other delimiters
            case "/":
                sectionDepth = max(0, sectionDepth - 1)
            default:
                let root = variableRoot(name)
                if sectionDepth == 0, root != ".", !inputs.contains(root) {
                    refuse(
                        "uses '\(tag)', which is not an input of the step; expected one of \(humanList(inputs.sorted())) (declare it under 'inputs:')"
                    )
                }
                if sigil == "#" || sigil == "^" { sectionDepth += 1 }
            }
            advance(over: tag)
            rest = rest[close.upperBound...]
        }
        return problems
    }

    /// The input a tag name reads: `A` for `A.b`, and for a transform such as `uppercased(A)`, its argument's.
    private static func variableRoot(_ name: String) -> String {
        var name = Substring(name)
        while let open = name.firstIndex(of: "("), name.hasSuffix(")") {
            name = name[name.index(after: open)..<name.index(before: name.endIndex)]
        }
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        return trimmed == "." ? "." : String(trimmed.split(separator: ".").first ?? "")
    }
}
