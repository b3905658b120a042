import CCurl
import Foundation

/// One easy handle and its error buffer. A handle is used by one thread at a time (the pool hands it
/// out), which is all libcurl asks.
final class EasyHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let errorBuffer: UnsafeMutablePointer<CChar>

    init() {
        pointer = curl_easy_init()
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_easy_cleanup(pointer)
        errorBuffer.deallocate()
    }

    /// libcurl's detail for the last failure, then cleared for the next transfer.
    var errorMessage: String {
        let message = String(cString: errorBuffer).trimmingCharacters(in: .whitespacesAndNewlines)
        errorBuffer[0] = 0
        return message
    }

    /// Where the last response redirects to, resolved against its URL by libcurl.
    var redirectURL: String? {
        var value: UnsafeMutablePointer<CChar>?
        guard islet_curl_getinfo_string(pointer, CURLINFO_REDIRECT_URL, &value) == CURLE_OK, let value else {
            return nil
        }
        return String(cString: value)
    }
}

/// Idle easy handles, kept so that the next call reuses their open connections and TLS sessions.
final class EasyHandlePool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [EasyHandle] = []
    private let keep = 16

    func take() -> EasyHandle {
        lock.withLock { idle.popLast() } ?? EasyHandle()
    }

    func giveBack(_ handle: EasyHandle) {
        lock.withLock {
            if idle.count < keep { idle.append(handle) }
        }
    }
}

/// A curl_slist of lines (header lines, connect-to entries), freed by its owner after the transfer.
struct CurlStringList {
    private(set) var list: UnsafeMutablePointer<curl_slist>?

    mutating func append(_ line: String) {
        list = curl_slist_append(list, line)
    }

    mutating func free() {
        curl_slist_free_all(list)
        list = nil
    }
}
