import Foundation

/// Outputs declared with `file:`: the value, base64-decoded, kept as a file in the state folder (mode 0600).
/// A step encodes the file it made on the node, since outputs are single lines.
public enum OutputFile {
    /// Names islet's own files take in the state folder.
    public static let reservedNames: Set<String> = [
        "state.json", "state.json.journal", "state.json.backup", "secrets.json", "state.lock", "runs", "known_hosts",
    ]

    public static func isValidName(_ name: String) -> Bool {
        guard !reservedNames.contains(name), !name.hasPrefix("."), name.count <= 255 else { return false }
        return name.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._-".unicodeScalars.contains($0)
        }
    }

    /// Writes the output's file; an output that is not base64 is the step's error, naming the output.
    static func save(_ value: String, output: OutputDeclaration, step: StepID, folder: String) throws {
        guard let file = output.file else { return }
        guard let data = Data(base64Encoded: value.trimmingCharacters(in: .whitespaces)) else {
            throw OutputFileError.notBase64(step: step, output: output.name, file: file)
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try AtomicFile.write(data, to: folder + "/" + file, mode: 0o600)
    }

    /// Removes the file of an output whose step is no longer applied anywhere.
    static func remove(output: OutputDeclaration, folder: String) {
        guard let file = output.file else { return }
        try? FileManager.default.removeItem(atPath: folder + "/" + file)
    }
}

public enum OutputFileError: Error, CustomStringConvertible {
    case notBase64(step: StepID, output: String, file: String)

    public var description: String {
        switch self {
        case .notBase64(let step, let output, let file):
            return "step \(step): output \(output) is saved to the file \(file), so it must be base64; it is not"
        }
    }
}
