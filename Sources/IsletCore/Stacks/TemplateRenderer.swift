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
