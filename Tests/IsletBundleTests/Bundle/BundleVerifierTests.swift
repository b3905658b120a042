import Foundation
import IsletCore
import IsletTestSupport
import Testing

@testable import IsletBundle

@Suite struct BundleVerifierTests {
    /// 7 blobs, the islet binary and the 2 files of the stacks.
    static let hashedMembers = 10

    @Test(arguments: BundleForm.allCases) func anIntactBundlePasses(_ form: BundleForm) throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let verification = try BundleVerifier.verify(form.open(scratch.bundle, scratch: scratch.root))
        #expect(verification.problems == [])
        #expect(verification.passed)
        #expect(verification.hashedMembers == Self.hashedMembers)
        let manifest = scratch.bundle.manifest
        let stacksBytes = Int64("name: demo\nsteps: []\n".utf8.count + "#!/bin/sh\ntrue\n".utf8.count)
        #expect(
            verification.hashedBytes == manifest.blobs.reduce(0) { $0 + $1.size } + manifest.islet.size + stacksBytes)
    }

    /// A flipped byte past the first read block of a layer: named as that image's layer, with both digests.
    @Test(arguments: BundleForm.allCases) func aFlippedByteIsNamedCorrupt(_ form: BundleForm) throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let layer = scratch.bundle.layerDigests[0]
        try TestBundle.flipByte(in: scratch.bundle.path(ofBlob: layer), at: (1 << 20) + 7)
        let actual = try FileDigest.sha256(ofFileAt: scratch.bundle.path(ofBlob: layer)).digest
        let source = try form.open(scratch.bundle, scratch: scratch.root)
        let verification = try BundleVerifier.verify(source)
        #expect(
            verification.problems == [
                BundleProblem(
                    item: "image app (demo 1.0) layer 1 of 2",
                    path: source.describe(BundleManifest.Blob.path(ofDigest: layer)),
                    kind: .corrupt(expected: String(layer.dropFirst(7)), actual: actual))
            ])
        #expect(!verification.passed)
    }

    /// The byte flipped inside the archive itself, after it was written: verify reads members in place.
    @Test func aByteFlippedInsideTheArchiveIsFound() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let archive = scratch.root + "/bundle.tar"
        try BundleArchive.write(folder: scratch.bundle.folder, to: archive)
        let path = BundleManifest.Blob.path(ofDigest: scratch.bundle.toolDigest)
        let member = try #require(try BundleSource(opening: archive).members[path])
        try TestBundle.flipByte(in: archive, at: Int(member.offset) + 99)
        let problems = try BundleVerifier.verify(BundleSource(opening: archive)).problems
        #expect(problems.map(\.label) == ["corrupt"])
        #expect(problems.map(\.item) == ["file tool (demo 1.0 amd64)"])
        #expect(problems.map(\.path) == [archive + ":" + path])
    }

    @Test(arguments: BundleForm.allCases) func aTruncatedFileIsNamedTruncated(_ form: BundleForm) throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        TestBundle.truncate(scratch.bundle.path(ofBlob: scratch.bundle.toolDigest), to: 1000)
        let source = try form.open(scratch.bundle, scratch: scratch.root)
        let problems = try BundleVerifier.verify(source).problems
        let path = BundleManifest.Blob.path(ofDigest: scratch.bundle.toolDigest)
        #expect(
            problems == [
                BundleProblem(
                    item: "file tool (demo 1.0 amd64)", path: source.describe(path),
                    kind: .wrongSize(expected: (1 << 20) + 5, actual: 1000))
            ])
        #expect(problems.first?.label == "truncated")
        #expect(
            problems.first?.description
                == "truncated: file tool (demo 1.0 amd64): \(source.describe(path)): 1000 bytes; expected 1048581")
    }

    @Test(arguments: BundleForm.allCases) func aMissingBlobIsNamedMissing(_ form: BundleForm) throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        try FileManager.default.removeItem(atPath: scratch.bundle.path(ofBlob: scratch.bundle.configDigest))
        let source = try form.open(scratch.bundle, scratch: scratch.root)
        #expect(
            try BundleVerifier.verify(source).problems == [
                BundleProblem(
                    item: "image app (demo 1.0) config",
                    path: source.describe(BundleManifest.Blob.path(ofDigest: scratch.bundle.configDigest)),
                    kind: .missing)
            ])
    }

    /// The binary, the stacks, stray files: each named, in path order.
    @Test func everyProblemIsReportedInOnePass() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let folder = scratch.bundle.folder
        try TestBundle.flipByte(in: folder + "/bin/islet", at: 0)
        let isletDigest = try FileDigest.sha256(ofFileAt: folder + "/bin/islet").digest
        try Data("name: demo\nsteps: [x]\n".utf8).write(to: URL(fileURLWithPath: folder + "/stacks/demo/stack.yaml"))
        let stacksDigest = try StacksTreeDigest.digest(ofFolderAt: folder + "/stacks")
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/oci/blobs/sha256/stray"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/notes.txt"))
        try FileManager.default.createSymbolicLink(atPath: folder + "/stacks/link", withDestinationPath: "demo")
        let verification = try BundleVerifier.verify(BundleSource(opening: folder))
        let manifest = scratch.bundle.manifest
        #expect(
            verification.problems == [
                BundleProblem(
                    item: "islet binary", path: folder + "/bin/islet",
                    kind: .corrupt(expected: manifest.islet.sha256, actual: isletDigest)),
                BundleProblem(item: "notes.txt", path: folder + "/notes.txt", kind: .unexpected),
                BundleProblem(
                    item: "oci/blobs/sha256/stray", path: folder + "/oci/blobs/sha256/stray", kind: .unexpected),
                BundleProblem(
                    item: "stacks", path: folder + "/stacks",
                    kind: .corrupt(expected: manifest.stacks.sha256, actual: stacksDigest)),
                BundleProblem(item: "stacks/link", path: folder + "/stacks/link", kind: .unexpected),
            ])
        #expect(
            verification.render(location: folder).hasPrefix(
                "\(folder): 5 problems (10 files, \(BundleContents.size(verification.hashedBytes)) re-hashed):\n  corrupt: islet binary: \(folder)/bin/islet: sha256 \(isletDigest); expected \(manifest.islet.sha256)\n"
            ))
    }

    /// `oci/index.json` must name each image of bundle.json by its reference, with its digest, and nothing else.
    @Test func anIndexThatDisagreesWithTheManifestIsNamed() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let indexPath = scratch.bundle.folder + "/oci/index.json"
        let text = try String(contentsOfFile: indexPath, encoding: .utf8)
        try text.replacingOccurrences(of: TestBundle.reference, with: "registry.example/other:2")
            .write(toFile: indexPath, atomically: true, encoding: .utf8)
        let problems = try BundleVerifier.verify(BundleSource(opening: scratch.bundle.folder)).problems
        #expect(
            problems == [
                BundleProblem(
                    item: "OCI image index", path: indexPath,
                    kind: .inconsistent("the entry for registry.example/other:2 is not an image of bundle.json")),
                BundleProblem(
                    item: "image app (demo 1.0)", path: indexPath,
                    kind: .inconsistent(
                        "no entry with org.opencontainers.image.ref.name \(TestBundle.reference)")),
            ])
    }

    /// A layer left out of bundle.json's blobs, though its file is there: the image names it, the file is a stray.
    @Test func aBlobTheManifestDoesNotListIsNamed() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        var manifest = scratch.bundle.manifest
        let layer = scratch.bundle.layerDigests[1]
        manifest.blobs.removeAll { $0.digest == layer }
        try manifest.encoded().write(to: URL(fileURLWithPath: scratch.bundle.folder + "/bundle.json"))
        let path = scratch.bundle.path(ofBlob: layer)
        #expect(
            try BundleVerifier.verify(BundleSource(opening: scratch.bundle.folder)).problems == [
                BundleProblem(
                    item: "image app (demo 1.0) layer 2 of 2", path: path,
                    kind: .inconsistent("\(layer) is not among bundle.json's blobs")),
                BundleProblem(
                    item: String(path.dropFirst(scratch.bundle.folder.count + 1)), path: path, kind: .unexpected),
            ])
    }

    /// An archive cut short: the member it ends in is truncated, every later one missing, and the archive says so.
    @Test func anArchiveCutShortNamesWhatIsLost() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let archive = scratch.root + "/bundle.tar"
        try BundleArchive.write(folder: scratch.bundle.folder, to: archive)
        let islet = try #require(try BundleSource(opening: archive).members["bin/islet"])
        TestBundle.truncate(archive, to: Int(islet.offset) + 100)
        let source = try BundleSource(opening: archive)
        let problems = try BundleVerifier.verify(source).problems
        #expect(
            problems.contains(
                BundleProblem(
                    item: "islet binary", path: archive + ":bin/islet",
                    kind: .wrongSize(expected: 200 << 10, actual: 100)
                )))
        #expect(
            problems.contains(
                BundleProblem(
                    item: "archive", path: archive,
                    kind: .inconsistent("the archive ends inside bin/islet: truncated or a part missing"))))
        #expect(problems.contains { $0.label == "missing" && $0.item == "file tool (demo 1.0 amd64)" })
        #expect(problems.contains { $0.label == "missing" && $0.item == "OCI image index" })
    }

    @Test func aMissingPartIsNamed() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let parts = try BundleArchive.write(
            folder: scratch.bundle.folder, to: scratch.root + "/split.tar", partSize: 1 << 20)
        try FileManager.default.removeItem(atPath: parts[1])
        #expect(throws: BundleSourceError.missingPart(path: parts[1])) {
            try BundleSource(opening: parts[0])
        }
        try FileManager.default.removeItem(atPath: parts[0])
        #expect(throws: BundleSourceError.missingPart(path: parts[0])) {
            try BundleSource(opening: scratch.root + "/split.tar")
        }
    }

    /// Without the last part the archive has no end: verify says so and names what the part held.
    @Test func aMissingLastPartIsNamed() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let parts = try BundleArchive.write(
            folder: scratch.bundle.folder, to: scratch.root + "/split.tar", partSize: 1 << 20)
        try FileManager.default.removeItem(atPath: parts.last!)
        let problems = try BundleVerifier.verify(BundleSource(opening: parts[0])).problems
        #expect(problems.contains { $0.item == "archive" })
        #expect(problems.contains { $0.label == "missing" || $0.label == "truncated" })
    }

    @Test(arguments: [BundleForm.folder, .gnuTar]) func aBrokenManifestStopsVerifyNamingIt(_ form: BundleForm) throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let manifestPath = scratch.bundle.folder + "/bundle.json"
        let text = try String(contentsOfFile: manifestPath, encoding: .utf8)
        try text.replacingOccurrences(of: "\"islet/v1\"", with: "\"islet/v9\"")
            .write(toFile: manifestPath, atomically: true, encoding: .utf8)
        let source = try form.open(scratch.bundle, scratch: scratch.root)
        #expect(
            throws: BundleManifestError(
                file: source.describe("bundle.json"), field: "apiVersion",
                problem: "is 'islet/v9'; expected 'islet/v1' (a bundle made by another islet version?)")
        ) {
            try BundleVerifier.verify(source)
        }
    }

    @Test func aFolderWithoutAManifestIsNotABundle() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        try FileManager.default.removeItem(atPath: scratch.bundle.folder + "/bundle.json")
        #expect(throws: BundleSourceError.missingMember(scratch.bundle.folder + "/bundle.json")) {
            try BundleVerifier.verify(BundleSource(opening: scratch.bundle.folder))
        }
    }

    /// One thread or many: the same findings.
    @Test func theFindingsDoNotDependOnTheNumberOfThreads() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        try TestBundle.flipByte(in: scratch.bundle.path(ofBlob: scratch.bundle.chartDigest), at: 5)
        TestBundle.truncate(scratch.bundle.path(ofBlob: scratch.bundle.layerDigests[1]), to: 5)
        let source = try BundleSource(opening: scratch.bundle.folder)
        let one = try BundleVerifier.verify(source, threads: 1)
        #expect(one.problems.count == 2)
        #expect(try BundleVerifier.verify(source, threads: 8) == one)
    }

    /// Paths past ustar's 100 bytes: pax headers in islet's archive, GNU long-name members in GNU tar's.
    @Test(arguments: BundleForm.allCases) func longPathsReadBackInEveryForm(_ form: BundleForm) throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let folder = scratch.bundle.folder
        let deepFolder = folder + "/stacks/demo/" + String(repeating: "a-rather-long-folder-name/", count: 5)
        try FileManager.default.createDirectory(atPath: deepFolder, withIntermediateDirectories: true)
        try Data("deep\n".utf8).write(to: URL(fileURLWithPath: deepFolder + "/template.yaml"))
        var manifest = scratch.bundle.manifest
        manifest.stacks.sha256 = try StacksTreeDigest.digest(ofFolderAt: folder + "/stacks")
        try manifest.encoded().write(to: URL(fileURLWithPath: folder + "/bundle.json"))
        let source = try form.open(scratch.bundle, scratch: scratch.root)
        let verification = try BundleVerifier.verify(source)
        #expect(verification.problems == [])
        #expect(verification.hashedMembers == Self.hashedMembers + 1)
    }

    /// A member appended a second time (`tar -rf`): extraction would take the later copy, so verify says so.
    @Test func aMemberTwiceInTheArchiveIsNamed() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let archive = scratch.root + "/bundle.tar"
        try BundleArchive.write(folder: scratch.bundle.folder, to: archive)
        let append = try runProgram(["/usr/bin/tar", "-rf", archive, "-C", scratch.bundle.folder, "bin/islet"])
        #expect(append.status == 0, "\(append.output)")
        #expect(
            try BundleVerifier.verify(BundleSource(opening: archive)).problems == [
                BundleProblem(
                    item: "archive", path: archive, kind: .inconsistent("bin/islet appears twice in the archive"))
            ])
    }

    /// A platform bundle.json records must have its manifest: arm64 is named in the index but absent, s390x is
    /// not in the index at all.
    @Test func aRecordedPlatformWithoutItsManifestIsNamed() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        var manifest = scratch.bundle.manifest
        manifest.images[0].platforms = ["linux/amd64", "linux/arm64", "linux/s390x"]
        try manifest.encoded().write(to: URL(fileURLWithPath: scratch.bundle.folder + "/bundle.json"))
        let absent = "sha256:" + String(repeating: "0", count: 64)
        #expect(
            try BundleVerifier.verify(BundleSource(opening: scratch.bundle.folder)).problems == [
                BundleProblem(
                    item: "image app (demo 1.0) manifest linux/arm64", path: scratch.bundle.path(ofBlob: absent),
                    kind: .inconsistent("\(absent) is not among bundle.json's blobs")),
                BundleProblem(
                    item: "image app (demo 1.0) index", path: scratch.bundle.path(ofBlob: scratch.bundle.indexDigest),
                    kind: .inconsistent("bundle.json records platform linux/s390x; the index has no manifest for it")),
            ])
    }
}
