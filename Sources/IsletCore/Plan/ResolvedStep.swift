import Crypto
import Foundation

/// A step made concrete for one node: its inputs' values, its rendered files and its fingerprint.
public struct ResolvedStep: Sendable {
    public var instance: StepInstance
    public var step: Step
    /// Environment of every script of the step, in a stable order.
    public var environment: [(name: String, value: String)]
    /// Inputs whose values are known only once the steps producing them have run in this apply.
    public var pendingInputs: [String]
    /// Secret values among the inputs: every line islet prints has them masked.
    public var secretValues: [String]
    public var files: [RenderedFile]
    /// sha256 over everything that defines the step for this node; nil while an input is pending.
    public var fingerprint: String?
    /// For each certificate secret: the host names and addresses its inputs hold now.
    public var certificateHosts: [String: CertificateHosts] = [:]
}

/// What a certificate secret is issued for.
public struct CertificateHosts: Sendable, Equatable {
    public var dnsNames: [String]
    public var ipAddresses: [String]
}

public struct RenderedFile: Sendable, Hashable {
    public var destination: String
    public var mode: Int
    public var owner: String?
    public var content: Data
    public var sha256: String
}

/// Where a step finds the outputs of the steps it reads from.
public protocol OutputSource: Sendable {
    /// The producer's outputs (secret ones included), or nil when they are not known.
    func outputs(of producer: StepInstance) -> [String: String]?
    /// A secret a step generated once, or nil if it does not exist yet.
    func generatedSecret(_ step: StepID, _ name: String) -> String?
}

/// Resolves inputs, renders templates and computes fingerprints. Pure: the same inputs give the same result.
public struct StepResolver: Sendable {
    public let graph: DesiredGraph
    public let facts: [String: [String: String]]

    /// Settings declared `secret: true`: inputs reading them are masked and fingerprinted by hash.
    let secretSettings: Set<String>

    public init(graph: DesiredGraph, facts: [String: [String: String]]) {
        self.graph = graph
        self.facts = facts
        secretSettings = graph.catalog.schema.secretKeys
    }

    var inventory: Inventory { graph.inventory }

    /// - Parameters:
    ///   - acting: instances that will run in this apply before the step: their outputs may change.
    ///   - removedNodeAddress: for a node no longer in the inventory (being removed), its recorded address.
    public func resolve(
        _ instance: StepInstance, outputs: OutputSource, acting: Set<StepInstance>,
        removedNodeAddress: String? = nil
    ) throws -> ResolvedStep {
        guard let step = graph.catalog.step(instance.step) else {
            throw ResolveError.unknownStep(instance.step)
        }
        var values: [String: Value] = [:]
        var environment: [(String, String)] = []
        var pending: [String] = []
        var secrets: [String] = []
        var volatile: Set<String> = []
        var secretInputs: Set<String> = []
        let node = graph.node(named: instance.node)
        for input in step.inputs {
            var value: Value = .string("")
            switch input.reference {
            case .cluster(let field):
                value = .string(inventory.cluster.fields[field] ?? "")
            case .setting(let key):
                value = inventory.settings[key] ?? .string("")
                if secretSettings.contains(key) {
                    secretInputs.insert(input.name)
                    secrets.append(value.environmentText)
                }
            case .node(let field):
                switch field {
                case "name": value = .string(instance.node)
                case "address": value = .string(node?.address ?? removedNodeAddress ?? "")
                case "arch": value = .string(node?.arch.rawValue ?? "")
                default: value = .list((node?.roles ?? []).map(Value.string))
                }
            case .nodes(let role):
                value = .list(
                    inventory.nodes.filter { role == nil || $0.roles.contains(role!) }.map {
                        .map([
                            "name": .string($0.name), "address": .string($0.address),
                            "roles": .list($0.roles.map(Value.string)), "arch": .string($0.arch.rawValue),
                        ])
                    })
            case .item:
                // Instances of a forEach template carry their item's fields as literals (Catalog.expanded).
                value = .string("")
            case .fact(let name):
                value = .string(facts[instance.node]?[name] ?? "")
            case .literal(let literal):
                value = literal
            case .artifact(let id):
                value = .string(graph.artifacts.inputValue(id, node: instance.node) ?? "")
            case .output(let source, _) where graph.catalog.isDormant(source):
                // The producer is turned off by its `when:` setting: nothing to read, nothing to wait for.
                value = .string("")
            case .output(let source, let key):
                let producerStep = graph.catalog.step(source)
                let producer = graph.producer(of: source, for: instance)
                if producerStep?.ephemeral == true { volatile.insert(input.name) }
                let secret = producerStep?.secret(providing: key)
                let generated = secret.flatMap { secret in
                    outputs.generatedSecret(source, secret.name).map { Self.variable(key, of: secret, stored: $0) }
                }
                if let generated {
                    value = .string(generated)
                    // A secret islet generated keeps its value whatever the producer does in this apply, but a
                    // server certificate may be issued anew when its producer acts.
                    if case .certificate? = secret?.kind, let producer, acting.contains(producer) {
                        pending.append(input.name)
                    }
                } else if let producer, let known = outputs.outputs(of: producer)?[key] {
                    value = .string(known)
                    if acting.contains(producer) && producerStep?.ephemeral != true { pending.append(input.name) }
                } else if producerStep?.ephemeral != true {
                    pending.append(input.name)
                }
                if producerStep?.isSecretOutput(key) == true {
                    secretInputs.insert(input.name)
                    if case .string(let text) = value, !text.isEmpty { secrets.append(text) }
                }
            }
            values[input.name] = value
            environment.append((input.name, value.environmentText))
        }
        var certificateHosts: [String: CertificateHosts] = [:]
        for secret in step.secrets {
            var stored = outputs.generatedSecret(step.id, secret.name)
            if case .certificate(_, let dnsNames, let ipAddresses) = secret.kind {
                certificateHosts[secret.name] = CertificateHosts(
                    dnsNames: Self.hostValues(dnsNames, values), ipAddresses: Self.hostValues(ipAddresses, values))
            }
            // A hash of a new password, a certificate for other hosts or authority: a new one comes at apply.
            if let current = stored,
                !secret.stillHolds(
                    current, hosts: certificateHosts[secret.name], sibling: { outputs.generatedSecret(step.id, $0) })
            {
                stored = nil
            }
            for variable in secret.variables {
                guard let stored else {
                    pending.append(variable)
                    environment.append((variable, ""))
                    continue
                }
                let value = Self.variable(variable, of: secret, stored: stored)
                values[variable] = .string(value)
                environment.append((variable, value))
                if secret.isSecret(variable) { secrets.append(value) }
            }
        }
        var files: [RenderedFile] = []
        for file in step.files {
            let text: String
            do {
                text = try TemplateRenderer.render(file.templateText, inputs: values)
            } catch {
                throw ResolveError.template(step: step.id, template: file.template, reason: "\(error)")
            }
            let content = Data(text.utf8)
            files.append(
                RenderedFile(
                    destination: file.destination, mode: file.mode, owner: file.owner,
                    content: content, sha256: sha256Hex(content)))
        }
        var resolved = ResolvedStep(
            instance: instance, step: step, environment: environment, pendingInputs: pending,
            secretValues: secrets, files: files, fingerprint: nil, certificateHosts: certificateHosts)
        if pending.isEmpty {
            resolved.fingerprint = Self.fingerprint(
                step: step, values: values, volatile: volatile, files: files,
                secretInputs: secretInputs)
        }
        return resolved
    }

    /// The value of one variable of a generated secret, from what the secrets file stores.
    static func variable(_ variable: String, of secret: SecretDeclaration, stored: String) -> String {
        switch secret.kind {
        case .password, .bcrypt: return stored
        case .certificateAuthority, .certificate:
            return CertificateSecrets.variable(variable, of: secret, stored: stored)
        }
    }

    /// The strings the named inputs hold: a list input gives each of its strings.
    static func hostValues(_ names: [String], _ values: [String: Value]) -> [String] {
        names.flatMap { name -> [String] in
            switch values[name] {
            case .string(let text)?: return [text]
            case .list(let items)?: return items.compactMap { if case .string(let text) = $0 { text } else { nil } }
            default: return []
            }
        }
    }

    /// sha256 over the step's scripts, declared inputs (secrets by their hash), and rendered files (artifact inputs carry their digest).
    /// Only what the step declares counts: another node joining changes nothing here.
    static func fingerprint(
        step: Step, values: [String: Value], volatile: Set<String>, files: [RenderedFile],
        secretInputs: Set<String>
    ) -> String {
        var lines = ["islet-fingerprint/1", "step \(step.id)", "scope \(step.scope.rawValue)"]
        lines.append("check \(sha256Hex(Data((step.check?.text ?? "").utf8)))")
        lines.append("apply \(sha256Hex(Data(step.apply.text.utf8)))")
        lines.append("remove \(sha256Hex(Data((step.remove?.text ?? "").utf8)))")
        let secretNames = Set(step.secrets.flatMap(\.variables)).union(secretInputs)
        for name in values.keys.sorted() where !volatile.contains(name) {
            let text = values[name]!.canonicalJSON
            // Secrets enter the fingerprint only as their hash, since state files are not secret.
            lines.append(
                secretNames.contains(name) ? "secret \(name) \(sha256Hex(Data(text.utf8)))" : "input \(name) \(text)")
        }
        for file in files {
            lines.append("file \(file.destination) \(String(file.mode, radix: 8)) \(file.owner ?? "-") \(file.sha256)")
        }
        return "sha256:" + sha256Hex(Data(lines.joined(separator: "\n").utf8))
    }
}

public enum ResolveError: Error, CustomStringConvertible {
    case unknownStep(StepID)
    case template(step: StepID, template: String, reason: String)

    public var description: String {
        switch self {
        case .unknownStep(let id): return "step \(id) is not defined by any stack"
        case .template(let step, let template, let reason):
            return "step \(step): template \(template) failed to render: \(reason)"
        }
    }
}

func sha256Hex(_ data: Data) -> String {
    lowercaseHex(SHA256.hash(data: data))
}

/// Bytes as lowercase hex, as sha256sum prints digests; by table, since `String(format:)` per byte costs more
/// than hashing a small file.
public func lowercaseHex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(64)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
}
