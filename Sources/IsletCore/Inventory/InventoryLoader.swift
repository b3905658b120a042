import Foundation

/// Reads an inventory file into typed models, reporting every problem at once with its file, line and column.
public struct InventoryLoader {
    public var schema: InventorySchema
    /// Where `~` points when identity files are expanded; tests set it.
    public var homeDirectory: String

    /// Where `{fromEnv: NAME}` settings are read from; tests set it.
    public var environment: [String: String]

    /// Identity files found missing while reading: warnings, not errors (see `MissingIdentityFile`).
    private var missingIdentityFiles = IdentityFileList()

    public init(
        schema: InventorySchema, homeDirectory: String = userHomeDirectory(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.schema = schema
        self.homeDirectory = homeDirectory
        self.environment = environment
    }

    /// - Parameter path: the inventory file, shown in messages as given.
    /// - Throws: `ValidationFailure` listing every problem found.
    public func load(path: String) throws -> Inventory {
        let sink = DiagnosticSink()
        var reader = self
        reader.missingIdentityFiles = IdentityFileList()
        let inventory = YAMLNode.load(file: path, displayName: path, sink: sink).flatMap { reader.read($0, sink: sink) }
        try sink.throwIfAny()
        guard let inventory else { throw ValidationFailure(sink.diagnostics) }
        return inventory
    }

    func read(_ root: YAMLNode, sink: DiagnosticSink) -> Inventory? {
        guard let top = root.mapping("inventory") else { return nil }
        top.readHeader(kind: "Inventory")
        let cluster = top.required("cluster", expected: "a mapping with the cluster's name and network").flatMap(
            readCluster)
        let defaults = top.optional("ssh").flatMap { readSSH($0, base: SSHSettings(), field: "ssh") } ?? SSHSettings()
        var rolesComplete = true
        var roleLocations: [[String: SourceLocation]] = []
        let nodes =
            top.required("nodes", expected: "a list of nodes")
            .flatMap {
                readNodes(
                    $0, defaults: defaults, defaultArch: cluster?.arch ?? .amd64, rolesComplete: &rolesComplete,
                    roleLocations: &roleLocations)
            } ?? []
        let settings = readSettings(top.optional("settings"), at: top)
        top.finish()
        // When a node's roles are missing, unreadable or unknown, counting holders would report roles it may well hold.
        if rolesComplete {
            checkRoleCounts(
                nodes, roleLocations: roleLocations, at: top.keyLocation("nodes") ?? top.location, sink: sink)
        }
        guard let cluster, sink.isEmpty else { return nil }
        return Inventory(
            file: root.file, cluster: cluster, nodes: nodes, settings: settings,
            missingIdentityFiles: missingIdentityFiles.sorted { $0.location < $1.location })
    }

    // MARK: Sections

    private func readCluster(_ node: YAMLNode) -> Cluster? {
        guard let map = node.mapping("cluster") else { return nil }
        defer { map.finish() }
        let name = map.required("name", expected: "a DNS label such as 'prod-platform'")?.nonEmptyString("cluster.name")
        if let name, !NetworkSyntax.isLabel(name) {
            map.optional("name")?.report(
                "'cluster.name' is '\(name)'; expected a DNS label (letters, digits and '-', at most 63)")
        }
        var cluster = Cluster(name: name ?? "")
        if let field = map.optional("kubernetesVersion"), let text = field.string("cluster.kubernetesVersion") {
            if NetworkSyntax.isVersion(text) {
                cluster.kubernetesVersion = text
            } else {
                field.report(
                    "'cluster.kubernetesVersion' is '\(text)'; expected a version MAJOR.MINOR.PATCH such as \"1.33.4\"")
            }
        }
        if let field = map.optional("controlPlaneEndpoint"), let text = field.string("cluster.controlPlaneEndpoint") {
            if NetworkSyntax.isEndpoint(text) {
                cluster.controlPlaneEndpoint = text
            } else {
                field.report(
                    "'cluster.controlPlaneEndpoint' is '\(text)'; expected HOST:PORT such as \"10.20.0.10:6443\"")
            }
        }
        for key in ["podSubnet", "serviceSubnet"] {
            guard let field = map.optional(key), let text = field.string("cluster.\(key)") else { continue }
            guard NetworkSyntax.isCIDR(text) else {
                field.report("'cluster.\(key)' is '\(text)'; expected a CIDR such as 10.244.0.0/16")
                continue
            }
            if key == "podSubnet" { cluster.podSubnet = text } else { cluster.serviceSubnet = text }
        }
        if let field = map.optional("arch") { cluster.arch = readArchitecture(field, field: "cluster.arch") ?? .amd64 }
        if let pods = cluster.podSubnet, let services = cluster.serviceSubnet, NetworkSyntax.overlap(pods, services) {
            map.optional("serviceSubnet")?.report(
                "'cluster.serviceSubnet' \(services) overlaps 'cluster.podSubnet' \(pods); expected disjoint subnets")
        }
        return name == nil ? nil : cluster
    }

    private func readSSH(_ node: YAMLNode, base: SSHSettings, field: String) -> SSHSettings? {
        guard let map = node.mapping(field) else { return nil }
        defer { map.finish() }
        var ssh = base
        if let user = map.optional("user")?.nonEmptyString("\(field).user") { ssh.user = user }
        if let port = map.optional("port")?.port("\(field).port") { ssh.port = port }
        if let value = map.optional("identityFile"), let path = value.nonEmptyString("\(field).identityFile") {
            ssh.identityFile = checkedIdentityFile(path, at: value, field: "\(field).identityFile")
        }
        if let value = map.optional("become"), let text = value.string("\(field).become") {
            if let become = SSHSettings.Become(rawValue: text) {
                ssh.become = become
            } else {
                value.report("'\(field).become' is '\(text)'; expected sudo or none")
            }
        }
        if let value = map.optional("connectTimeout") {
            ssh.connectTimeout =
                value.integer("\(field).connectTimeout", in: 1...600, meaning: "seconds from 1 to 600")
                ?? ssh.connectTimeout
        }
        if let value = map.optional("bastion") { ssh.bastion = readBastion(value, ssh: ssh, field: "\(field).bastion") }
        return ssh
    }

    private func readBastion(_ node: YAMLNode, ssh: SSHSettings, field: String) -> Bastion? {
        guard let map = node.mapping(field) else { return nil }
        defer { map.finish() }
        let hostNode = map.required("host", expected: "the bastion's address")
        let host = hostNode?.nonEmptyString("\(field).host")
        if let host, !NetworkSyntax.isAddress(host) {
            hostNode?.report("'\(field).host' is '\(host)'; expected an IP address or host name")
        }
        let user = map.optional("user")?.nonEmptyString("\(field).user") ?? ssh.user
        let port = map.optional("port")?.port("\(field).port") ?? 22
        var identity = ssh.identityFile
        if let value = map.optional("identityFile"), let path = value.nonEmptyString("\(field).identityFile") {
            identity = checkedIdentityFile(path, at: value, field: "\(field).identityFile")
        }
        guard let host else { return nil }
        return Bastion(host: host, user: user, port: port, identityFile: identity)
    }

    private func checkedIdentityFile(_ path: String, at node: YAMLNode, field: String) -> String {
        let expanded = expandPath(
            path, relativeTo: URL(fileURLWithPath: node.file).deletingLastPathComponent().path,
            home: homeDirectory)
        if !FileManager.default.fileExists(atPath: expanded) {
            missingIdentityFiles.insert(MissingIdentityFile(location: node.location, field: field, path: path))
        } else if let problem = identityFileProblem(expanded) {
            node.report(
                "'\(field)' \(path) \(problem); expected a regular, readable private key file of at most \(maximumIdentityFileSize >> 10) KiB"
            )
        }
        return expanded
    }

    /// Every node item that is a mapping becomes a node, even one with a broken name or address (already
    /// reported), so that role counts stay true; the inventory is only returned when nothing was reported.
    /// - Parameter roleLocations: for each node returned, where each of its roles is written.
    private func readArchitecture(_ node: YAMLNode, field: String) -> Architecture? {
        guard let text = node.string(field) else { return nil }
        guard let arch = Architecture(rawValue: text) else {
            node.report(
                "'\(field)' is '\(text)'; expected \(humanList(Architecture.allCases.map(\.rawValue)))")
            return nil
        }
        return arch
    }

    private func readNodes(
        _ node: YAMLNode, defaults: SSHSettings, defaultArch: Architecture, rolesComplete: inout Bool,
        roleLocations: inout [[String: SourceLocation]]
    ) -> [Node]? {
        guard let items = node.sequence("nodes") else { return nil }
        if items.isEmpty { node.report("'nodes' is empty; expected at least one node") }
        var nodes: [Node] = []
        var namesSeen: [String: SourceLocation] = [:]
        var endpointsSeen: [String: String] = [:]
        let knownRoles = schema.roles.map(\.name)
        for item in items {
            guard let map = item.mapping("nodes item") else {
                rolesComplete = false
                continue
            }
            defer { map.finish() }
            let nameNode = map.required("name", expected: "a DNS label naming the node")
            let name = nameNode?.nonEmptyString("name")
            if let name, let nameNode {
                if !NetworkSyntax.isLabel(name) {
                    nameNode.report(
                        "node name '\(name)' is not a DNS label; expected letters, digits and '-', at most 63")
                }
                if let first = namesSeen[name] {
                    nameNode.report(
                        "duplicate node name '\(name)' (first at line \(first.line)); expected unique names")
                }
                namesSeen[name] = namesSeen[name] ?? nameNode.location
            }
            let label = name ?? "?"
            let addressNode = map.required("address", expected: "the node's IP address or host name")
            let address = addressNode?.nonEmptyString("address")
            if let address, !NetworkSyntax.isAddress(address) {
                addressNode?.report(
                    "address '\(address)' of node '\(label)' is not valid; expected an IP address or host name")
            }
            let rolesNode = map.required("roles", expected: "a list of roles: \(humanList(knownRoles))")
            let readRoles = rolesNode?.stringList("roles")
            if readRoles == nil { rolesComplete = false }
            let roles = readRoles ?? []
            if let rolesNode, rolesNode.sequence("roles")?.isEmpty == true {
                rolesComplete = false
                rolesNode.report("node '\(label)' has no roles; expected one or more of \(humanList(knownRoles))")
            }
            for (index, role) in roles.enumerated() where !knownRoles.contains(role) {
                rolesComplete = false  // most likely a misspelt known role: counting would report it missing
                let at = rolesNode?.sequence("roles")?[index] ?? item
                var message = "unknown role '\(role)' on node '\(label)'; expected \(humanList(knownRoles))"
                if let suggestion = nearest(to: role, in: knownRoles) { message += " (did you mean '\(suggestion)'?)" }
                at.report(message)
            }
            let ssh =
                map.optional("ssh").flatMap { readSSH($0, base: defaults, field: "nodes[\(label)].ssh") } ?? defaults
            if let address, let addressNode {
                let endpoint = "\(address):\(ssh.port)"
                if let other = endpointsSeen[endpoint] {
                    addressNode.report(
                        "node '\(label)' has the same address and port \(endpoint) as node '\(other)'; expected each node at its own address:port"
                    )
                }
                endpointsSeen[endpoint] = endpointsSeen[endpoint] ?? label
            }
            let arch =
                map.optional("arch").flatMap { readArchitecture($0, field: "nodes[\(label)].arch") } ?? defaultArch
            nodes.append(Node(name: label, address: address ?? "", roles: roles, ssh: ssh, arch: arch))
            let roleItems = rolesNode?.sequence("roles") ?? []
            roleLocations.append(
                Dictionary(zip(roles, roleItems.map(\.location)), uniquingKeysWith: { first, _ in first }))
        }
        return nodes
    }

    /// Too few holders is reported at `nodes:`; too many at each node that holds the role, at its role entry.
    private func checkRoleCounts(
        _ nodes: [Node], roleLocations: [[String: SourceLocation]], at location: SourceLocation, sink: DiagnosticSink
    ) {
        guard !nodes.isEmpty else { return }
        for role in schema.roles {
            let holders = nodes.filter { $0.roles.contains(role.name) }.map(\.name)
            let tooFew = holders.count < role.minimum
            let tooMany = role.maximum.map { holders.count > $0 } ?? false
            guard tooFew || tooMany else { continue }
            let held =
                switch holders.count {
                case 0: "no node holds"
                case 1: "only node '\(holders[0])' holds"
                default: "\(holders.count) nodes (\(holders.joined(separator: ", "))) hold"
                }
            let message =
                "\(held) role '\(role.name)'; expected \(role.countDescription) (declared by stack '\(role.declaredBy)')"
            guard tooMany else {
                sink.report(location, message)
                continue
            }
            for (index, node) in nodes.enumerated() where node.roles.contains(role.name) {
                sink.report(roleLocations[index][role.name] ?? location, message)
            }
        }
    }

    // MARK: Settings, validated against the stacks' declarations

    /// What `walkSettings` saw besides values: where each group (`registry:`) is written, and which keys held a
    /// value of the wrong shape, so a missing setting is reported at its group and not again after a type error.
    struct SettingsLayout {
        var groups: [String: SourceLocation] = [:]
        var unreadable: [String] = []

        func isUnreadable(_ key: String) -> Bool {
            unreadable.contains { $0.isEmpty || key == $0 || key.hasPrefix($0 + ".") }
        }
    }

    private func readSettings(_ node: YAMLNode?, at top: YAMLMapping) -> [String: Value] {
        var values: [String: Value] = [:]
        var layout = SettingsLayout()
        if let node { walkSettings(node, prefix: "", into: &values, layout: &layout) }
        for declaration in schema.settings where values[declaration.key] == nil {
            if let fallback = declaration.defaultValue {
                values[declaration.key] = fallback
            } else if !layout.isUnreadable(declaration.key) {
                let parts = declaration.key.split(separator: ".").map(String.init)
                let group = (1..<max(parts.count, 1)).reversed().lazy
                    .compactMap { layout.groups[parts[0..<$0].joined(separator: ".")] }.first
                let at = group ?? top.keyLocation("settings") ?? top.location
                top.owner.sink.report(
                    at,
                    "missing required setting 'settings.\(declaration.key)'; expected \(declaration.type.expectation): \(declaration.description) (read by stack '\(declaration.declaredBy)')"
                )
            }
        }
        return values
    }

    private func walkSettings(
        _ node: YAMLNode, prefix: String, into values: inout [String: Value],
        layout: inout SettingsLayout
    ) {
        let field = prefix.isEmpty ? "settings" : "settings.\(prefix)"
        guard let map = node.mapping(field) else {
            layout.unreadable.append(prefix)
            return
        }
        let known = schema.settings.map(\.key)
        for entry in map.entries {
            let key = prefix.isEmpty ? entry.key : "\(prefix).\(entry.key)"
            if let declaration = schema.setting(key) {
                if let value = typedSetting(entry.value, declaration) {
                    values[key] = value
                } else {
                    layout.unreadable.append(key)
                }
            } else if known.contains(where: { $0.hasPrefix(key + ".") }) {
                layout.groups[key] = entry.keyNode.location
                walkSettings(entry.value, prefix: key, into: &values, layout: &layout)
            } else {
                let siblings = Set(
                    known.compactMap { candidate -> String? in
                        let parts = candidate.split(separator: ".").map(String.init)
                        let depth = prefix.isEmpty ? 0 : prefix.split(separator: ".").count
                        guard parts.count > depth, prefix.isEmpty || candidate.hasPrefix(prefix + ".") else {
                            return nil
                        }
                        return parts[depth]
                    }
                ).sorted()
                var message =
                    "unknown setting '\(key)'; expected one of \(siblings.joined(separator: ", ")) (the settings the stacks declare)"
                if let suggestion = nearest(to: entry.key, in: siblings) {
                    message += " (did you mean '\(suggestion)'?)"
                }
                entry.keyNode.report(message)
            }
        }
    }

    /// - Parameter field: how messages name the value; `settings.KEY` unless given (a stack's `default`).
    func typedSetting(_ node: YAMLNode, _ declaration: SettingDeclaration, field: String? = nil) -> Value? {
        let field = field ?? "settings.\(declaration.key)"
        if case .mapping = node.node, ![.map, .list].contains(declaration.type) {
            return environmentSetting(node, declaration, field: field)
        }
        func scalar(_ valid: (String) -> Bool) -> Value? {
            guard let text = node.string(field) else { return nil }
            guard valid(text) else {
                node.report("'\(field)' is '\(text)'; expected \(declaration.type.expectation)")
                return nil
            }
            return .string(text)
        }
        switch declaration.type {
        case .string: return node.string(field).map(Value.string)
        case .integer: return node.integer(field).map(Value.integer)
        case .port: return node.port(field).map(Value.integer)
        case .boolean: return node.boolean(field).map(Value.boolean)
        case .ip: return scalar(NetworkSyntax.isIP)
        case .cidr: return scalar(NetworkSyntax.isCIDR)
        case .host: return scalar(NetworkSyntax.isAddress)
        case .version: return scalar(NetworkSyntax.isVersion)
        case .map: return node.mapping(field).map { _ in node.anyValue() }
        case .list:
            guard let items = node.sequence(field) else { return nil }
            guard !declaration.fields.isEmpty else { return node.anyValue() }
            var list: [Value] = []
            for (index, item) in items.enumerated() {
                let itemField = "\(field)[\(index)]"
                guard let map = item.mapping(itemField) else { continue }
                var entries: [String: Value] = [:]
                for (name, type) in declaration.fields.sorted(by: { $0.key < $1.key }) {
                    let sub = SettingDeclaration(
                        key: "\(declaration.key)[\(index)].\(name)", type: type, defaultValue: nil,
                        description: "", fields: [:], declaredBy: declaration.declaredBy)
                    guard let value = map.required(name, expected: type.expectation) else { continue }
                    if let typed = typedSetting(value, sub, field: "\(itemField).\(name)") { entries[name] = typed }
                }
                map.finish()
                list.append(.map(entries))
            }
            return .list(list)
        }
    }
}

extension InventoryLoader {
    /// `{fromEnv: NAME}`: the value of an environment variable of islet's own process, so passwords stay
    /// out of the inventory file. The value is type-checked like one written inline.
    func environmentSetting(_ node: YAMLNode, _ declaration: SettingDeclaration, field: String) -> Value? {
        guard let map = node.mapping(field) else { return nil }
        defer { map.finish() }
        guard let nameNode = map.required("fromEnv", expected: "the name of an environment variable"),
            let name = nameNode.nonEmptyString("\(field).fromEnv")
        else { return nil }
        guard let value = environment[name] else {
            nameNode.report(
                "environment variable \(name) for '\(field)' is not set; expected it exported before running islet")
            return nil
        }
        // Type errors are reported at the `fromEnv` line, never with the value itself (it may be secret).
        guard let typed = Self.typedText(value, as: declaration.type) else {
            nameNode.report("environment variable \(name) for '\(field)' does not hold \(declaration.type.expectation)")
            return nil
        }
        return typed
    }

    /// Text taken as is (no YAML parsing, so newlines and quotes survive), checked against a scalar type.
    static func typedText(_ text: String, as type: SettingType) -> Value? {
        switch type {
        case .string: return .string(text)
        case .integer: return Int(text).map(Value.integer)
        case .port: return Int(text).flatMap { (1...65535).contains($0) ? .integer($0) : nil }
        case .boolean: return ["true", "false"].contains(text) ? .boolean(text == "true") : nil
        case .ip: return NetworkSyntax.isIP(text) ? .string(text) : nil
        case .cidr: return NetworkSyntax.isCIDR(text) ? .string(text) : nil
        case .host: return NetworkSyntax.isAddress(text) ? .string(text) : nil
        case .version: return NetworkSyntax.isVersion(text) ? .string(text) : nil
        case .list, .map: return nil
        }
    }
}

/// Expands `~` and makes a relative path relative to `base` (the inventory's folder).
public func expandPath(_ path: String, relativeTo base: String, home: String = userHomeDirectory()) -> String {
    if path == "~" { return home }
    if path.hasPrefix("~/") { return home + path.dropFirst(1) }
    if path.hasPrefix("/") { return path }
    return URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
}

/// `$HOME`, as shells expand `~`; the password database's entry when it is unset.
public func userHomeDirectory() -> String {
    ProcessInfo.processInfo.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
}

/// Collects missing identity files while the loader (a value type) reads the file.
private final class IdentityFileList {
    private var files: Set<MissingIdentityFile> = []
    func insert(_ file: MissingIdentityFile) { files.insert(file) }
    func sorted(by order: (MissingIdentityFile, MissingIdentityFile) -> Bool) -> [MissingIdentityFile] {
        files.sorted(by: order)
    }
}
