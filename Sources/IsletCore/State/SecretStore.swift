import Foundation

/// Generated secrets and secret outputs, in a 0600 file apart from the state, never printed unmasked.
public struct SecretStore: Sendable {
    public var path: String
    public private(set) var lineage: String
    public private(set) var values: [String: String]

    struct File: Codable {
        var formatVersion: Int
        var lineage: String
        var values: [String: String]
    }

    /// Opens the secrets of the state with `lineage`; a secrets file of another lineage is refused.
    /// With no state yet (`lineage` nil) an existing secrets file is kept, so its secrets survive a lost state.
    public static func open(path: String, lineage: String?) throws -> SecretStore {
        guard let data = FileManager.default.contents(atPath: path) else {
            return SecretStore(path: path, lineage: lineage ?? "", values: [:])
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw StateError.corruptSecrets(path: path, reason: JSONDocument.describe(error))
        }
        if let lineage, file.lineage != lineage {
            throw StateError.otherLineage(path: path, expected: lineage, found: file.lineage)
        }
        return SecretStore(path: path, lineage: file.lineage, values: file.values)
    }

    /// The entry names of the secrets file at `path`, sorted; nil when there is none or it cannot be read.
    static func keys(atPath path: String) -> [String]? {
        guard let data = FileManager.default.contents(atPath: path),
            let file = try? JSONDecoder().decode(File.self, from: data)
        else { return nil }
        return file.values.keys.sorted()
    }

    /// The entries `state` records that this secrets file lacks: a lost file, or an older copy put back.
    public func missing(recordedIn state: State?) -> [String] {
        (state?.secretKeys ?? []).filter { values[$0] == nil }
    }

    public var backupPath: String { path + ".backup" }

    static func generatedKey(_ step: StepID, _ name: String) -> String { "secret:\(step)/\(name)" }
    static func outputKey(node: String, _ step: StepID, _ name: String) -> String { "output:\(node)/\(step)/\(name)" }

    public subscript(key: String) -> String? { values[key] }

    /// Binds a new secrets file to the lineage of the state created with it.
    mutating func bind(to newLineage: String) throws {
        guard lineage != newLineage else { return }
        lineage = newLineage
        if !values.isEmpty { try persist() }
    }

    public mutating func set(_ value: String?, for key: String) throws {
        guard values[key] != value else { return }
        values[key] = value
        try persist()
    }

    private func persist() throws {
        let data = try JSONDocument.encoder().encode(File(formatVersion: 1, lineage: lineage, values: values))
        try AtomicFile.write(data, to: path, mode: 0o600, backup: backupPath)
    }

    /// A random string from `alphabet`, drawn without modulo bias.
    static func generate(length: Int, alphabet: String) -> String {
        let characters = Array(alphabet)
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in characters[Int.random(in: 0..<characters.count, using: &generator)] })
    }
}
