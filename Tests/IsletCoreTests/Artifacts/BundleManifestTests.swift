import Foundation
import Testing

@testable import IsletCore

@Suite struct BundleManifestTests {
    static let hexA = String(repeating: "a", count: 64)
    static let hexB = String(repeating: "b", count: 64)
    static let hexC = String(repeating: "c", count: 64)
    static let hexD = String(repeating: "d", count: 64)

    /// A manifest with one of everything, blobs given out of order.
    static let sample = BundleManifest(
        createdAt: Date(timeIntervalSince1970: 1_796_200_800),
        islet: .init(version: "0.1.0", sha256: hexA, size: 123),
        inventory: .init(sha256: hexB),
        stacks: .init(sha256: hexC),
        architectures: ["amd64"],
        files: [
            .init(
                name: "kubeadm", stack: "kubernetes", version: "1.36.4", arch: "amd64",
                url: "https://dl.k8s.io/release/v1.36.4/bin/linux/amd64/kubeadm", sha256: hexD, size: 42,
                extract: nil, pinned: false, replaced: .init(source: "/tmp/my \"kubeadm\""))
        ],
        images: [
            .init(
                name: "argocd", stack: "argocd", version: "v3.4.4", reference: "quay.io/argoproj/argocd:v3.4.4",
                digest: "sha256:" + hexC, mediaType: "application/vnd.oci.image.index.v1+json",
                platforms: ["linux/amd64"])
        ],
        blobs: [.init(digest: "sha256:" + hexD, size: 42), .init(digest: "sha256:" + hexC, size: 7)])

    /// The schema's key order, 2-space indent, `": "`, slashes as written, quotes escaped, blobs sorted.
    @Test func encodesTheCanonicalDocument() {
        let expected = """
            {
              "apiVersion": "islet/v1",
              "kind": "Bundle",
              "createdAt": "2026-12-02T08:40:00Z",
              "islet": {
                "version": "0.1.0",
                "path": "bin/islet",
                "sha256": "\(Self.hexA)",
                "size": 123
              },
              "inventory": {
                "sha256": "\(Self.hexB)"
              },
              "stacks": {
                "path": "stacks",
                "sha256": "\(Self.hexC)"
              },
              "architectures": [
                "amd64"
              ],
              "files": [
                {
                  "name": "kubeadm",
                  "stack": "kubernetes",
                  "version": "1.36.4",
                  "arch": "amd64",
                  "url": "https://dl.k8s.io/release/v1.36.4/bin/linux/amd64/kubeadm",
                  "sha256": "\(Self.hexD)",
                  "size": 42,
                  "extract": null,
                  "pinned": false,
                  "replaced": {
                    "source": "/tmp/my \\"kubeadm\\""
                  }
                }
              ],
              "images": [
                {
                  "name": "argocd",
                  "stack": "argocd",
                  "version": "v3.4.4",
                  "reference": "quay.io/argoproj/argocd:v3.4.4",
                  "digest": "sha256:\(Self.hexC)",
                  "mediaType": "application/vnd.oci.image.index.v1+json",
                  "platforms": [
                    "linux/amd64"
                  ],
                  "pinned": true
                }
              ],
              "blobs": [
                {
                  "digest": "sha256:\(Self.hexC)",
                  "size": 7
                },
                {
                  "digest": "sha256:\(Self.hexD)",
                  "size": 42
                }
              ]
            }

            """
        #expect(String(decoding: Self.sample.encoded(), as: UTF8.self) == expected)
    }

    @Test func readsBackWhatItWrites() throws {
        var sorted = Self.sample
        sorted.blobs.sort { $0.digest < $1.digest }
        #expect(try BundleManifest.decode(Self.sample.encoded()) == sorted)
        var empty = Self.sample
        (empty.files, empty.images, empty.blobs) = ([], [], [])
        empty.files = [.init(name: "chart", stack: "s", version: "1", arch: nil, url: "u", sha256: Self.hexA, size: 0)]
        #expect(try BundleManifest.decode(empty.encoded()) == empty)
        #expect(String(decoding: empty.encoded(), as: UTF8.self).contains("\"images\": [],\n"))
    }

    @Test func blobAndFilePathsFollowTheLayout() {
        #expect(Self.sample.blobs[0].path == "oci/blobs/sha256/" + Self.hexD)
        #expect(Self.sample.blobs[0].hex == Self.hexD)
        #expect(Self.sample.files[0].blobDigest == "sha256:" + Self.hexD)
    }

    /// Each broken manifest: a JSON edit of the sample and the exact error.
    static let broken: [(String, @Sendable (inout [String: Any]) -> Void, String)] = [
        (
            "other apiVersion", { $0["apiVersion"] = "islet/v2" },
            "field 'apiVersion': is 'islet/v2'; expected 'islet/v1' (a bundle made by another islet version?)"
        ),
        ("other kind", { $0["kind"] = "Plan" }, "field 'kind': is 'Plan'; expected 'Bundle'"),
        ("missing islet", { $0["islet"] = nil }, "missing field 'islet'"),
        (
            "unknown top-level key", { $0["blob"] = [] as [Any] },
            "field 'blob': unknown key (did you mean 'blobs'?); expected only 'apiVersion', 'kind', 'createdAt', "
                + "'islet', 'inventory', 'stacks', 'architectures', 'files', 'images' and 'blobs'"
        ),
        (
            "misspelt file key", { edit(&$0, "files", 0) { $0["sha265"] = $0["sha256"] } },
            "field 'files[0].sha265': unknown key (did you mean 'sha256'?); expected only 'name', 'stack', "
                + "'version', 'arch', 'url', 'sha256', 'size', 'extract', 'pinned' and 'replaced'"
        ),
        (
            "upper-case hex", { edit(&$0, "files", 0) { $0["sha256"] = String(repeating: "A", count: 64) } },
            "field 'files[0].sha256': is '\(String(repeating: "A", count: 64))'; expected a sha256 of 64 lowercase hex digits"
        ),
        (
            "short hex", { $0["inventory"] = ["sha256": "abc"] },
            "field 'inventory.sha256': is 'abc'; expected a sha256 of 64 lowercase hex digits"
        ),
        (
            "blob digest without prefix", { edit(&$0, "blobs", 1) { $0["digest"] = hexD } },
            "field 'blobs[1].digest': is '\(hexD)'; expected 'sha256:' and 64 lowercase hex digits"
        ),
        (
            "image digest of another algorithm", { edit(&$0, "images", 0) { $0["digest"] = "sha512:" + hexC } },
            "field 'images[0].digest': is 'sha512:\(hexC)'; expected 'sha256:' and 64 lowercase hex digits"
        ),
        (
            "negative size", { edit(&$0, "blobs", 0) { $0["size"] = -1 } },
            "field 'blobs[0].size': is -1; expected a size of 0 bytes or more"
        ),
        (
            "islet path climbing out",
            {
                $0["islet"] = ["version": "1", "path": "bin/../../etc/passwd", "sha256": hexA, "size": 1]
            },
            "field 'islet.path': is 'bin/../../etc/passwd'; expected a relative path without '..' components"
        ),
        (
            "absolute stacks path", { $0["stacks"] = ["path": "/etc", "sha256": hexC] },
            "field 'stacks.path': is '/etc'; expected a relative path without '..' components"
        ),
        (
            "extract climbing out", { edit(&$0, "files", 0) { $0["extract"] = "../x" } },
            "field 'files[0].extract': is '../x'; expected a relative path without '..' components"
        ),
        (
            "blob listed twice", { edit(&$0, "blobs", 1) { $0["digest"] = "sha256:" + hexC } },
            "field 'blobs[1]': lists sha256:\(hexC) a second time; expected every blob once"
        ),
        (
            "createdAt not a time", { $0["createdAt"] = "yesterday" },
            "field 'createdAt': is 'yesterday'; expected a UTC time such as 2026-12-02T08:40:00Z"
        ),
        (
            "size as text", { edit(&$0, "blobs", 0) { $0["size"] = "7" } },
            "field 'blobs[0].size' has the wrong type; expected a whole number"
        ),
    ]

    @Test(arguments: broken.indices) func refusesABrokenManifestNamingTheField(_ index: Int) throws {
        let (_, change, message) = Self.broken[index]
        var object = try JSONSerialization.jsonObject(with: Self.sample.encoded()) as! [String: Any]
        change(&object)
        let data = try JSONSerialization.data(withJSONObject: object)
        do {
            _ = try BundleManifest.decode(data, file: "/media/b/bundle.json")
            Issue.record("accepted: \(Self.broken[index].0)")
        } catch let error as BundleManifestError {
            #expect(error.description == "/media/b/bundle.json: " + message)
        }
    }

    @Test func refusesTextThatIsNotJSON() {
        #expect(throws: BundleManifestError(file: "bundle.json", field: nil, problem: "not valid JSON")) {
            try BundleManifest.decode(Data("{\"apiVersion\":".utf8))
        }
    }

    /// Replaces key `key`'s element `index` (an object) through `change`.
    private static func edit(
        _ object: inout [String: Any], _ key: String, _ index: Int, _ change: (inout [String: Any]) -> Void
    ) {
        var list = object[key] as! [[String: Any]]
        change(&list[index])
        object[key] = list
    }
}
