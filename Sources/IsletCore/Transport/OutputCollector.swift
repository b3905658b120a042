import Foundation

/// Collects a script's output from the transport's thread.
public final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []

    public init() {}

    public func append(_ chunk: [UInt8]) { lock.withLock { bytes += chunk } }
    public var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }
    public var data: [UInt8] { lock.withLock { bytes } }
}
