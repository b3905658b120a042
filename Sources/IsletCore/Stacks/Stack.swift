import Foundation

/// One component of the platform: a folder with `stack.yaml`, scripts and templates. Data, not code.
public struct Stack: Sendable {
    public var name: String
    public var description: String
    public var directory: String
    public var requires: [String]
    public var roles: [RoleDeclaration]
    public var settings: [SettingDeclaration]
    public var steps: [Step]
    /// The files and images its steps read through `artifacts.NAME` inputs.
    public var artifacts = StackArtifacts()
    /// Set when this stack runs the store other nodes fetch artifacts from.
    public var artifactStore: ArtifactStore?
    /// What makes a node unfit for this stack's steps, checked at plan before anything changes.
    public var preflight = Preflight()
}

/// `preflight:` of a stack: facts of the nodes its steps run on that plan checks before any change.
public struct Preflight: Sendable, Hashable {
    /// Facts no two of those nodes may share (a cloned machine's machine-id, a repeated host name).
    public var uniqueFacts: [Fact] = []
    public var minimumMemoryMiB: Int?
    /// Free space on the file system holding /var.
    public var minimumDiskMiB: Int?
    public var location: SourceLocation?

    public var isEmpty: Bool { uniqueFacts.isEmpty && minimumMemoryMiB == nil && minimumDiskMiB == nil }
}

/// `stack/step`: how steps are named across stacks, in state and in plans.
public struct StepID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var stack: String
    public var step: String

    public init(stack: String, step: String) {
        self.stack = stack
        self.step = step
    }

    /// Parses `stack/step`, or `step` within `defaultStack`.
    public init?(_ text: String, defaultStack: String?) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1 where defaultStack != nil && !parts[0].isEmpty: self.init(stack: defaultStack!, step: parts[0])
        case 2 where !parts[0].isEmpty && !parts[1].isEmpty: self.init(stack: parts[0], step: parts[1])
        default: return nil
        }
    }

    public var description: String { "\(stack)/\(step)" }

    public static func < (a: StepID, b: StepID) -> Bool { a.description < b.description }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = StepID(text, defaultStack: nil) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "expected stack/step"))
        }
        self = id
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The unit of work: a check that proves the desired state and an apply that makes it so.
public struct Step: Sendable {
    public enum Scope: String, Sendable { case node, cluster }

    public var id: StepID
    public var description: String
    public var scope: Scope
    /// The nodes it runs on: any node holding one of these roles; empty means every node.
    public var roles: [String]
    public var after: [StepID]
    /// Of `after`, the steps it waits for only on its own node: a node without an instance of one waits for
    /// none of the others' (`afterOnNode:`), where plain `after` would wait for every instance.
    public var onNodeOnly: Set<StepID> = []
    public var inputs: [Input]
    public var files: [ManagedFile]
    public var check: Script?
    public var apply: Script
    public var remove: Script?
    /// Runs the remove script on the first node holding this role instead of the node being removed
    /// (to drain a node from the cluster, say).
    public var removeOn: String?
    public var outputs: [OutputDeclaration]
    public var secrets: [SecretDeclaration]
    /// Runs whenever a step that reads its outputs acts, and is never recorded: for short-lived values.
    public var ephemeral: Bool
    public var location: SourceLocation
    /// `forEach: settings.KEY`: a template, instantiated once per item of that list setting (its `name` field
    /// is the key) as step `NAME[KEY]`; inputs `item.FIELD` read the item. See `Catalog.expanded(for:)`.
    public var forEach: String? = nil
    /// For an instance of a `forEach` template: the item's key.
    public var item: String? = nil
    /// `when: settings.KEY`: the step exists only while that boolean setting is true. Turned off, a recorded
    /// step is removed (its `remove` runs), and inputs reading its outputs read empty strings.
    public var when: String? = nil

    /// Steps whose outputs this step reads: dependencies just like `after`.
    /// Whether it reads any file or image of the bundle.
    public var readsArtifacts: Bool {
        inputs.contains { if case .artifact = $0.reference { return true } else { return false } }
    }

    public var outputSources: [StepID] {
        inputs.compactMap { if case .output(let source, _) = $0.reference { return source } else { return nil } }
    }

    /// Input names that read node facts, with the fact each reads.
    public var factInputs: [String: String] {
        var result: [String: String] = [:]
        for input in inputs { if case .fact(let fact) = input.reference { result[input.name] = fact } }
        return result
    }

    public func isSecretOutput(_ key: String) -> Bool {
        outputs.contains { $0.name == key && $0.secret } || secrets.contains { $0.isSecret(key) }
    }

    /// The generated secret that provides `variable`, if one does.
    public func secret(providing variable: String) -> SecretDeclaration? {
        secrets.first { $0.variables.contains(variable) }
    }
}

/// A shell script text and where it came from, for messages.
public struct Script: Sendable, Hashable {
    public var text: String
    public var origin: String
}

/// An environment variable a step's scripts and templates receive, and where its value comes from.
public struct Input: Sendable, Hashable {
    public var name: String
    public var reference: Reference
    public var location: SourceLocation
}

/// Where an input's value comes from. Only these count for a step's fingerprint.
public enum Reference: Sendable, Hashable, CustomStringConvertible {
    /// `cluster.<field>`
    case cluster(String)
    /// `settings.<dotted key>`
    case setting(String)
    /// `node.name`, `node.address`, `node.roles`
    case node(String)
    /// `nodes.all` or `nodes.ROLE`: the inventory's nodes (with that role), each as name, address, roles, arch:
    /// what a step writes about its peers (an /etc/hosts file).
    case nodes(role: String?)
    /// `item.FIELD`: a field of the item a `forEach` step was instantiated for.
    case item(String)
    /// `facts.<name>`, gathered from the node at plan and apply time.
    case fact(String)
    /// `steps.<stack>/<step>.<KEY>`: an output of another step.
    case output(StepID, String)
    /// `artifacts.NAME` or `artifacts.STACK/NAME`: a file's path on the node, or an image's reference.
    case artifact(ArtifactID)
    /// `{value: ...}`
    case literal(Value)

    public var description: String {
        switch self {
        case .cluster(let field): return "cluster.\(field)"
        case .setting(let key): return "settings.\(key)"
        case .node(let field): return "node.\(field)"
        case .nodes(let role): return "nodes.\(role ?? "all")"
        case .item(let field): return "item.\(field)"
        case .fact(let name): return "facts.\(name)"
        case .output(let step, let key): return "steps.\(step).\(key)"
        case .artifact(let id): return "artifacts.\(id)"
        case .literal(let value): return "value \(value.canonicalJSON)"
        }
    }
}

/// A file rendered from a template and put in place on the node.
public struct ManagedFile: Sendable, Hashable {
    public var template: String
    public var templateText: String
    public var destination: String
    public var mode: Int
    public var owner: String?
    /// Where `destination` is written in stack.yaml, for messages; not part of what the file is.
    public var location: SourceLocation

    public static func == (a: ManagedFile, b: ManagedFile) -> Bool {
        (a.template, a.templateText, a.destination, a.mode, a.owner)
            == (b.template, b.templateText, b.destination, b.mode, b.owner)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(template)
        hasher.combine(templateText)
        hasher.combine(destination)
        hasher.combine(mode)
        hasher.combine(owner)
    }
}

public struct OutputDeclaration: Sendable, Hashable {
    public var name: String
    public var secret: Bool
    /// A file in the state folder (`.islet/NAME`, mode 0600) that receives the value, base64-decoded, whenever
    /// the step records it: how a file made on a node (an admin kubeconfig) reaches the operator.
    public var file: String? = nil
}

/// A secret islet generates once and keeps in the secrets file.
public struct SecretDeclaration: Sendable, Hashable {
    public var name: String
    public var kind: Kind

    public enum Kind: Sendable, Hashable {
        /// A random string: the variable NAME.
        case password(length: Int, alphabet: String)
        /// A certificate authority whose private key never leaves the secrets file: the variable NAME_CERT (its
        /// certificate, PEM), also written to `.islet/FILE` when `file` is given, for the operator's tools.
        case certificateAuthority(commonName: String, file: String?)
        /// A key and a certificate from the step's authority secret `authority`, for the host names and addresses
        /// the named inputs hold: NAME_CERT and NAME_KEY (PEM). Issued anew when those values change, when the
        /// authority changes, or when it nears its end.
        case certificate(authority: String, dnsNames: [String], ipAddresses: [String])
        /// The bcrypt hash of the step's password secret `of` (an htpasswd line's second half): the variable NAME.
        /// Made once with its own salt; made anew only when the password changes.
        case bcrypt(of: String)
    }

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// The variables the secret gives the step's scripts and templates, and other steps' inputs.
    public var variables: [String] {
        switch kind {
        case .password, .bcrypt: return [name]
        case .certificateAuthority: return [name + "_CERT"]
        case .certificate: return [name + "_CERT", name + "_KEY"]
        }
    }

    /// Whether the variable's value must be masked: a certificate is public, its key and a password are not.
    public func isSecret(_ variable: String) -> Bool {
        switch kind {
        case .password, .bcrypt: return variable == name
        case .certificateAuthority: return false
        case .certificate: return variable == name + "_KEY"
        }
    }
}

/// Values a node reports about itself, in the order the fact script prints them.
public enum Fact: String, CaseIterable, Sendable {
    case os, osVersion, arch, hostname, machineId, kernel, memoryMiB, diskFreeMiB
}
