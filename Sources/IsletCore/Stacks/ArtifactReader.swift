import Foundation

/// Reads a stack's `artifacts:` section: the files and images its steps need, with their pinned digests.
extension StackLoader {
    func readArtifacts(_ node: YAMLNode, stack: String) -> StackArtifacts {
        guard let map = node.mapping("artifacts") else { return StackArtifacts() }
        defer { map.finish() }
        var artifacts = StackArtifacts()
        var seen: [String: SourceLocation] = [:]
        func unique(_ name: String, at item: YAMLNode) -> Bool {
            if let first = seen[name] {
                item.report("duplicate artifact name '\(name)' (first at line \(first.line)); expected unique names")
                return false
            }
            seen[name] = item.location
            return true
        }
        for item in map.optional("files")?.sequence("artifacts.files") ?? [] {
            if let file = readFileArtifact(item, stack: stack), unique(file.id.name, at: item) {
                artifacts.files.append(file)
            }
        }
        for item in map.optional("images")?.sequence("artifacts.images") ?? [] {
            if let image = readImageArtifact(item, stack: stack), unique(image.id.name, at: item) {
                artifacts.images.append(image)
            }
        }
        return artifacts
    }

    /// `artifactStore: {step: STEP, port: settings.KEY | {value: PORT}, authority: STEP.SECRET,
    /// credentials: {username: settings.KEY | {value: NAME}, password: STEP.SECRET}}`.
    func readArtifactStore(_ node: YAMLNode, stack: String) -> ArtifactStore? {
        guard let map = node.mapping("artifactStore") else { return nil }
        defer { map.finish() }
        let stepNode = map.required("step", expected: "the step after which the store answers")
        let step = stepNode?.nonEmptyString("step").flatMap { StepID($0, defaultStack: stack) }
        if let stepNode, step == nil, stepNode.string("step") != nil {
            stepNode.report("'step' is not valid; expected STEP or STACK/STEP")
        }
        let portNode = map.required("port", expected: "settings.KEY or {value: PORT}")
        var port: Reference?
        if let portNode {
            if case .mapping = portNode.node, let literal = portNode.mapping("port") {
                port = literal.required("value", expected: "a port number")?.port("port").map {
                    .literal(.integer($0))
                }
                literal.finish()
            } else if let text = portNode.nonEmptyString("port") {
                if text.hasPrefix("settings."), text.count > "settings.".count {
                    port = .setting(String(text.dropFirst("settings.".count)))
                } else {
                    portNode.report("'port' is '\(text)'; expected settings.KEY or {value: PORT}")
                }
            }
        }
        // STEP.SECRET: a generated secret of a step.
        func secretReference(_ node: YAMLNode, field: String, expected: String) -> ArtifactStore.SecretReference? {
            guard let text = node.nonEmptyString(field) else { return nil }
            if let dot = text.lastIndex(of: "."), let owner = StepID(String(text[..<dot]), defaultStack: stack),
                text.index(after: dot) < text.endIndex
            {
                return ArtifactStore.SecretReference(step: owner, secret: String(text[text.index(after: dot)...]))
            }
            node.report("'\(field)' is '\(text)'; expected STEP.SECRET, \(expected)")
            return nil
        }
        let authority = map.optional("authority").flatMap {
            secretReference($0, field: "authority", expected: "a certificate-authority secret of a step")
        }
        var credentials: ArtifactStore.Credentials?
        if let credentialsNode = map.optional("credentials"), let fields = credentialsNode.mapping("credentials") {
            let username = fields.required("username", expected: "settings.KEY or {value: NAME}").flatMap {
                userNode -> Reference? in
                if case .mapping = userNode.node, let literal = userNode.mapping("username") {
                    defer { literal.finish() }
                    return literal.required("value", expected: "a user name")?.nonEmptyString("value").map {
                        .literal(.string($0))
                    }
                }
                guard let text = userNode.nonEmptyString("username") else { return nil }
                guard text.hasPrefix("settings."), text.count > "settings.".count else {
                    userNode.report("'username' is '\(text)'; expected settings.KEY or {value: NAME}")
                    return nil
                }
                return .setting(String(text.dropFirst("settings.".count)))
            }
            let password = fields.required("password", expected: "STEP.SECRET, a password secret of a step").flatMap {
                secretReference($0, field: "password", expected: "a password secret of a step")
            }
            fields.finish()
            if let username, let password {
                credentials = ArtifactStore.Credentials(username: username, password: password)
            }
        }
        guard let step, let port else { return nil }
        return ArtifactStore(
            step: step, port: port, authority: authority, credentials: credentials, location: map.location)
    }

    private func readArtifactName(_ map: YAMLMapping) -> String? {
        let node = map.required("name", expected: "the artifact's name")
        guard let name = node?.nonEmptyString("name") else { return nil }
        guard NetworkSyntax.isLabel(name) else {
            node?.report("artifact name '\(name)' is not valid; expected letters, digits and '-'")
            return nil
        }
        return name
    }

    /// `version:` is `cluster.FIELD`, `settings.KEY` or `{value: TEXT}`.
    private func readArtifactVersion(_ node: YAMLNode, stack: String) -> ArtifactVersion? {
        if case .mapping = node.node, let literal = node.mapping("version") {
            defer { literal.finish() }
            return literal.required("value", expected: "the version").flatMap { $0.nonEmptyString("value") }
                .map(ArtifactVersion.literal)
        }
        guard let text = node.nonEmptyString("version") else { return nil }
        if text.hasPrefix("cluster.") {
            return .inventory(.cluster(String(text.dropFirst("cluster.".count))))
        }
        if text.hasPrefix("settings."), text.count > "settings.".count {
            return .inventory(.setting(String(text.dropFirst("settings.".count))))
        }
        node.report("'version' is '\(text)'; expected cluster.FIELD, settings.KEY or {value: VERSION}")
        return nil
    }

    private func readFileArtifact(_ node: YAMLNode, stack: String) -> FileArtifact? {
        guard let map = node.mapping("artifacts.files item") else { return nil }
        defer { map.finish() }
        let name = readArtifactName(map)
        let version = map.required("version", expected: "cluster.FIELD, settings.KEY or {value: VERSION}")
            .flatMap { readArtifactVersion($0, stack: stack) }
        let urlNode = map.required("url", expected: "an https or http URL, with {version} and {arch} where they vary")
        let url = urlNode?.nonEmptyString("url")
        if let url, let urlNode, !(url.hasPrefix("https://") || url.hasPrefix("http://")) || url.contains(" ") {
            urlNode.report("'url' is '\(url)'; expected an https or http URL without spaces")
        }
        if let url, let urlNode {
            checkPlaceholders(url, at: urlNode, field: "url")
        }
        var pins: [String: [String: String]] = [:]
        let shaNode = map.required(
            "sha256", expected: "the pinned digests: {VERSION: {amd64: HEX, arm64: HEX}} (or {VERSION: {any: HEX}})")
        if let versions = shaNode?.mapping("sha256") {
            for entry in versions.entries {
                _ = versions.optional(entry.key)
                guard let byArch = entry.value.mapping("sha256.\(entry.key)") else { continue }
                var digests: [String: String] = [:]
                for archEntry in byArch.entries {
                    _ = byArch.optional(archEntry.key)
                    let allowed = Architecture.allCases.map(\.rawValue) + ["any"]
                    guard allowed.contains(archEntry.key) else {
                        archEntry.keyNode.report(
                            "unknown architecture '\(archEntry.key)' in sha256.\(entry.key); expected \(humanList(allowed))"
                        )
                        continue
                    }
                    guard let hex = archEntry.value.string("sha256.\(entry.key).\(archEntry.key)") else { continue }
                    guard BundleManifest.isSHA256Hex(hex) || hex == FileArtifact.unpublished else {
                        archEntry.value.report(
                            "sha256.\(entry.key).\(archEntry.key) is '\(hex)'; expected 64 lowercase hex digits (or \(FileArtifact.unpublished))"
                        )
                        continue
                    }
                    digests[archEntry.key] = hex
                }
                byArch.finish()
                pins[entry.key] = digests
            }
            versions.finish()
        }
        let extractNode = map.optional("extract")
        let extract = extractNode?.nonEmptyString("extract")
        if let extract, let extractNode {
            let parts = extract.split(separator: "/", omittingEmptySubsequences: false)
            if extract.hasPrefix("/") || parts.contains("..") || parts.contains("") || parts.contains(".")
                || extract.contains(where: { $0.isNewline || $0 == "'" || $0 == "\\" })
            {
                extractNode.report(
                    "'extract' is '\(extract)'; expected a member path inside the archive, relative and normalised (such as linux-{arch}/helm)"
                )
            } else {
                checkPlaceholders(extract, at: extractNode, field: "extract")
            }
        }
        guard let name, let version, let url else { return nil }
        return FileArtifact(
            id: ArtifactID(stack: stack, name: name), version: version, url: url, sha256: pins, extract: extract,
            location: map.location)
    }

    private func readImageArtifact(_ node: YAMLNode, stack: String) -> ImageArtifact? {
        guard let map = node.mapping("artifacts.images item") else { return nil }
        defer { map.finish() }
        let name = readArtifactName(map)
        let versionNode = map.optional("version")
        let version = versionNode.flatMap { readArtifactVersion($0, stack: stack) }
        let referenceNode = map.required("reference", expected: "an image reference such as quay.io/org/app:v1.2")
        let reference = referenceNode?.nonEmptyString("reference")
        if let reference, let referenceNode {
            if reference.contains(" ") || reference.contains("@") {
                referenceNode.report(
                    "'reference' is '\(reference)'; expected HOST/PATH:TAG without spaces (pin digests under 'digest' or 'versions')"
                )
            }
            if reference.contains("{arch}") {
                referenceNode.report(
                    "'reference' of an image may not hold {arch}; expected one reference for all platforms")
            } else {
                checkPlaceholders(reference, at: referenceNode, field: "reference")
            }
            if versionNode == nil && reference.contains("{version}") {
                referenceNode.report(
                    "'reference' holds {version} but the image has no 'version'; expected both or neither")
            }
        }
        var pins: [String: String?] = [:]
        if versionNode != nil {
            let versions = map.required(
                "versions", expected: "the pinned versions: {VERSION: DIGEST or null}")?.mapping("versions")
            for entry in versions?.entries ?? [] {
                _ = versions?.optional(entry.key)
                pins[entry.key] =
                    entry.value.isNull ? .some(nil) : readImageDigest(entry.value, field: "versions.\(entry.key)")
            }
            versions?.finish()
        } else {
            pins[""] = map.optional("digest").flatMap { readImageDigest($0, field: "digest") }
        }
        guard let name, let reference else { return nil }
        return ImageArtifact(
            id: ArtifactID(stack: stack, name: name), version: version, reference: reference, pins: pins,
            location: map.location)
    }

    private func readImageDigest(_ node: YAMLNode, field: String) -> String? {
        guard let text = node.string(field) else { return nil }
        guard text.hasPrefix("sha256:"), BundleManifest.isSHA256Hex(String(text.dropFirst(7))) else {
            node.report("'\(field)' is '\(text)'; expected sha256: and 64 lowercase hex digits")
            return nil
        }
        return text
    }

    /// Only `{version}` and `{arch}` may appear in braces.
    private func checkPlaceholders(_ text: String, at node: YAMLNode, field: String) {
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else {
                node.report("'\(field)' has an unclosed '{'; expected {version} or {arch}")
                return
            }
            let word = rest[rest.index(after: open)..<close]
            if word != "version" && word != "arch" {
                node.report("'\(field)' has an unknown placeholder {\(word)}; expected {version} or {arch}")
            }
            rest = rest[rest.index(after: close)...]
        }
    }
}
