import Foundation

/// Reads one stack folder: `stack.yaml`, its scripts and its templates.
struct StackLoader {
    let directory: String
    let sink: DiagnosticSink

    /// Names of the characters a generated secret may draw from.
    static let alphabets: [String: String] = [
        "alphanumeric": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "hex": "0123456789abcdef",
        "base64url": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        "lowercase": "abcdefghijklmnopqrstuvwxyz0123456789",
    ]

    static let stepKeys = Set(["name", "description", "scope", "roles", "after", "inputs", "files", "artifacts", "check",
                               "apply", "remove", "removeOn", "outputs", "secrets", "ephemeral"])

    var file: String { directory + "/stack.yaml" }

    func load() -> Stack? {
        guard let root = YAMLNode.load(file: file, displayName: file, sink: sink), let top = root.mapping("stack") else {
            return nil
        }
        defer { top.finish() }
        top.readHeader(kind: "Stack")
        let folderName = URL(fileURLWithPath: directory).lastPathComponent
        let nameNode = top.required("name", expected: "the stack's name, the same as its folder")
        let name = nameNode?.nonEmptyString("name") ?? folderName
        if name != folderName || !NetworkSyntax.isLabel(name) {
            nameNode?.report("stack name '\(name)' must be a DNS label equal to its folder name '\(folderName)'")
        }
        let description = top.optional("description")?.string("description") ?? ""
        let requires = top.optional("requires")?.stringList("requires") ?? []
        let roles = top.optional("roles")?.sequence("roles")?.compactMap { readRole($0, stack: name) } ?? []
        let settings = top.optional("settings")?.sequence("settings")?.compactMap { readSetting($0, stack: name) } ?? []
        var steps: [Step] = []
        if let items = top.required("steps", expected: "a list of steps")?.sequence("steps") {
            for item in items {
                guard let step = readStep(item, stack: name) else { continue }
                if steps.contains(where: { $0.id == step.id }) {
                    item.report("duplicate step name '\(step.id.step)' in stack '\(name)'; expected unique step names")
                } else {
                    steps.append(step)
                }
            }
        }
        return Stack(name: name, description: description, directory: directory, requires: requires, roles: roles,
                     settings: settings, steps: steps)
    }

    private func readRole(_ node: YAMLNode, stack: String) -> RoleDeclaration? {
        guard let map = node.mapping("roles item") else { return nil }
        defer { map.finish() }
        guard let name = map.required("name", expected: "the role's name")?.nonEmptyString("name") else { return nil }
        let description = map.optional("description")?.string("description") ?? ""
        let minimum = map.optional("min")?.integer("min", in: 0...10_000, meaning: "a count of nodes") ?? 0
        let maximumNode = map.optional("max")
        let maximum = maximumNode?.integer("max", in: 1...10_000, meaning: "a count of nodes")
        if let maximum, maximum < minimum {
            maximumNode?.report("'max' \(maximum) is below 'min' \(minimum); expected max ≥ min")
        }
        return RoleDeclaration(name: name, description: description, minimum: minimum, maximum: maximum, declaredBy: stack)
    }

    private func readSetting(_ node: YAMLNode, stack: String) -> SettingDeclaration? {
        guard let map = node.mapping("settings item") else { return nil }
        defer { map.finish() }
        let key = map.required("key", expected: "a dotted key such as registry.port")?.nonEmptyString("key")
        let typeNode = map.required("type", expected: humanList(SettingType.allCases.map(\.rawValue)))
        var type: SettingType?
        if let typeNode, let text = typeNode.string("type") {
            type = SettingType(rawValue: text)
            if type == nil {
                typeNode.report("unknown setting type '\(text)'; expected \(humanList(SettingType.allCases.map(\.rawValue)))")
            }
        }
        let description = map.required("description", expected: "one line saying what the setting is for")?.string("description") ?? ""
        var fields: [String: SettingType] = [:]
        if let fieldsNode = map.optional("fields"), let fieldMap = fieldsNode.mapping("fields") {
            for entry in fieldMap.entries {
                guard let text = entry.value.string("fields.\(entry.key)") else { continue }
                if let fieldType = SettingType(rawValue: text) { fields[entry.key] = fieldType } else {
                    entry.value.report("unknown field type '\(text)'; expected \(humanList(SettingType.allCases.map(\.rawValue)))")
                }
                _ = fieldMap.optional(entry.key)
            }
            fieldMap.finish()
        }
        guard let key, let type else { return nil }
        if !key.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isIdentifier) {
            map.optional("key")?.report("setting key '\(key)' is not valid; expected dot-separated names such as registry.port")
        }
        var declaration = SettingDeclaration(key: key, type: type, defaultValue: nil, description: description,
                                             fields: fields, declaredBy: stack)
        // A default must itself be a valid value of the declared type: the inventory's own reader checks it.
        if let value = map.optional("default") {
            declaration.defaultValue = InventoryLoader(schema: InventorySchema(roles: [], settings: []))
                .typedSetting(value, declaration)
        }
        return declaration
    }

    private func readStep(_ node: YAMLNode, stack: String) -> Step? {
        guard let map = node.mapping("steps item") else { return nil }
        defer { map.finish() }
        let nameNode = map.required("name", expected: "the step's name")
        guard let name = nameNode?.nonEmptyString("name") else { return nil }
        if !NetworkSyntax.isLabel(name) {
            nameNode?.report("step name '\(name)' is not valid; expected letters, digits and '-'")
        }
        let id = StepID(stack: stack, step: name)
        var scope = Step.Scope.node
        if let scopeNode = map.optional("scope"), let text = scopeNode.string("scope") {
            if let parsed = Step.Scope(rawValue: text) { scope = parsed } else {
                scopeNode.report("'scope' of step '\(id)' is '\(text)'; expected node or cluster")
            }
        }
        let roles = map.optional("roles")?.stringList("roles") ?? []
        var after: [StepID] = []
        if let afterNode = map.optional("after"), let items = afterNode.sequence("after") {
            for item in items {
                guard let text = item.nonEmptyString("after item") else { continue }
                if let reference = StepID(text, defaultStack: stack) { after.append(reference) } else {
                    item.report("'after' entry '\(text)' is not valid; expected STEP or STACK/STEP")
                }
            }
        }
        let ephemeral = map.optional("ephemeral")?.boolean("ephemeral") ?? false
        let inputs = map.optional("inputs").map { readInputs($0, stack: stack) } ?? []
        let files = map.optional("files")?.sequence("files")?.compactMap(readFile) ?? []
        let artifacts = map.optional("artifacts")?.stringList("artifacts") ?? []
        let checkNode = map.optional("check")
        let check = checkNode.flatMap { readScript($0, field: "check") }
        let apply = map.required("apply", expected: "a POSIX sh script or a script file in the stack folder")
            .flatMap { readScript($0, field: "apply") }
        if checkNode == nil && !ephemeral {
            map.owner.report("step '\(id)' has no 'check'; expected a script that exits 0 when the step's state is already in place (or 'ephemeral: true')")
        }
        let remove = map.optional("remove").flatMap { readScript($0, field: "remove") }
        let removeOn = map.optional("removeOn")?.nonEmptyString("removeOn")
        var outputs: [OutputDeclaration] = []
        for item in map.optional("outputs")?.sequence("outputs") ?? [] {
            if case .scalar = item.node, let name = item.nonEmptyString("outputs item") {
                outputs.append(OutputDeclaration(name: name, secret: false))
            } else if let output = item.mapping("outputs item") {
                let name = output.required("name", expected: "the output's variable name")?.nonEmptyString("name")
                let secret = output.optional("secret")?.boolean("secret") ?? false
                output.finish()
                if let name { outputs.append(OutputDeclaration(name: name, secret: secret)) }
            }
            if let last = outputs.last, !isEnvironmentName(last.name) {
                item.report("output name '\(last.name)' is not valid; expected an upper-case variable name such as CA_HASH")
            }
        }
        let secrets = map.optional("secrets")?.sequence("secrets")?.compactMap(readSecret) ?? []
        guard let apply else { return nil }
        return Step(id: id, description: map.optional("description")?.string("description") ?? "", scope: scope,
                    roles: roles, after: after, inputs: inputs, files: files, artifacts: artifacts, check: check,
                    apply: apply, remove: remove, removeOn: removeOn, outputs: outputs, secrets: secrets,
                    ephemeral: ephemeral, location: map.location)
    }

    private func readInputs(_ node: YAMLNode, stack: String) -> [Input] {
        guard let map = node.mapping("inputs") else { return [] }
        var inputs: [Input] = []
        for entry in map.entries {
            _ = map.optional(entry.key)
            if !isEnvironmentName(entry.key) || entry.key.hasPrefix("ISLET_") {
                entry.keyNode.report("input name '\(entry.key)' is not valid; expected an upper-case variable name not starting with ISLET_")
                continue
            }
            if case .mapping = entry.value.node, let literal = entry.value.mapping("inputs.\(entry.key)") {
                if let value = literal.required("value", expected: "the literal value") {
                    inputs.append(Input(name: entry.key, reference: .literal(value.anyValue()), location: entry.value.location))
                }
                literal.finish()
                continue
            }
            guard let text = entry.value.nonEmptyString("inputs.\(entry.key)") else { continue }
            if let reference = parseReference(text, stack: stack) {
                inputs.append(Input(name: entry.key, reference: reference, location: entry.value.location))
            } else {
                entry.value.report("input '\(entry.key)' reads '\(text)'; expected cluster.FIELD, settings.KEY, node.name|address|roles, facts.\(Fact.allCases.map(\.rawValue).joined(separator: "|")), steps.STACK/STEP.OUTPUT or {value: ...}")
            }
        }
        return inputs
    }

    private func parseReference(_ text: String, stack: String) -> Reference? {
        guard let dot = text.firstIndex(of: ".") else { return nil }
        let head = String(text[..<dot])
        let rest = String(text[text.index(after: dot)...])
        guard !rest.isEmpty else { return nil }
        switch head {
        case "cluster": return .cluster(rest)
        case "settings": return .setting(rest)
        case "node": return ["name", "address", "roles"].contains(rest) ? .node(rest) : nil
        case "facts": return Fact(rawValue: rest) != nil ? .fact(rest) : nil
        case "steps":
            guard let lastDot = rest.lastIndex(of: "."),
                let source = StepID(String(rest[..<lastDot]), defaultStack: stack)
            else { return nil }
            let key = String(rest[rest.index(after: lastDot)...])
            return isEnvironmentName(key) ? .output(source, key) : nil
        default: return nil
        }
    }

    private func readFile(_ node: YAMLNode) -> ManagedFile? {
        guard let map = node.mapping("files item") else { return nil }
        defer { map.finish() }
        let templateNode = map.required("template", expected: "a template file in the stack folder")
        let template = templateNode?.nonEmptyString("template")
        let destinationNode = map.required("destination", expected: "an absolute path on the node")
        let destination = destinationNode?.nonEmptyString("destination")
        if let destination, !destination.hasPrefix("/") || destination.hasSuffix("/") || destination.contains("\n") {
            destinationNode?.report("destination '\(destination)' is not valid; expected an absolute file path")
        }
        var mode = 0o644
        if let modeNode = map.optional("mode"), let text = modeNode.string("mode") {
            if let parsed = Int(text, radix: 8), (0...0o7777).contains(parsed) { mode = parsed } else {
                modeNode.report("'mode' is '\(text)'; expected an octal file mode such as \"0644\"")
            }
        }
        let ownerNode = map.optional("owner")
        let owner = ownerNode?.nonEmptyString("owner")
        if let owner, !owner.allSatisfy({ $0.isLetter || $0.isNumber || "_-:.".contains($0) }) {
            ownerNode?.report("'owner' is '\(owner)'; expected USER or USER:GROUP")
        }
        guard let template, let destination, let templateNode else { return nil }
        let path = directory + "/" + template
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            templateNode.report("template '\(template)' not found in \(directory); expected a UTF-8 file in the stack folder")
            return nil
        }
        do {
            _ = try TemplateRenderer.compile(text)
        } catch {
            templateNode.report("template '\(template)' does not parse: \(error)")
            return nil
        }
        return ManagedFile(template: template, templateText: text, destination: destination, mode: mode, owner: owner)
    }

    private func readSecret(_ node: YAMLNode) -> SecretDeclaration? {
        guard let map = node.mapping("secrets item") else { return nil }
        defer { map.finish() }
        let nameNode = map.required("name", expected: "the secret's variable name")
        let name = nameNode?.nonEmptyString("name")
        if let name, !isEnvironmentName(name) {
            nameNode?.report("secret name '\(name)' is not valid; expected an upper-case variable name")
        }
        let length = map.optional("length")?.integer("length", in: 8...4096, meaning: "a length from 8 to 4096") ?? 32
        var alphabet = Self.alphabets["alphanumeric"]!
        if let alphabetNode = map.optional("alphabet"), let text = alphabetNode.string("alphabet") {
            if let known = Self.alphabets[text] { alphabet = known } else {
                alphabetNode.report("unknown alphabet '\(text)'; expected \(humanList(Self.alphabets.keys.sorted()))")
            }
        }
        guard let name else { return nil }
        return SecretDeclaration(name: name, length: length, alphabet: alphabet)
    }

    /// A script is a file in the stack folder when the value names one; otherwise the value is the script.
    private func readScript(_ node: YAMLNode, field: String) -> Script? {
        guard let text = node.nonEmptyString(field) else { return nil }
        let looksLikePath = !text.contains("\n") && !text.contains(" ") && text.hasSuffix(".sh")
        if looksLikePath {
            let path = directory + "/" + text
            guard let body = try? String(contentsOfFile: path, encoding: .utf8) else {
                node.report("script file '\(text)' not found in \(directory); expected a POSIX sh file in the stack folder")
                return nil
            }
            return Script(text: body, origin: path)
        }
        return Script(text: text, origin: "\(node.location)")
    }
}

func isIdentifier<S: StringProtocol>(_ text: S) -> Bool {
    guard let first = text.first, first.isLetter || first == "_" else { return false }
    return text.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" || $0 == "-" }
}

/// Upper-case shell variable names: the only names inputs and outputs may take.
func isEnvironmentName(_ text: String) -> Bool {
    guard let first = text.unicodeScalars.first, ("A"..."Z").contains(first) || first == "_" else { return false }
    return text.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
}
