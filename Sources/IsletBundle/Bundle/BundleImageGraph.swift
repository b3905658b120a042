import Foundation
import IsletCore

/// The images of a bundle as its OCI layout holds them: which blobs each image needs, whether `oci/index.json`
/// agrees with `bundle.json`, and what an image refers to that the bundle lacks.
///
/// An index may name platforms the bundle left out (it keeps only the nodes' platforms): a child manifest is
/// required only for a platform `bundle.json` records as present, and walked whenever it is there.
struct BundleImageGraph {
    /// For each blob digest, what uses it (`image argocd (argocd v3.4.4) layer`), for naming it in problems.
    var uses: [String: [String]] = [:]
    /// For each image (by index in `bundle.json`), the digests of every blob it needs that the bundle has.
    var blobsOfImage: [[String]] = []
    var problems: [BundleProblem] = []

    /// Walks every image of `manifest` in `source`.
    /// - Parameter readable: digests whose content may be read and parsed (those that verified); nil for all.
    init(source: BundleSource, manifest: BundleManifest, readable: Set<String>?) {
        let listed = Dictionary(manifest.blobs.map { ($0.digest, $0.size) }, uniquingKeysWith: { first, _ in first })
        checkLayout(source: source, manifest: manifest, listed: listed)
        for image in manifest.images {
            var walk = Walk(
                source: source, image: image, listed: listed, readable: readable,
                label: "image \(image.name) (\(image.stack) \(image.version))")
            walk.visit(image.digest, expectedSize: nil, role: "", required: true)
            for (digest, role) in walk.found { uses[digest, default: []].append(walk.label + role) }
            blobsOfImage.append(walk.found.map(\.digest).filter { listed[$0] != nil })
            problems += walk.problems
        }
    }

    /// `oci/oci-layout` and `oci/index.json`: the entries skopeo and a registry push read, one per image.
    private mutating func checkLayout(source: BundleSource, manifest: BundleManifest, listed: [String: Int64]) {
        let layoutPath = "oci/oci-layout"
        if source.members[layoutPath] == nil {
            problems.append(BundleProblem(item: "OCI layout marker", path: source.describe(layoutPath), kind: .missing))
        } else if !Self.isLayoutMarker(try? source.contents(of: layoutPath, limit: 4096)) {
            problems.append(
                BundleProblem(
                    item: "OCI layout marker", path: source.describe(layoutPath),
                    kind: .inconsistent("expected {\"imageLayoutVersion\": \"1.0.0\"}")))
        }
        let indexPath = "oci/index.json"
        let item = "OCI image index"
        guard source.members[indexPath] != nil else {
            problems.append(BundleProblem(item: item, path: source.describe(indexPath), kind: .missing))
            return
        }
        guard let data = try? source.contents(of: indexPath, limit: 64 << 20),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let entries = object["manifests"] as? [[String: Any]]
        else {
            problems.append(
                BundleProblem(
                    item: item, path: source.describe(indexPath),
                    kind: .inconsistent("not an OCI image index; expected JSON with a \"manifests\" list")))
            return
        }
        let refName = "org.opencontainers.image.ref.name"
        var byReference: [String: [String: Any]] = [:]
        for entry in entries {
            let reference = (entry["annotations"] as? [String: Any])?[refName] as? String ?? ""
            byReference[reference] = entry
        }
        let references = Set(manifest.images.map(\.reference))
        for image in manifest.images {
            let label = "image \(image.name) (\(image.stack) \(image.version))"
            guard let entry = byReference[image.reference] else {
                problems.append(
                    BundleProblem(
                        item: label, path: source.describe(indexPath),
                        kind: .inconsistent("no entry with \(refName) \(image.reference)")))
                continue
            }
            let digest = entry["digest"] as? String ?? ""
            let size = (entry["size"] as? NSNumber)?.int64Value
            if digest != image.digest {
                problems.append(
                    BundleProblem(
                        item: label, path: source.describe(indexPath),
                        kind: .inconsistent(
                            "its entry for \(image.reference) has digest \(digest); bundle.json has \(image.digest)")))
            } else if let listedSize = listed[digest], size != listedSize {
                problems.append(
                    BundleProblem(
                        item: label, path: source.describe(indexPath),
                        kind: .inconsistent(
                            "its entry for \(image.reference) has size \(size.map(String.init) ?? "none"); "
                                + "the blob has \(listedSize)")))
            }
        }
        for reference in byReference.keys.sorted() where !references.contains(reference) {
            let name = reference.isEmpty ? "an entry without \(refName)" : "the entry for \(reference)"
            problems.append(
                BundleProblem(
                    item: "OCI image index", path: source.describe(indexPath),
                    kind: .inconsistent("\(name) is not an image of bundle.json")))
        }
    }

    private static func isLayoutMarker(_ data: Data?) -> Bool {
        guard let data, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return false
        }
        return object["imageLayoutVersion"] as? String == "1.0.0"
    }

    /// One image's walk from its top manifest or index down to configs and layers.
    private struct Walk {
        let source: BundleSource
        let image: BundleManifest.Image
        let listed: [String: Int64]
        let readable: Set<String>?
        let label: String
        var found: [(digest: String, role: String)] = []
        var problems: [BundleProblem] = []
        private var seen: Set<String> = []

        init(
            source: BundleSource, image: BundleManifest.Image, listed: [String: Int64], readable: Set<String>?,
            label: String
        ) {
            self.source = source
            self.image = image
            self.listed = listed
            self.readable = readable
            self.label = label
        }

        mutating func visit(_ digest: String, expectedSize: Int64?, role: String, required: Bool) {
            guard seen.insert(digest).inserted else { return }
            let path = source.describe(BundleManifest.Blob.path(ofDigest: digest))
            guard let size = listed[digest] else {
                if required {
                    problems.append(
                        BundleProblem(
                            item: label + role, path: path,
                            kind: .inconsistent("\(digest) is not among bundle.json's blobs")))
                }
                return
            }
            found.append((digest, role))
            if let expectedSize, expectedSize != size {
                problems.append(
                    BundleProblem(
                        item: label + role, path: path,
                        kind: .inconsistent("its descriptor says \(expectedSize) bytes; bundle.json says \(size)")))
            }
            if role == " config" || role.hasPrefix(" layer") { return }
            guard readable?.contains(digest) ?? true,
                let data = try? source.contents(of: BundleManifest.Blob.path(ofDigest: digest), limit: 4 << 20),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else {
                // An unreadable or corrupt blob is reported by the hashing; its children cannot be known.
                if readable == nil || readable!.contains(digest) {
                    problems.append(
                        BundleProblem(
                            item: label + role, path: path,
                            kind: .inconsistent("not a JSON image manifest or index")))
                }
                return
            }
            if let children = object["manifests"] as? [[String: Any]] {
                var platformsSeen: Set<String> = []
                for child in children {
                    guard let childDigest = child["digest"] as? String else { continue }
                    let platform = Self.platforms(of: child["platform"] as? [String: Any])
                    let present = platform.contains { image.platforms.contains($0) }
                    if present { platformsSeen.formUnion(platform) }
                    visit(
                        childDigest, expectedSize: (child["size"] as? NSNumber)?.int64Value,
                        role: " manifest " + (platform.last ?? "without platform"), required: present)
                }
                for platform in image.platforms where !platformsSeen.contains(platform) {
                    problems.append(
                        BundleProblem(
                            item: label + (role.isEmpty ? " index" : role), path: path,
                            kind: .inconsistent(
                                "bundle.json records platform \(platform); the index has no manifest for it")))
                }
            } else if let config = object["config"] as? [String: Any] {
                if let configDigest = config["digest"] as? String {
                    visit(
                        configDigest, expectedSize: (config["size"] as? NSNumber)?.int64Value, role: " config",
                        required: true)
                }
                let layers = object["layers"] as? [[String: Any]] ?? []
                for (index, layer) in layers.enumerated() {
                    guard let layerDigest = layer["digest"] as? String else { continue }
                    visit(
                        layerDigest, expectedSize: (layer["size"] as? NSNumber)?.int64Value,
                        role: " layer \(index + 1) of \(layers.count)", required: true)
                }
            } else {
                problems.append(
                    BundleProblem(
                        item: label + role, path: path,
                        kind: .inconsistent("neither an image index nor an image manifest")))
            }
        }

        /// `linux/amd64` and, with a variant, also `linux/arm64/v8`: either form may be what bundle.json records.
        static func platforms(of object: [String: Any]?) -> [String] {
            guard let object, let os = object["os"] as? String, let arch = object["architecture"] as? String else {
                return []
            }
            var names = ["\(os)/\(arch)"]
            if let variant = object["variant"] as? String, !variant.isEmpty { names.append("\(os)/\(arch)/\(variant)") }
            return names
        }
    }
}
