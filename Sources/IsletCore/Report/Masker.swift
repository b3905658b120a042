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

/// Splits streamed output into whole lines before masking, so a secret split across two chunks is still
/// caught. Each stream keeps its own partial line.
public final class MaskedLines: @unchecked Sendable {
    private let masker: Masker
    private let emit: @Sendable (OutputChunk.Stream, String) -> Void
    private let lock = NSLock()
    private var pending: [OutputChunk.Stream: [UInt8]] = [:]

    /// - Parameter emit: receives each masked line, without its newline.
    public init(masker: Masker, emit: @escaping @Sendable (OutputChunk.Stream, String) -> Void) {
        self.masker = masker
        self.emit = emit
    }

    public func append(_ chunk: OutputChunk) {
        lock.withLock {
            var buffer = pending[chunk.stream, default: []] + chunk.bytes
            var start = buffer.startIndex
            while let newline = buffer[start...].firstIndex(of: 0x0A) {
                emit(chunk.stream, masker.mask(String(decoding: buffer[start..<newline], as: UTF8.self)))
                start = newline + 1
            }
            buffer.removeSubrange(..<start)
            pending[chunk.stream] = buffer
        }
    }

    /// Emits what is left of unterminated last lines.
    public func flush() {
        lock.withLock {
            for (stream, rest) in pending.sorted(by: { "\($0.key)" < "\($1.key)" }) where !rest.isEmpty {
                emit(stream, masker.mask(String(decoding: rest, as: UTF8.self)))
            }
            pending = [:]
        }
    }
}
