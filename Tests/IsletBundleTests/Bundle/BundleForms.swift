import Foundation
import IsletTestSupport
import Testing

@testable import IsletBundle

/// The four ways a bundle reaches `verify`: its folder, islet's tar, islet's split parts, and GNU tar's archive
/// of the folder (one folder down, `./`-less names, its own header choices).
enum BundleForm: String, CaseIterable, CustomStringConvertible {
    case folder
    case archive
    case parts
    case gnuTar

    var description: String { rawValue }

    /// Opens `bundle` in this form, writing any archive under `scratch`.
    func open(_ bundle: TestBundle, scratch: String) throws -> BundleSource {
        switch self {
        case .folder:
            return try BundleSource(opening: bundle.folder)
        case .archive:
            try BundleArchive.write(folder: bundle.folder, to: scratch + "/bundle.tar")
            return try BundleSource(opening: scratch + "/bundle.tar")
        case .parts:
            let parts = try BundleArchive.write(folder: bundle.folder, to: scratch + "/split.tar", partSize: 1 << 20)
            #expect(parts.count > 1)
            return try BundleSource(opening: scratch + "/split.tar")
        case .gnuTar:
            let url = URL(fileURLWithPath: bundle.folder)
            let result = try runProgram(
                [
                    "/usr/bin/tar", "-cf", scratch + "/gnu.tar", "-C", url.deletingLastPathComponent().path,
                    url.lastPathComponent,
                ])
            #expect(result.status == 0, "\(result.output)")
            return try BundleSource(opening: scratch + "/gnu.tar")
        }
    }
}

/// A folder for one test: `bundle/` holds a fresh `TestBundle`, the rest is scratch space. Removed by `remove`.
struct BundleScratch {
    let root: String
    let bundle: TestBundle

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("islet-bundle-\(UUID())").path
        bundle = try TestBundle(in: root + "/bundle")
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}
