import Foundation

/// Collects command output from the session thread (small outputs only).
final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []

    func append(_ chunk: [UInt8]) {
        lock.withLock { bytes += chunk }
    }

    var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }
}

/// Quotes `value` for POSIX sh.
func shellQuoted(_ value: String) -> String {
    "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
