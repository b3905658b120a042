import Foundation

/// One thing wrong with a bundle: what it is, where, and how it differs from `bundle.json`.
public struct BundleProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Listed in `bundle.json` (or needed by an image that is) but not in the bundle.
        case missing
        /// Present, but not as large as recorded: cut short, or grown.
        case wrongSize(expected: Int64, actual: Int64)
        /// Present with the recorded size, but its sha256 differs.
        case corrupt(expected: String, actual: String)
        /// In the bundle, but nothing in `bundle.json` accounts for it.
        case unexpected
        /// Two records of the bundle disagree (`bundle.json` and `oci/index.json`, an image's manifest), in words.
        case inconsistent(String)
        /// Present but unreadable, in words.
        case unreadable(String)
    }

    /// What the item is, in the user's words: `file kubeadm (kubernetes 1.36.4 amd64)`, `islet binary`, `stacks`.
    public var item: String
    /// Where it is: `DIR/oci/blobs/sha256/…` or `FILE.tar:oci/blobs/sha256/…`.
    public var path: String
    public var kind: Kind

    public init(item: String, path: String, kind: Kind) {
        self.item = item
        self.path = path
        self.kind = kind
    }

    /// `missing`, `truncated`, `corrupt`, …: the word a report leads with.
    public var label: String {
        switch kind {
        case .missing: return "missing"
        case .wrongSize(let expected, let actual): return actual < expected ? "truncated" : "wrong size"
        case .corrupt: return "corrupt"
        case .unexpected: return "unexpected"
        case .inconsistent: return "inconsistent"
        case .unreadable: return "unreadable"
        }
    }

    public var description: String {
        let detail: String
        switch kind {
        case .missing: detail = "not in the bundle"
        case .wrongSize(let expected, let actual): detail = "\(actual) bytes; expected \(expected)"
        case .corrupt(let expected, let actual): detail = "sha256 \(actual); expected \(expected)"
        case .unexpected: detail = "not listed in bundle.json"
        case .inconsistent(let text), .unreadable(let text): detail = text
        }
        return "\(label): \(item): \(path): \(detail)"
    }
}

/// What `bundle verify` found: every problem, and how much it re-hashed to find them.
public struct BundleVerification: Sendable, Equatable {
    /// Sorted by path, then by what is wrong.
    public var problems: [BundleProblem]
    /// Members re-hashed (blobs, the islet binary, the stacks' files).
    public var hashedMembers: Int
    public var hashedBytes: Int64

    public var passed: Bool { problems.isEmpty }
}

extension BundleVerification {
    /// The report `bundle verify` prints: one line when everything matches, else each problem on its own line.
    public func render(location: String) -> String {
        if passed {
            return "\(location): verified: \(hashedMembers) files, \(BundleContents.size(hashedBytes)) re-hashed; "
                + "every size and sha256 matches bundle.json.\n"
        }
        let noun = problems.count == 1 ? "problem" : "problems"
        return
            ([
                "\(location): \(problems.count) \(noun) (\(hashedMembers) files, \(BundleContents.size(hashedBytes)) re-hashed):"
            ] + problems.map { "  " + $0.description }).joined(separator: "\n") + "\n"
    }
}
