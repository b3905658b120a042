import Foundation

/// Everything that can fail with images: references, manifests, the layout, registries. Each case names
/// the artifact (reference, URL or file) and what was expected; none ever carries a credential or token.
public enum OCIError: Error, CustomStringConvertible, Equatable {
    case invalidReference(String, reason: String)
    case invalidDigest(String, reason: String)
    /// A manifest islet cannot use (Docker schema 1, an unknown media type), at `source` (URL or file).
    case unsupportedManifest(source: String, mediaType: String, reason: String)
    case malformed(source: String, reason: String)
    case digestMismatch(source: String, expected: Digest, actual: Digest)
    case sizeMismatch(source: String, expected: Int64, actual: Int64)
    case io(path: String, reason: String)
    case notInLayout(reference: String, layout: String)
    case missingBlob(Digest, image: String, layout: String)
    case platformsNotAvailable(reference: String, requested: [Platform], available: [Platform])
    /// The registry answered `status`; `detail` is its error list (codes and messages), never a header.
    case registry(method: String, url: String, status: Int, detail: String)
    case unauthorized(host: String, reason: String)

    public var description: String {
        switch self {
        case .invalidReference(let reference, let reason):
            return "image reference '\(reference)': \(reason)"
        case .invalidDigest(let digest, let reason):
            return "digest '\(digest)': \(reason)"
        case .unsupportedManifest(let source, let mediaType, let reason):
            return "\(source): manifest of type '\(mediaType)' is not supported: \(reason)"
        case .malformed(let source, let reason):
            return "\(source): \(reason)"
        case .digestMismatch(let source, let expected, let actual):
            return "\(source): content has digest \(actual), expected \(expected)"
        case .sizeMismatch(let source, let expected, let actual):
            return "\(source): content is \(actual) bytes, expected \(expected)"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .notInLayout(let reference, let layout):
            return "image \(reference) is not in the OCI layout \(layout) (no index.json entry names it)"
        case .missingBlob(let digest, let image, let layout):
            return "image \(image): blob \(digest) is missing from the OCI layout \(layout)"
        case .platformsNotAvailable(let reference, let requested, let available):
            let wanted = requested.map(\.description).joined(separator: ", ")
            let offered = available.isEmpty ? "none" : available.map(\.description).joined(separator: ", ")
            return "image \(reference) is not available for \(wanted) (it offers \(offered))"
        case .registry(let method, let url, let status, let detail):
            return "\(method) \(url): HTTP \(status)\(detail.isEmpty ? "" : ": \(detail)")"
        case .unauthorized(let host, let reason):
            return "registry \(host): \(reason)"
        }
    }
}

extension OCIError: RetryableError {
    /// A registry's 5xx, 429 or 408 may pass; everything else islet reports is for good.
    public var retryAdvice: RetryAdvice {
        if case .registry(_, _, let status, _) = self, RegistryClient.isPassing(status) { return .backoff }
        return .never
    }
}
