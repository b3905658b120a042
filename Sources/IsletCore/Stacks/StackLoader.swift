import Foundation
import Mustache

/// Reads one stack folder: `stack.yaml`, its scripts and its templates.
struct StackLoader {
    let directory: String
    let sink: DiagnosticSink
    /// Where this stack names things other stacks define; `Catalog` checks them once every stack is read.
    var references = StackReferences()

    /// Names of the characters a generated secret may draw from.
    static let alphabets: [String: String] = [
        "alphanumeric": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "hex": "0123456789abcdef",
        "base64url": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        "lowercase": "abcdefghijklmnopqrstuvwxyz0123456789",
    ]

    static let stepKeys = Set([
        "name", "description", "scope", "roles", "forEach", "after", "afterOnNode", "inputs", "files", "check",
        "apply", "remove", "removeOn", "outputs", "secrets", "ephemeral", "when",
    ])

    var file: String { directory + "/stack.yaml" }

    func load() -> Stack? {
        guard let root = YAMLNode.load(file: file, displayName: file, sink: sink), let top = root.mapping("stack")
        else {
            return nil
        }
        defer { top.finish() }
        top.readHeader(kind: "Stack")
        // The folder names the stack everywhere (step ids, requires), so a wrong `name:` is one problem, not a
        // cascade of unknown stacks and steps.
        let name = URL(fileURLWithPath: directory).lastPathComponent
        let nameNode = top.required("name", expected: "the stack's name, the same as its folder")
        if let nameNode, let written = nameNode.nonEmptyString("name") {
            if written != name {
                nameNode.report("stack name '\(written)' does not match its folder '\(name)'; expected name: \(name)")
            } else if !NetworkSyntax.isLabel(name) {
                nameNode.report(
                    "stack name '\(name)' is not a DNS label; expected letters, digits and '-' (rename the folder too)")
            }
        }
        let description = top.optional("description")?.string("description") ?? ""
        let requiresNode = top.optional("requires")
        let requires = requiresNode?.stringList("requires") ?? []
        if let items = requiresNode?.sequence("requires"), items.count == requires.count {
            references.requires[name] = zip(requires, items).map {
                StackReferences.Named(name: $0, location: $1.location)
            }
        }
        let roles = top.optional("roles")?.sequence("roles")?.compactMap { readRole($0, stack: name) } ?? []
        let settings = top.optional("settings")?.sequence("settings")?.compactMap { readSetting($0, stack: name) } ?? []
        let artifacts = top.optional("artifacts").map { readArtifacts($0, stack: name) } ?? StackArtifacts()
        let store = top.optional("artifactStore").flatMap { readArtifactStore($0, stack: name) }
        let preflight = top.optional("preflight").map(readPreflight) ?? Preflight()
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
        return Stack(
            name: name, description: description, directory: directory, requires: requires, roles: roles,
            settings: settings, steps: steps, artifacts: artifacts, artifactStore: store, preflight: preflight)
    }

    private func readPreflight(_ node: YAMLNode) -> Preflight {
        var preflight = Preflight(location: node.location)
        guard let map = node.mapping("preflight") else { return preflight }
        defer { map.finish() }
        if let list = map.optional("uniqueFacts") {
            for (name, item) in zip(list.stringList("uniqueFacts") ?? [], list.sequence("uniqueFacts") ?? []) {
                if let fact = Fact(rawValue: name) {
                    preflight.uniqueFacts.append(fact)
                } else {
                    item.report(
                        "unknown fact '\(name)'; expected one of \(Fact.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
            }
        }
        preflight.minimumMemoryMiB = map.optional("minimumMemoryMiB")?.integer(
            "minimumMemoryMiB", in: 1...1 << 30, meaning: "a size in MiB")
        preflight.minimumDiskMiB = map.optional("minimumDiskMiB")?.integer(
            "minimumDiskMiB", in: 1...1 << 40, meaning: "a size in MiB")
        return preflight
    }

    private func readRole(_ node: YAMLNode, stack: String) -> RoleDeclaration? {
        guard let map = node.mapping("roles item") else { return nil }
        defer { map.finish() }
        let name = map.required("name", expected: "the role's name")?.nonEmptyString("name")
        if let name { references.declaredRoles.insert(name) }
        let description = map.optional("description")?.string("description") ?? ""
        let minimum = map.optional("min")?.integer("min", in: 0...10_000, meaning: "a count of nodes") ?? 0
        let maximumNode = map.optional("max")
        let maximum = maximumNode?.integer("max", in: 1...10_000, meaning: "a count of nodes")
        if let maximum, maximum < minimum {
            maximumNode?.report("'max' \(maximum) is below 'min' \(minimum); expected max ≥ min")
        }
        guard let name else { return nil }
        return RoleDeclaration(
            name: name, description: description, minimum: minimum, maximum: maximum, declaredBy: stack)
    }

    private func readSetting(_ node: YAMLNode, stack: String) -> SettingDeclaration? {
        guard let map = node.mapping("settings item") else { return nil }
        defer { map.finish() }
        let key = map.required("key", expected: "a dotted key such as registry.port")?.nonEmptyString("key")
        let typeNode = map.required("type", expected: humanList(SettingType.allCases.map(\.rawValue)))
        var type: SettingType?
        if let key {
            references.declaredSettings[stack, default: [:]][key] = typeNode?.location ?? map.location
        }
        if let typeNode, let text = typeNode.string("type") {
            type = SettingType(rawValue: text)
            if type == nil {
                typeNode.report(
                    "unknown setting type '\(text)'; expected \(humanList(SettingType.allCases.map(\.rawValue)))")
            }
        }
        let description =
            map.required("description", expected: "one line saying what the setting is for")?.string("description")
            ?? ""
        var fields: [String: SettingType] = [:]
        if let fieldsNode = map.optional("fields"), let fieldMap = fieldsNode.mapping("fields") {
            for entry in fieldMap.entries {
                guard let text = entry.value.string("fields.\(entry.key)") else { continue }
                if let fieldType = SettingType(rawValue: text) {
                    fields[entry.key] = fieldType
                } else {
                    entry.value.report(
                        "unknown field type '\(text)'; expected \(humanList(SettingType.allCases.map(\.rawValue)))")
                }
                _ = fieldMap.optional(entry.key)
            }
            fieldMap.finish()
        }
        let defaultNode = map.optional("default")
        let secret = map.optional("secret")?.boolean("secret") ?? false
        guard let key, let type else { return nil }
        if !key.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isIdentifier) {
            map.optional("key")?.report(
                "setting key '\(key)' is not valid; expected dot-separated names such as registry.port")
        }
        var declaration = SettingDeclaration(
            key: key, type: type, defaultValue: nil, description: description,
            fields: fields, declaredBy: stack, secret: secret)
        // A default must itself be a valid value of the declared type: the inventory's own reader checks it.
        if let defaultNode {
            declaration.defaultValue = InventoryLoader(schema: InventorySchema(roles: [], settings: []))
                .typedSetting(defaultNode, declaration, field: "default")
        }
        return declaration
    }

    private func readStep(_ node: YAMLNode, stack: String) -> Step? {
        guard let map = node.mapping("steps item") else { return nil }
        defer { map.finish() }
        let nameNode = map.required("name", expected: "the step's name")
        guard let name = nameNode?.nonEmptyString("name") else {
            // Other steps may name this one: their references cannot be checked, and its keys are not unknown.
            references.stacksWithUnnamedSteps.insert(stack)
            map.allow(Self.stepKeys.sorted())
            return nil
        }
        if !NetworkSyntax.isLabel(name) {
            nameNode?.report("step name '\(name)' is not valid; expected letters, digits and '-'")
        }
        let id = StepID(stack: stack, step: name)
        let description = map.optional("description")?.string("description") ?? ""
        let firstWithThisName = references.steps[id] == nil
        var located = StackReferences.StepReferences()
        var scope = Step.Scope.node
        if let scopeNode = map.optional("scope"), let text = scopeNode.string("scope") {
            if let parsed = Step.Scope(rawValue: text) {
                scope = parsed
            } else {
                scopeNode.report("'scope' of step '\(id)' is '\(text)'; expected node or cluster")
            }
        }
        let rolesNode = map.optional("roles")
        let roles = rolesNode?.stringList("roles") ?? []
        if let items = rolesNode?.sequence("roles"), items.count == roles.count {
            located.roles = zip(roles, items).map { StackReferences.Named(name: $0, location: $1.location) }
        }
        var after: [StepID] = []
        var onNodeOnly: Set<StepID> = []
        for field in ["after", "afterOnNode"] {
            guard let afterNode = map.optional(field), let items = afterNode.sequence(field) else { continue }
            for item in items {
                guard let text = item.nonEmptyString("\(field) item") else { continue }
                if let reference = StepID(text, defaultStack: stack) {
                    after.append(reference)
                    if field == "afterOnNode" { onNodeOnly.insert(reference) }
                    located.after.append(StackReferences.Named(name: reference.description, location: item.location))
                } else {
                    item.report("'\(field)' entry '\(text)' is not valid; expected STEP or STACK/STEP")
                }
            }
        }
        let ephemeral = map.optional("ephemeral")?.boolean("ephemeral") ?? false
        // `settings.KEY` fields: the setting named, with where it is written for later messages.
        func settingField(_ field: String, expected: String) -> StackReferences.Named? {
            guard let node = map.optional(field), let text = node.nonEmptyString(field) else { return nil }
            guard text.hasPrefix("settings."), text.count > "settings.".count else {
                node.report("'\(field)' reads '\(text)'; expected settings.KEY, \(expected)")
                return nil
            }
            return StackReferences.Named(name: String(text.dropFirst("settings.".count)), location: node.location)
        }
        located.forEach = settingField("forEach", expected: "a list setting whose items have a name")
        located.when = settingField("when", expected: "a boolean setting")
        let forEach = located.forEach?.name
        let when = located.when?.name
        let inputs = map.optional("inputs").map { readInputs($0, stack: stack) } ?? []
        var secrets: [SecretDeclaration] = []
        for item in map.optional("secrets")?.sequence("secrets") ?? [] {
            if let secret = readSecret(item, inputs: inputs.map(\.name), earlier: secrets) { secrets.append(secret) }
        }
        // Templates see the step's inputs and its generated secrets, nothing else.
        let templateNames = inputs.map(\.name) + secrets.flatMap(\.variables)
        let files =
            map.optional("files")?.sequence("files")?.compactMap {
                readFile($0, step: id, inputs: templateNames)
            } ?? []
        let checkNode = map.optional("check")
        let check = checkNode.flatMap { readScript($0, field: "check") }
        let applyNode = map.required("apply", expected: "a POSIX sh script or a script file in the stack folder")
        let apply = applyNode.flatMap { readScript($0, field: "apply") }
        if checkNode == nil && !ephemeral {
            map.owner.report(
                "step '\(id)' has no 'check'; expected a script that exits 0 when the step's state is already in place (or 'ephemeral: true')"
            )
        }
        let remove = map.optional("remove").flatMap { readScript($0, field: "remove") }
        let removeOnNode = map.optional("removeOn")
        let removeOn = removeOnNode?.nonEmptyString("removeOn")
        if let removeOn, let removeOnNode {
            located.roles.append(StackReferences.Named(name: removeOn, location: removeOnNode.location))
        }
        var outputs: [OutputDeclaration] = []
        for item in map.optional("outputs")?.sequence("outputs") ?? [] {
            if case .scalar = item.node, let name = item.nonEmptyString("outputs item") {
                outputs.append(OutputDeclaration(name: name, secret: false))
            } else if let output = item.mapping("outputs item") {
                let name = output.required("name", expected: "the output's variable name")?.nonEmptyString("name")
                let secret = output.optional("secret")?.boolean("secret") ?? false
                let fileNode = output.optional("file")
                let file = fileNode?.nonEmptyString("file")
                if let file, let fileNode, !OutputFile.isValidName(file) {
                    fileNode.report(
                        "output file '\(file)' is not valid; expected a plain file name for islet's state folder, such as kubeconfig (not \(OutputFile.reservedNames.sorted().joined(separator: ", ")))"
                    )
                }
                output.finish()
                if let name { outputs.append(OutputDeclaration(name: name, secret: secret, file: file)) }
            }
            if let last = outputs.last, !isEnvironmentName(last.name) {
                item.report(
                    "output name '\(last.name)' is not valid; expected an upper-case variable name such as CA_HASH")
            }
        }
        if firstWithThisName { references.steps[id] = located }
        // A step whose apply is missing or unreadable (already reported) still exists for the steps that name it.
        let placeholder = Script(text: "", origin: "\(applyNode?.location ?? map.location)")
        return Step(
            id: id, description: description, scope: scope,
            roles: roles, after: after, onNodeOnly: onNodeOnly, inputs: inputs, files: files, check: check,
            apply: apply ?? placeholder, remove: remove, removeOn: removeOn, outputs: outputs, secrets: secrets,
            ephemeral: ephemeral, location: map.location, forEach: forEach, when: when)
    }

    private func readInputs(_ node: YAMLNode, stack: String) -> [Input] {
        guard let map = node.mapping("inputs") else { return [] }
        var inputs: [Input] = []
        for entry in map.entries {
            _ = map.optional(entry.key)
            if !isEnvironmentName(entry.key) || entry.key.hasPrefix("ISLET_") {
                entry.keyNode.report(
                    "input name '\(entry.key)' is not valid; expected an upper-case variable name not starting with ISLET_"
                )
                continue
            }
            if case .mapping = entry.value.node, let literal = entry.value.mapping("inputs.\(entry.key)") {
                if let value = literal.required("value", expected: "the literal value") {
                    inputs.append(
                        Input(name: entry.key, reference: .literal(value.anyValue()), location: entry.value.location))
                }
                literal.finish()
                continue
            }
            guard let text = entry.value.nonEmptyString("inputs.\(entry.key)") else { continue }
            if let reference = parseReference(text, stack: stack) {
                inputs.append(Input(name: entry.key, reference: reference, location: entry.value.location))
            } else {
                entry.value.report(
                    "input '\(entry.key)' reads '\(text)'; expected cluster.FIELD, settings.KEY, node.name|address|roles|arch, nodes.all|ROLE, item.FIELD, facts.\(Fact.allCases.map(\.rawValue).joined(separator: "|")), steps.STACK/STEP.OUTPUT, artifacts.NAME or {value: ...}"
                )
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
        case "node": return ["name", "address", "roles", "arch"].contains(rest) ? .node(rest) : nil
        case "item": return isItemField(rest) ? .item(rest) : nil
        case "nodes" where rest == "all": return .nodes(role: nil)
        case "nodes": return NetworkSyntax.isLabel(rest) ? .nodes(role: rest) : nil
        case "facts": return Fact(rawValue: rest) != nil ? .fact(rest) : nil
        case "artifacts":
            let parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count <= 2, parts.allSatisfy(NetworkSyntax.isLabel) else { return nil }
            return .artifact(ArtifactID(stack: parts.count == 2 ? parts[0] : stack, name: parts.last!))
        case "steps":
            guard let lastDot = rest.lastIndex(of: "."),
                let source = StepID(String(rest[..<lastDot]), defaultStack: stack)
            else { return nil }
            let key = String(rest[rest.index(after: lastDot)...])
            return isEnvironmentName(key) ? .output(source, key) : nil
        default: return nil
        }
    }

    private func readFile(_ node: YAMLNode, step: StepID, inputs: [String]) -> ManagedFile? {
        guard let map = node.mapping("files item") else { return nil }
        defer { map.finish() }
        let templateNode = map.required("template", expected: "a template file in the stack folder")
        let template = templateNode?.nonEmptyString("template")
        let destinationNode = map.required("destination", expected: "an absolute path on the node")
        let destination = destinationNode?.nonEmptyString("destination")
        if let destination, !isNormalisedAbsolutePath(destination) {
            destinationNode?.report(
                "destination '\(destination)' is not valid; expected an absolute, normalised file path (no '.', '..', '//' or trailing '/')"
            )
        }
        var mode = 0o644
        if let modeNode = map.optional("mode"), let text = modeNode.string("mode") {
            if let parsed = Int(text, radix: 8), (0...0o7777).contains(parsed) {
                mode = parsed
            } else {
                modeNode.report("'mode' is '\(text)'; expected an octal file mode such as \"0644\"")
            }
        }
        let ownerNode = map.optional("owner")
        let owner = ownerNode?.nonEmptyString("owner")
        if let owner, !owner.allSatisfy({ $0.isLetter || $0.isNumber || "_-:.".contains($0) }) {
            ownerNode?.report("'owner' is '\(owner)'; expected USER or USER:GROUP")
        }
        guard let template, let destination, let templateNode, let destinationNode else { return nil }
        let path = directory + "/" + template
        guard let text = readStackFile(template, at: templateNode, what: "template", expected: "a UTF-8 file") else {
            return nil
        }
        do {
            _ = try TemplateRenderer.compile(text)
        } catch {
            let (line, column, problem) = describeTemplateError(error, in: text)
            sink.report(
                SourceLocation(file: path, line: line, column: column),
                "template '\(template)' does not parse: \(problem)")
            return nil
        }
        for problem in TemplateRenderer.unsupportedTags(in: text, inputs: Set(inputs)) {
            sink.report(
                SourceLocation(file: path, line: problem.line, column: problem.column),
                "template '\(template)' of step '\(step)' \(problem.message)")
        }
        return ManagedFile(
            template: template, templateText: text, destination: destination, mode: mode, owner: owner,
            location: destinationNode.location)
    }

    static let secretKinds = ["password", "bcrypt", "certificate-authority", "certificate"]

    /// One `secrets:` item; `inputs` are the step's input names (a certificate's names and addresses come from
    /// them), `earlier` the secrets declared before it (a certificate's authority is one of them).
    private func readSecret(_ node: YAMLNode, inputs: [String], earlier: [SecretDeclaration]) -> SecretDeclaration? {
        guard let map = node.mapping("secrets item") else { return nil }
        defer { map.finish() }
        let nameNode = map.required("name", expected: "the secret's variable name")
        let name = nameNode?.nonEmptyString("name")
        if let name, !isEnvironmentName(name) {
            nameNode?.report("secret name '\(name)' is not valid; expected an upper-case variable name")
        }
        var kindText = "password"
        if let kindNode = map.optional("kind"), let text = kindNode.string("kind") {
            if Self.secretKinds.contains(text) {
                kindText = text
            } else {
                kindNode.report("unknown secret kind '\(text)'; expected \(humanList(Self.secretKinds))")
            }
        }
        let kind: SecretDeclaration.Kind
        switch kindText {
        case "certificate-authority":
            let commonName =
                map.required("commonName", expected: "the authority's name, shown in the certificates it signs")?
                .nonEmptyString("commonName") ?? ""
            var file: String?
            if let fileNode = map.optional("file"), let text = fileNode.nonEmptyString("file") {
                file = text
                if !OutputFile.isValidName(text) {
                    fileNode.report(
                        "authority file '\(text)' is not valid; expected a plain file name for islet's state folder, such as registry-ca.crt"
                    )
                }
            }
            kind = .certificateAuthority(commonName: commonName, file: file)
        case "bcrypt":
            let of = earlierSecret(in: map, field: "of", kind: "password", earlier: earlier) {
                if case .password = $0 { true } else { false }
            }
            kind = .bcrypt(of: of)
        case "certificate":
            let authority = earlierSecret(in: map, field: "authority", kind: "certificate-authority", earlier: earlier)
            {
                if case .certificateAuthority = $0 { true } else { false }
            }
            func names(_ field: String) -> [String] {
                guard let listNode = map.optional(field), let items = listNode.sequence(field) else { return [] }
                return items.compactMap { item in
                    guard let text = item.nonEmptyString("\(field) item") else { return nil }
                    if !inputs.contains(text) {
                        item.report(
                            "\(field) entry '\(text)' is not an input of the step; expected one of \(humanList(inputs))"
                        )
                    }
                    return text
                }
            }
            let dnsNames = names("dnsNames")
            let ipAddresses = names("ipAddresses")
            if dnsNames.isEmpty && ipAddresses.isEmpty {
                map.owner.report(
                    "certificate '\(name ?? "")' names no host; expected dnsNames or ipAddresses (step inputs)")
            }
            kind = .certificate(authority: authority, dnsNames: dnsNames, ipAddresses: ipAddresses)
        default:
            let length =
                map.optional("length")?.integer("length", in: 8...4096, meaning: "a length from 8 to 4096") ?? 32
            var alphabet = Self.alphabets["alphanumeric"]!
            if let alphabetNode = map.optional("alphabet"), let text = alphabetNode.string("alphabet") {
                if let known = Self.alphabets[text] {
                    alphabet = known
                } else {
                    alphabetNode.report(
                        "unknown alphabet '\(text)'; expected \(humanList(Self.alphabets.keys.sorted()))")
                }
            }
            kind = .password(length: length, alphabet: alphabet)
        }
        guard let name else { return nil }
        return SecretDeclaration(name: name, kind: kind)
    }

    /// The name in `field` of a secret of `kind` declared before this one in the step (a bcrypt hash's password,
    /// a certificate's authority); reported when there is none.
    private func earlierSecret(
        in map: YAMLMapping, field: String, kind: String, earlier: [SecretDeclaration],
        isKind: (SecretDeclaration.Kind) -> Bool
    ) -> String {
        let node = map.required(field, expected: "the name of a \(kind) secret of this step, listed before")
        let name = node?.nonEmptyString(field) ?? ""
        if let node, !name.isEmpty, !earlier.contains(where: { $0.name == name && isKind($0.kind) }) {
            node.report(
                "\(field) '\(name)' is not a \(kind) secret declared before this one in the step; expected one listed before it"
            )
        }
        return name
    }

    /// A value is a script file when it is one word that ends in `.sh`, starts with `scripts/`, or names a file in
    /// the stack folder; a script file must end in `.sh` (so `scripts/ok.py` is refused rather than run as a
    /// command). Anything else is an inline script.
    private func readScript(_ node: YAMLNode, field: String) -> Script? {
        guard var text = node.nonEmptyString(field) else { return nil }
        // `scripts/x.sh WORD...`: a script file run with arguments, which reach it as "$1"...
        var arguments: [String] = []
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if words.count > 1, words[0].hasSuffix(".sh"), !text.contains("\n"),
            words.dropFirst().allSatisfy(Self.isPlainArgument)
        {
            text = words[0]
            arguments = Array(words.dropFirst())
        }
        let oneWord = !text.contains(where: \.isWhitespace)
        let path = directory + "/" + text
        let looksLikePath =
            oneWord
            && (text.hasSuffix(".sh") || text.hasPrefix("scripts/") || FileManager.default.fileExists(atPath: path))
        guard looksLikePath else { return Script(text: text, origin: "\(node.location)") }
        guard text.hasSuffix(".sh") else {
            node.report(
                "script file '\(text)' does not end in .sh; expected a POSIX sh file NAME.sh in the stack folder, or an inline command"
            )
            return nil
        }
        guard let body = readStackFile(text, at: node, what: "script file", expected: "a POSIX sh file") else {
            return nil
        }
        guard !arguments.isEmpty else { return Script(text: body, origin: path) }
        // Words of letters, digits and ./_:- only, so quoting them cannot go wrong.
        let setArguments = "set -- " + arguments.map { "'\($0)'" }.joined(separator: " ") + "\n"
        return Script(text: setArguments + body, origin: path + " " + arguments.joined(separator: " "))
    }

    /// A field name of a list setting's item: letters, digits and '_' after a letter.
    private func isItemField(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, CharacterSet.letters.contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_") }
    }

    static func isPlainArgument(_ word: String) -> Bool {
        !word.isEmpty
            && word.unicodeScalars.allSatisfy {
                ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || "._/:-=".unicodeScalars.contains($0)
            }
    }

    /// The text of a file the stack names, read only when it exists and lies inside the stack folder.
    /// - Returns: nil after reporting at `node` why it cannot be used.
    private func readStackFile(_ relative: String, at node: YAMLNode, what: String, expected: String) -> String? {
        guard FileManager.default.fileExists(atPath: directory + "/" + relative) else {
            node.report("\(what) '\(relative)' not found in \(directory); expected \(expected) in the stack folder")
            return nil
        }
        guard let resolved = resolveInsideStack(relative, at: node, what: what) else { return nil }
        guard let text = try? String(contentsOfFile: resolved, encoding: .utf8) else {
            node.report("\(what) '\(relative)' cannot be read as UTF-8 text; expected \(expected) in the stack folder")
            return nil
        }
        return text
    }

    /// The real path of a file the stack names, when it lies inside the stack's folder once every symlink and `..`
    /// is resolved: nothing outside the folder (the operator's /etc/shadow, say) may reach a node or a log.
    /// - Returns: nil after reporting at `node` when it leads outside or is not a regular file.
    private func resolveInsideStack(_ relative: String, at node: YAMLNode, what: String) -> String? {
        let folder = realPath(directory) ?? directory
        guard let resolved = realPath(directory + "/" + relative) else { return nil }
        guard resolved.hasPrefix(folder + "/") else {
            node.report(
                "\(what) '\(relative)' resolves to \(resolved), outside the stack folder \(directory); expected a file inside the stack folder (no symlink or '..' leading out)"
            )
            return nil
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), !isDirectory.boolValue else {
            node.report("\(what) '\(relative)' is a folder; expected a file in the stack folder")
            return nil
        }
        return resolved
    }
}

/// `realpath(3)`: the absolute path with every symlink, `.` and `..` resolved; nil when it does not exist.
func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}

/// An absolute path written the one way it resolves: no `.` or `..` component, no `//`, no trailing `/`, and
/// no control character.
func isNormalisedAbsolutePath(_ path: String) -> Bool {
    guard path.hasPrefix("/"), path.count > 1, !path.hasSuffix("/") else { return false }
    guard !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return false }
    let components = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
    return components.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
}

/// Where a template's parse error is (line and column in the template file itself) and what it is.
func describeTemplateError(_ error: Error, in text: String) -> (line: Int, column: Int, problem: String) {
    guard let parseError = error as? MustacheTemplate.ParserError else {
        return (1, 1, "\(error); expected a Mustache template")
    }
    var line = parseError.context.lineNumber
    var column = parseError.context.columnNumber
    if line == 1 {
        // TemplateRenderer puts a pragma in front of the first line; columns there count it.
        let firstLine = text.prefix { $0 != "\n" }
        if parseError.context.line.hasSuffix(firstLine) {
            column = max(1, column - (parseError.context.line.count - firstLine.count))
        }
    }
    let problem: String
    switch parseError.error as? MustacheTemplate.Error {
    case .expectedSectionEnd?:
        if let open = unclosedSection(in: text) {
            (line, column) = (open.line, open.column)
            problem = "section '\(open.name)' is never closed; expected {{/\(open.name)}} after it"
        } else {
            problem = "a section is never closed; expected {{/NAME}} for every {{#NAME}} and {{^NAME}}"
        }
    case .sectionCloseNameIncorrect?:
        problem =
            "a section is closed with another name than it was opened with; expected {{/NAME}} to close the last {{#NAME}} or {{^NAME}}"
    case .unfinishedName?:
        problem = "a tag is not finished; expected {{NAME}} with both closing braces"
    case .invalidSetDelimiter?:
        problem = "a set-delimiter tag is malformed; expected {{=<% %>=}}"
    default:
        problem = "\(parseError.error); expected a Mustache template"
    }
    return (line, column, problem)
}

/// The innermost section left open at the end of a template, found by a plain scan of `{{#…}}`, `{{^…}}` and `{{/…}}`.
private func unclosedSection(in text: String) -> (name: String, line: Int, column: Int)? {
    var open: [(name: String, line: Int, column: Int)] = []
    for (index, lineText) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        var rest = lineText[...]
        while let start = rest.range(of: "{{") {
            let tagStart = start.lowerBound
            let afterBraces = rest[start.upperBound...]
            guard let end = afterBraces.range(of: "}}") else { break }
            let tag = afterBraces[..<end.lowerBound].trimmingCharacters(in: .whitespaces)
            let name = tag.dropFirst().trimmingCharacters(in: .whitespaces)
            let column = lineText.distance(from: lineText.startIndex, to: tagStart) + 1
            if tag.hasPrefix("#") || tag.hasPrefix("^") {
                open.append((name, index + 1, column))
            } else if tag.hasPrefix("/"), let last = open.lastIndex(where: { $0.name == name }) {
                open.removeSubrange(last...)
            }
            rest = afterBraces[end.upperBound...]
        }
    }
    return open.last
}

/// Where stacks name roles, stacks and steps that may be defined elsewhere, so `Catalog` can point at the exact
/// line of a name that does not exist, and can tell a missing definition from one it could not read.
final class StackReferences {
    struct Named {
        var name: String
        var location: SourceLocation
    }

    struct StepReferences {
        var roles: [Named] = []
        var after: [Named] = []
        var forEach: Named?
        var when: Named?
    }

    var requires: [String: [Named]] = [:]
    var steps: [StepID: StepReferences] = [:]
    /// Every setting key each stack declares, with where its type is written, including keys whose type is wrong.
    var declaredSettings: [String: [String: SourceLocation]] = [:]
    /// Every role name declared, including by role entries that are otherwise broken.
    var declaredRoles: Set<String> = []
    /// Folders whose stack.yaml could not be read at all: what they define is unknown.
    var unreadableStacks: Set<String> = []
    /// Stacks with a step whose name could not be read.
    var stacksWithUnnamedSteps: Set<String> = []

    /// Whether a reference to a step of `stack` can be checked: false when that stack was not fully read.
    func canCheckSteps(of stack: String) -> Bool {
        !unreadableStacks.contains(stack) && !stacksWithUnnamedSteps.contains(stack)
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
