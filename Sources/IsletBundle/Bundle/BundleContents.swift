import Foundation
import IsletCore

/// `bundle list`: what a bundle holds, for which stack, version and architecture, and how large it is.
///
/// Read from `bundle.json` and the images' manifests alone: listing never hashes, so it is instant on a bundle
/// of any size (`verify` is the command that reads every byte).
public struct BundleContents: Sendable, Equatable {
    public struct FileRow: Sendable, Equatable {
        public var file: BundleManifest.File
    }

    public struct ImageRow: Sendable, Equatable {
        public var image: BundleManifest.Image
        /// The bytes of every blob the image needs that the bundle holds (its index, manifests, configs, layers).
        public var size: Int64
    }

    public var manifest: BundleManifest
    public var files: [FileRow]
    public var images: [ImageRow]
    /// All blobs once, however many images share them.
    public var blobBytes: Int64

    /// Reads the contents of `source`.
    /// - Throws: `BundleSourceError` or `BundleManifestError` when `bundle.json` cannot be read.
    public init(of source: BundleSource) throws {
        manifest = try BundleManifest.decode(
            source.contents(of: BundleManifest.fileName), file: source.describe(BundleManifest.fileName))
        let sizes = Dictionary(manifest.blobs.map { ($0.digest, $0.size) }, uniquingKeysWith: { first, _ in first })
        let graph = BundleImageGraph(source: source, manifest: manifest, readable: nil)
        files = manifest.files.map { FileRow(file: $0) }
        images = zip(manifest.images, graph.blobsOfImage).map { image, blobs in
            ImageRow(image: image, size: Set(blobs).reduce(0) { $0 + (sizes[$1] ?? 0) })
        }
        blobBytes = manifest.blobs.reduce(0) { $0 + $1.size }
    }

    /// The listing as text: a heading, one table of files and one of images, then the totals. Replaced and
    /// unpinned artifacts say so in a column of their own and are counted in the totals.
    public func render() -> String {
        var lines = [
            "Bundle made by islet \(manifest.islet.version) at \(BundleManifest.timestamp(manifest.createdAt)) "
                + "for \(manifest.architectures.joined(separator: ", ")).",
            "",
        ]
        lines.append("Files (\(files.count)):")
        if files.isEmpty {
            lines.append("  none")
        } else {
            lines += table(
                ["STACK", "NAME", "VERSION", "ARCH", "SIZE", "NOTE"],
                files.sorted {
                    ($0.file.stack, $0.file.name, $0.file.arch ?? "") < (
                        $1.file.stack, $1.file.name, $1.file.arch ?? ""
                    )
                }
                .map { row in
                    [
                        row.file.stack, row.file.name, row.file.version, row.file.arch ?? "any",
                        Self.size(row.file.size), note(row.file),
                    ]
                })
        }
        lines.append("")
        lines.append("Images (\(images.count)):")
        if images.isEmpty {
            lines.append("  none")
        } else {
            lines += table(
                ["STACK", "NAME", "VERSION", "PLATFORMS", "SIZE", "REFERENCE", "NOTE"],
                images.sorted { ($0.image.stack, $0.image.name) < ($1.image.stack, $1.image.name) }.map { row in
                    [
                        row.image.stack, row.image.name, row.image.version,
                        row.image.platforms.joined(separator: ","), Self.size(row.size), row.image.reference,
                        row.image.pinned ? "" : "UNPINNED",
                    ]
                })
        }
        lines.append("")
        let fileBytes = manifest.files.reduce(0) { $0 + $1.size }
        let replaced = manifest.files.filter { $0.replaced != nil }.count
        let unpinned = manifest.files.filter { !$0.pinned }.count + manifest.images.filter { !$0.pinned }.count
        lines.append(
            "Total: \(count(files.count, "file")) (\(Self.size(fileBytes))), \(count(images.count, "image")), "
                + "\(count(manifest.blobs.count, "blob")) (\(Self.size(blobBytes)), files included), "
                + "islet binary \(Self.size(manifest.islet.size)).")
        lines.append("Replaced: \(replaced). Unpinned: \(unpinned).")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `1 image`, `2 images`.
    private func count(_ number: Int, _ noun: String) -> String { "\(number) \(noun)\(number == 1 ? "" : "s")" }

    private func note(_ file: BundleManifest.File) -> String {
        var notes: [String] = []
        if let replaced = file.replaced { notes.append("REPLACED by \(replaced.source)") }
        if !file.pinned { notes.append("UNPINNED") }
        if let extract = file.extract { notes.append("extract \(extract)") }
        return notes.joined(separator: "; ")
    }

    private func table(_ header: [String], _ rows: [[String]]) -> [String] {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        return ([header] + rows).map { row in
            var line =
                "  "
                + row.enumerated().map { column, cell in
                    cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                }.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
    }
}

extension BundleContents {
    /// `1.5 GiB`, `700.0 MiB`, `512 B`: sizes as a person reads them, in powers of 1024.
    public static func size(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }
}
