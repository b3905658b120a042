import Foundation

extension State {
    /// The state as `JSONDocument.encoder()` writes it (pretty, sorted keys), built one node at a time:
    /// the encoder's working tree then never holds more than one node's records, where encoding the whole
    /// state at once was most of a large apply's peak memory.
    func encodedNodeByNode() throws -> Data {
        let encoder = JSONDocument.encoder()
        func json<T: Encodable>(_ value: T, indent: Int) throws -> String {
            let text = String(decoding: try encoder.encode(value), as: UTF8.self)
            // JSON strings escape their newlines: every newline here is the pretty printer's, which leaves the
            // line inside an empty object blank.
            let margin = String(repeating: " ", count: indent)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            return ([String(lines[0])] + lines.dropFirst().map { $0.isEmpty ? "" : margin + $0 })
                .joined(separator: "\n")
        }
        var fields: [(String, String?)] = [
            ("cluster", try json(cluster, indent: 2)),
            ("formatVersion", try json(formatVersion, indent: 2)),
            ("lineage", try json(lineage, indent: 2)),
            ("serial", try json(serial, indent: 2)),
            // The node map goes straight into the output, so the whole text exists only once.
            ("nodes", nil),
        ]
        if let secretKeys { fields.append(("secretKeys", try json(secretKeys, indent: 2))) }
        fields.sort { $0.0 < $1.0 }
        var output = Data("{\n".utf8)
        for (number, (key, value)) in fields.enumerated() {
            output.append(contentsOf: "  \"\(key)\" : ".utf8)
            if let value {
                output.append(contentsOf: value.utf8)
            } else if nodes.isEmpty {
                output.append(contentsOf: "{\n\n  }".utf8)
            } else {
                output.append(contentsOf: "{\n".utf8)
                for (index, name) in nodes.keys.sorted().enumerated() {
                    if index > 0 { output.append(contentsOf: ",\n".utf8) }
                    output.append(
                        contentsOf: "    \(try json(name, indent: 4)) : \(try json(nodes[name]!, indent: 4))".utf8)
                }
                output.append(contentsOf: "\n  }".utf8)
            }
            output.append(contentsOf: (number == fields.count - 1 ? "\n}" : ",\n").utf8)
        }
        return output
    }
}
