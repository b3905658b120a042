import Foundation

/// A state file is input like the inventory: a hand-edited or damaged one must not steer islet (a node name
/// is used in paths, an address is connected to), so every value is checked with the inventory's rules.
extension State {
    /// - Throws: `StateError.corrupt` naming `path` and the first field that makes no sense.
    func validate(path: String) throws {
        func refuse(_ reason: String) -> StateError { .corrupt(path: path, reason: reason) }
        if formatVersion < 1 { throw refuse("field 'formatVersion' is \(formatVersion); expected 1 or more") }
        if serial < 0 { throw refuse("field 'serial' is \(serial); expected a whole number, 0 or more") }
        if !StateValidation.isUUID(lineage) {
            throw refuse("field 'lineage' is '\(StateValidation.quoted(lineage))'; expected a UUID")
        }
        for name in nodes.keys.sorted() {
            let record = nodes[name]!
            if let problem = StateValidation.nodeNameProblem(name) { throw refuse("field 'nodes': \(problem)") }
            if let problem = record.connection.problem(field: "nodes.\(name).connection", node: name) {
                throw refuse(problem)
            }
            for key in record.steps.keys.sorted() {
                if let problem = StateValidation.stepProblem(key) {
                    throw refuse("field 'nodes.\(name).steps': \(problem)")
                }
                let step = record.steps[key]!
                if !step.fingerprint.hasPrefix("sha256:") {
                    throw refuse(
                        "field 'nodes.\(name).steps.\(key).fingerprint' is '\(StateValidation.quoted(step.fingerprint))'; expected sha256:…"
                    )
                }
                for output in step.outputs.keys.sorted() where !isEnvironmentName(output) {
                    throw refuse(
                        "field 'nodes.\(name).steps.\(key).outputs' has output name '\(StateValidation.quoted(output))'; expected an upper-case variable name"
                    )
                }
            }
        }
    }
}

extension NodeAddress {
    /// The problem with a node's connection as read from a file, or nil.
    func problem(field: String, node: String) -> String? {
        if name != node { return "field '\(field).name' is '\(StateValidation.quoted(name))'; expected '\(node)'" }
        if !NetworkSyntax.isAddress(address) {
            return
                "field '\(field).address' is '\(StateValidation.quoted(address))'; expected an IP address or host name"
        }
        if !(1...65535).contains(ssh.port) {
            return "field '\(field).ssh.port' is \(ssh.port); expected a port number from 1 to 65535"
        }
        if let bastion = ssh.bastion {
            if !NetworkSyntax.isAddress(bastion.host) {
                return
                    "field '\(field).ssh.bastion.host' is '\(StateValidation.quoted(bastion.host))'; expected an IP address or host name"
            }
            if !(1...65535).contains(bastion.port) {
                return "field '\(field).ssh.bastion.port' is \(bastion.port); expected a port number from 1 to 65535"
            }
        }
        return nil
    }
}

/// The checks state files and saved plans share with the inventory.
enum StateValidation {
    /// Why `name` cannot be a node name (same rule as the inventory), or nil when it can.
    static func nodeNameProblem(_ name: String) -> String? {
        NetworkSyntax.isLabel(name)
            ? nil : "node name '\(quoted(name))' is not a DNS label; expected letters, digits and '-', at most 63"
    }

    /// Why `key` is not a `stack/step` id of two valid names, or nil.
    static func stepProblem(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2 && NetworkSyntax.isLabel(parts[0]) && isStepName(parts[1]) { return nil }
        return
            "step '\(quoted(key))' is not valid; expected STACK/STEP or STACK/STEP[ITEM], each letters, digits and '-'"
    }

    /// A step's name, or a forEach instance's `NAME[ITEM]`.
    private static func isStepName(_ name: String) -> Bool {
        if NetworkSyntax.isLabel(name) { return true }
        guard name.hasSuffix("]"), let open = name.firstIndex(of: "[") else { return false }
        let item = name[name.index(after: open)..<name.index(before: name.endIndex)]
        return NetworkSyntax.isLabel(String(name[..<open])) && NetworkSyntax.isLabel(String(item))
    }

    static func isUUID(_ text: String) -> Bool { text.count == 36 && UUID(uuidString: text) != nil }

    /// A value from a file, safe to print on one line: control characters escaped, length bounded.
    static func quoted(_ text: String) -> String {
        let escaped = text.unicodeScalars.map { scalar in
            scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }.joined()
        return escaped.count > 80 ? String(escaped.prefix(80)) + "…" : escaped
    }
}
