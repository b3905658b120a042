import CCurl
import Foundation

/// The state of one hop while libcurl runs it: the caller's callbacks, the response being received,
/// and the body being sent. libcurl's C callbacks reach it through their user-data pointer.
final class Transfer {
    private let url: String
    private let onHead: (HTTPResponse) throws -> Void
    private let receive: (UnsafeRawBufferPointer) throws -> Void

    private var status = 0
    private var headers: [String: [String]] = [:]
    /// Set when the final response's headers are complete.
    private(set) var response: HTTPResponse?
    /// Set when the response is a redirect to follow: its body is discarded.
    private(set) var redirectStatus: Int?
    /// What a callback threw; libcurl only learns that the transfer must stop.
    private(set) var callbackError: Error?
    private var body: BodySource?

    init(
        url: String, onHead: @escaping (HTTPResponse) throws -> Void,
        receive: @escaping (UnsafeRawBufferPointer) throws -> Void
    ) {
        self.url = url
        self.onHead = onHead
        self.receive = receive
    }

    func open(_ requestBody: HTTPBody) throws {
        body = try BodySource(requestBody)
    }

    func close() {
        body?.close()
    }

    // MARK: - libcurl callbacks

    static let headerCallback:
        @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
            data, size, count, context in
            let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
            return transfer.header(line) ? length : 0
        }

    static let writeCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int =
        {
            data, size, count, context in
            let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            if transfer.redirectStatus != nil { return length }
            do {
                try transfer.receive(UnsafeRawBufferPointer(start: data, count: length))
                return length
            } catch {
                transfer.callbackError = error
                return 0
            }
        }

    static let readCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int =
        {
            buffer, size, count, context in
            let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
            guard let body = transfer.body else { return 0 }
            do {
                return try body.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
            } catch {
                transfer.callbackError = error
                return islet_curl_readfunc_abort()
            }
        }

    /// Takes one header line; false stops the transfer (the caller's `onHead` threw).
    private func header(_ line: String) -> Bool {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") {
            // A new response begins: 100 Continue, a redirect, or the final one.
            let fields = trimmed.split(separator: " ", maxSplits: 2)
            status = fields.count > 1 ? Int(fields[1]) ?? 0 : 0
            headers = [:]
            return true
        }
        if trimmed.isEmpty {
            guard status >= 200 else { return true }
            if [301, 302, 303, 307, 308].contains(status), headers["location"] != nil {
                redirectStatus = status
                return true
            }
            let head = HTTPResponse(status: status, headers: headers, effectiveURL: url)
            response = head
            do {
                try onHead(head)
                return true
            } catch {
                callbackError = error
                return false
            }
        }
        guard let colon = trimmed.firstIndex(of: ":") else { return true }
        let name = trimmed[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        headers[name, default: []].append(value)
        return true
    }
}

/// A request body read in pieces as libcurl asks for them: from memory, or from a file region with
/// pread, so that nothing larger than libcurl's upload buffer is ever held.
private final class BodySource {
    private enum Storage {
        case bytes([UInt8])
        case file(path: String, descriptor: Int32, offset: Int64)
    }
    private let storage: Storage
    private let length: Int64
    private var sent: Int64 = 0

    init(_ body: HTTPBody) throws {
        length = body.length
        switch body {
        case .none:
            storage = .bytes([])
        case .bytes(let bytes):
            storage = .bytes(bytes)
        case .file(let path, let offset, _):
            let descriptor = Foundation.open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw FileDigestError.unreadable(path: path, errno: errno) }
            storage = .file(path: path, descriptor: descriptor, offset: offset)
        }
    }

    func close() {
        if case .file(_, let descriptor, _) = storage { Foundation.close(descriptor) }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = Int(min(Int64(buffer.count), length - sent))
        guard wanted > 0 else { return 0 }
        switch storage {
        case .bytes(let bytes):
            bytes.withUnsafeBytes { source in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[Int(sent)..<Int(sent) + wanted]))
            }
            sent += Int64(wanted)
            return wanted
        case .file(let path, let descriptor, let offset):
            while true {
                let count = pread(descriptor, buffer.baseAddress, wanted, off_t(offset + sent))
                if count < 0 && errno == EINTR { continue }
                guard count >= 0 else { throw FileDigestError.unreadable(path: path, errno: errno) }
                guard count > 0 else { throw HTTPBodyError.fileShorterThanDeclared(path: path, length: length) }
                sent += Int64(count)
                return count
            }
        }
    }
}

/// A file body that ended before the length it was sent with.
public enum HTTPBodyError: Error, CustomStringConvertible, Equatable {
    case fileShorterThanDeclared(path: String, length: Int64)

    public var description: String {
        switch self {
        case .fileShorterThanDeclared(let path, let length):
            return "\(path): shorter than the \(length) bytes it was to be sent with"
        }
    }
}
