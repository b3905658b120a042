import Foundation

/// Syntax checks for the addresses, subnets and versions an inventory holds.
enum NetworkSyntax {
    static func isIPv4(_ text: String) -> Bool { ipv4Bytes(text) != nil }

    static func isIPv6(_ text: String) -> Bool {
        var buffer = in6_addr()
        return text.withCString { inet_pton(AF_INET6, $0, &buffer) } == 1
    }

    static func isIP(_ text: String) -> Bool { isIPv4(text) || isIPv6(text) }

    /// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
    static func isHostname(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        if text.allSatisfy({ $0.isNumber || $0 == "." }) { return false }  // looks like a broken IPv4 address
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isLabel)
    }

    static func isLabel<S: StringProtocol>(_ label: S) -> Bool {
        guard (1...63).contains(label.utf8.count) else { return false }
        let allowed = label.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "-"
        }
        return allowed && label.first != "-" && label.last != "-"
    }

    static func isAddress(_ text: String) -> Bool { isIP(text) || isHostname(text) }

    static func ipv4Bytes(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isNumber), let value = UInt8(part) else {
                return nil
            }
            if part.count > 1 && part.first == "0" { return nil }  // leading zeros read as octal by some tools
            bytes.append(value)
        }
        return bytes
    }

    /// An IPv4 CIDR as (network, prefix length), or nil when it is not one.
    static func ipv4CIDR(_ text: String) -> (network: UInt32, prefix: Int)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bytes = ipv4Bytes(String(parts[0])),
            let prefix = Int(parts[1]), (0...32).contains(prefix)
        else { return nil }
        let address = bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return (address, prefix)
    }

    static func isCIDR(_ text: String) -> Bool {
        if ipv4CIDR(text) != nil { return true }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, isIPv6(String(parts[0])), let prefix = Int(parts[1]) else { return false }
        return (0...128).contains(prefix)
    }

    /// Whether two IPv4 CIDRs share any address.
    static func overlap(_ a: String, _ b: String) -> Bool {
        guard let x = ipv4CIDR(a), let y = ipv4CIDR(b) else { return false }
        let prefix = min(x.prefix, y.prefix)
        let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
        return x.network & mask == y.network & mask
    }

    /// `MAJOR.MINOR.PATCH`, digits only, as Kubernetes release numbers are written.
    static func isVersion(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    /// `host:port` or `[v6]:port`.
    static func isEndpoint(_ text: String) -> Bool {
        guard let colon = text.lastIndex(of: ":") else { return false }
        var host = String(text[..<colon])
        let port = String(text[text.index(after: colon)...])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            guard isIPv6(host) else { return false }
        } else if !isAddress(host) {
            return false
        }
        guard let number = Int(port) else { return false }
        return (1...65535).contains(number)
    }
}
