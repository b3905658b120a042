import Foundation

/// Replaces every known secret value with `***` in text islet prints or logs.
public final class Masker: @unchecked Sendable {
    /// Shorter values are not masked: replacing every "on" or "1" would garble output and hide nothing.
    public static let minimumLength = 4
    private let lock = NSLock()
    private var secrets: [String] = []

    public init(secrets: [String] = []) {
        add(secrets)
    }

    public func add(_ values: [String]) {
        lock.withLock {
            for value in values {
                // A multi-line secret is also masked line by line, since output is handled a line at a time.
                let pieces = [value] + value.split(separator: "\n").map(String.init)
                for piece in pieces where piece.count >= Self.minimumLength && !secrets.contains(piece) {
                    secrets.append(piece)
                }
            }
            secrets.sort { $0.count > $1.count }
        }
    }

    public func mask(_ text: String) -> String {
        let current = lock.withLock { secrets }
        var result = text
        for secret in current where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: "***")
        }
        return result
    }
}
