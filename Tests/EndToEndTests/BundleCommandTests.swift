import Foundation
import IsletCore
import IsletTestSupport
import Testing

/// `islet bundle verify` and `islet bundle list`, run as a user runs them, on a real bundle folder and on
/// archives made by GNU tar and cut by coreutils' split.
@Suite struct BundleCommandTests {
    @Test func verifyPassesThenNamesAFlippedByteAndExitsOne() throws {
        let root = makeTemporaryDirectory("islet-bundle-e2e")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bundle = try TestBundle(in: root + "/bundle")
        let intact = try IsletProcess.run(["bundle", "verify", "bundle"], in: root)
        #expect(intact.status == 0, "\(intact.output)")
        #expect(intact.stdout.hasPrefix("bundle: verified: 10 files, "), "\(intact.output)")
        #expect(intact.stdout.hasSuffix("re-hashed; every size and sha256 matches bundle.json.\n"))

        let layer = bundle.layerDigests[0]
        try TestBundle.flipByte(in: bundle.path(ofBlob: layer), at: 12345)
        let damaged = try IsletProcess.run(["bundle", "verify", root + "/bundle"], in: root)
        #expect(damaged.status == 1)
        let lines = damaged.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("\(root)/bundle: 1 problem (10 files, ") == true, "\(damaged.output)")
        #expect(lines.count == 2)
        #expect(
            lines.last?.hasPrefix(
                "  corrupt: image app (demo 1.0) layer 1 of 2: \(root)/bundle/oci/blobs/sha256/\(layer.dropFirst(7)): sha256 "
            )
                == true, "\(damaged.output)")
        #expect(lines.last?.hasSuffix("; expected \(layer.dropFirst(7))") == true)
    }

    /// A tar of the folder and its parts cut by `split`: islet reads both in place, and names a truncated file.
    @Test func verifyReadsATarAndItsSplitPartsInPlace() throws {
        let root = makeTemporaryDirectory("islet-bundle-e2e")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bundle = try TestBundle(in: root + "/bundle")
        TestBundle.truncate(bundle.path(ofBlob: bundle.toolDigest), to: 4096)
        let tar = try runProgram(["/usr/bin/tar", "-cf", root + "/bundle.tar", "-C", root + "/bundle", "."])
        #expect(tar.status == 0, "\(tar.output)")
        let split = try runProgram(
            ["/usr/bin/split", "-b", "1M", "-d", "-a", "3", root + "/bundle.tar", root + "/parts.tar."])
        #expect(split.status == 0, "\(split.output)")
        let blob = "oci/blobs/sha256/" + bundle.toolDigest.dropFirst(7)
        for (argument, shown) in [
            ("bundle.tar", "bundle.tar"), ("parts.tar", "parts.tar"), ("parts.tar.002", "parts.tar.002"),
        ] {
            let result = try IsletProcess.run(["bundle", "verify", argument], in: root)
            #expect(result.status == 1, "\(argument): \(result.output)")
            #expect(
                result.stdout.contains(
                    "\n  truncated: file tool (demo 1.0 amd64): \(shown):\(blob): 4096 bytes; expected 1048581\n"),
                "\(argument): \(result.output)")
            #expect(result.stdout.split(separator: "\n").count == 2, "\(argument): \(result.output)")
        }
    }

    @Test func listShowsFilesAndImagesWithStackVersionAndArch() throws {
        let root = makeTemporaryDirectory("islet-bundle-e2e")
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try TestBundle(in: root + "/bundle")
        let result = try IsletProcess.run(["bundle", "list", "bundle"], in: root)
        #expect(result.status == 0, "\(result.output)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("  demo   tool   1.0      amd64  1.0 MiB"), "\(result.output)")
        #expect(
            lines.contains {
                $0.hasPrefix("  demo   chart  2.1      any    2.0 KiB  REPLACED by /srv/patched/chart.tgz; UNPINNED")
            })
        #expect(lines.contains("  demo   app   1.0      linux/amd64  3.0 MiB  registry.example/demo/app:1.0"))
        #expect(lines.last == "Replaced: 1. Unpinned: 1.")
    }

    @Test func aPathThatIsNoBundleIsNamed() throws {
        let root = makeTemporaryDirectory("islet-bundle-e2e")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let missing = try IsletProcess.run(["bundle", "verify", "nothing.tar"], in: root)
        #expect(missing.status == 1)
        #expect(missing.stderr == "error: nothing.tar: cannot read (No such file or directory)\n")
        try FileManager.default.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
        let empty = try IsletProcess.run(["bundle", "list", "empty"], in: root)
        #expect(empty.status == 1)
        #expect(empty.stderr == "error: empty/bundle.json: no such file in the bundle\n")
    }
}
