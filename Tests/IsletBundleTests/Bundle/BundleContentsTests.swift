import Foundation
import IsletCore
import IsletTestSupport
import Testing

@testable import IsletBundle

@Suite struct BundleContentsTests {
    /// The whole listing: files and images with stack, version, arch and size, the replaced and unpinned
    /// file marked, and the totals. The same from the folder and from the split archive.
    @Test(arguments: [BundleForm.folder, .parts]) func listsEverythingWithItsStackVersionAndArch(_ form: BundleForm)
        throws
    {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let contents = try BundleContents(of: form.open(scratch.bundle, scratch: scratch.root))
        #expect(contents.files.map(\.file.name) == ["tool", "chart"])
        let layers = (3 << 20) + 123 + (10 << 10)
        let json = scratch.bundle.manifest.blobs.filter {
            [scratch.bundle.indexDigest, scratch.bundle.manifestDigest, scratch.bundle.configDigest].contains($0.digest)
        }.reduce(0) { $0 + $1.size }
        #expect(contents.images.map(\.size) == [Int64(layers) + json])
        #expect(
            contents.render() == """
                Bundle made by islet 0.1.0 at 2026-12-02T08:40:00Z for amd64.

                Files (2):
                  STACK  NAME   VERSION  ARCH   SIZE     NOTE
                  demo   chart  2.1      any    2.0 KiB  REPLACED by /srv/patched/chart.tgz; UNPINNED; extract chart/values.yaml
                  demo   tool   1.0      amd64  1.0 MiB

                Images (1):
                  STACK  NAME  VERSION  PLATFORMS    SIZE     REFERENCE                      NOTE
                  demo   app   1.0      linux/amd64  3.0 MiB  registry.example/demo/app:1.0

                Total: 2 files (1.0 MiB), 1 image, 7 blobs (4.0 MiB, files included), islet binary 200.0 KiB.
                Replaced: 1. Unpinned: 1.

                """)
    }

    @Test func sizesReadAsAPersonReadsThem() {
        #expect(BundleContents.size(512) == "512 B")
        #expect(BundleContents.size(1536) == "1.5 KiB")
        #expect(BundleContents.size(700 << 20) == "700.0 MiB")
        #expect(BundleContents.size(5 << 40) == "5.0 TiB")
    }
}
