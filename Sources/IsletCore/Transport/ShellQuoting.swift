import Foundation

/// The one function that turns a value into shell text. Everything islet passes to a script goes through it.
public enum ShellQuoting {
    /// Single-quotes `value` for POSIX sh: inside single quotes every byte is literal except the quote itself,
    /// which is written as `'\''`. NUL cannot live in a shell variable, so it is refused up front.
    public static func quote(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Quotes raw bytes (not necessarily UTF-8) the same way.
    public static func quote(bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x27]
        for byte in bytes {
            if byte == 0x27 { out += Array("'\\''".utf8) } else { out.append(byte) }
        }
        out.append(0x27)
        return out
    }

    /// `export NAME='value'` lines for a script preamble. Names are checked by the stack loader; values
    /// containing NUL are rejected because no shell can hold them.
    public static func exports(_ variables: [(String, String)]) throws -> String {
        var lines = ""
        for (name, value) in variables {
            guard !value.utf8.contains(0) else { throw QuotingError.nulByte(name) }
            lines += "export \(name)=\(quote(value))\n"
        }
        return lines
    }

    public enum QuotingError: Error, CustomStringConvertible {
        case nulByte(String)
        public var description: String {
            switch self {
            case .nulByte(let name): return "value of \(name) contains a NUL byte, which a shell variable cannot hold"
            }
        }
    }
}
