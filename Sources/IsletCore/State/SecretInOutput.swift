import Foundation

/// A plain output whose value contains a known secret (`URL=http://admin:$PASSWORD@host/`). islet refuses to
/// record it rather than quietly moving it to the secrets file: the stack declares what is secret, and an
/// output that carries a secret must say so (`secret: true`), so every reader of the stack, of `islet output`
/// and of the inputs that use it knows. The value itself is never in the message.
public struct SecretInPlainOutput: Error, Sendable, CustomStringConvertible {
    public var node: String
    public var step: StepID
    public var outputs: [String]
    public var location: SourceLocation

    /// The plain outputs in `outputs` whose value `masker` would mask, in name order.
    static func check(
        _ outputs: [String: String], of step: Step, node: String, masker: Masker
    ) throws {
        let leaking = outputs.filter { !step.isSecretOutput($0.key) && masker.mask($0.value) != $0.value }
            .keys.sorted()
        guard !leaking.isEmpty else { return }
        throw SecretInPlainOutput(node: node, step: step.id, outputs: leaking, location: step.location)
    }

    public var description: String {
        let names = outputs.joined(separator: ", ")
        return
            "\(location): output \(names) of step \(step) on \(node) contains a secret value; it was not recorded, "
            + "since state.json is not a place for secrets. Expected the output declared `secret: true` "
            + "(outputs: [{name: \(outputs[0]), secret: true}]), so it is kept in the secrets file and masked."
    }
}
