import Foundation
import IsletCore
import IsletTestSupport
import Testing

@testable import IsletBundle

@Suite struct BundleArchiveTests {
    /// GNU tar lists islet's archive in islet's order and extracts files identical to the folder's, modes included.
    @Test func gnuTarReadsTheArchiveAndExtractsIdenticalFiles() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let folder = scratch.bundle.folder
        // A stacks path longer than the 100 bytes of a ustar name: written with a pax header.
        let deepFolder = "stacks/demo/" + String(repeating: "long-folder-name/", count: 6)
        let deep = deepFolder + "template.yaml.mustache"
        try FileManager.default.createDirectory(atPath: folder + "/" + deepFolder, withIntermediateDirectories: true)
        try Data("deep\n".utf8).write(to: URL(fileURLWithPath: folder + "/" + deep))
        #expect(deep.utf8.count > 100)
        let archive = scratch.root + "/bundle.tar"
        try BundleArchive.write(folder: folder, to: archive)

        let listing = try runProgram(["/usr/bin/tar", "-tf", archive])
        #expect(listing.status == 0, "\(listing.output)")
        let names = listing.output.split(separator: "\n").map(String.init)
        #expect(names.first == "bundle.json")
        #expect(names.contains(deep))
        #expect(names.contains("bin/"))
        let files = try allFiles(in: folder)
        #expect(Set(names.filter { !$0.hasSuffix("/") }) == Set(files))

        let extracted = scratch.root + "/extracted"
        try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        let extraction = try runProgram(["/usr/bin/tar", "-xf", archive, "-C", extracted])
        #expect(extraction.status == 0, "\(extraction.output)")
        #expect(try allFiles(in: extracted) == files)
        for file in files {
            #expect(
                FileManager.default.contents(atPath: extracted + "/" + file)
                    == FileManager.default.contents(atPath: folder + "/" + file), "\(file)")
        }
        #expect(try mode(of: extracted + "/bin/islet") == 0o755)
        #expect(try mode(of: extracted + "/stacks/demo/scripts/run.sh") == 0o755)
        #expect(try mode(of: extracted + "/bundle.json") == 0o644)
        // Every time is the bundle's createdAt.
        let modified = try FileManager.default.attributesOfItem(atPath: extracted + "/bin/islet")[.modificationDate]
        #expect(modified as? Date == scratch.bundle.manifest.createdAt)
    }

    /// The same folder, written twice, gives the same bytes.
    @Test func theArchiveIsDeterministic() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        try BundleArchive.write(folder: scratch.bundle.folder, to: scratch.root + "/a.tar")
        // A later mtime on every file changes nothing.
        try runProgram(["/usr/bin/touch", scratch.bundle.folder + "/bin/islet", scratch.bundle.folder + "/oci"])
        try BundleArchive.write(folder: scratch.bundle.folder, to: scratch.root + "/b.tar")
        let first = try #require(FileManager.default.contents(atPath: scratch.root + "/a.tar"))
        #expect(first == FileManager.default.contents(atPath: scratch.root + "/b.tar"))
        #expect(first.count % 512 == 0)
    }

    /// Parts are `FILE.tar.000`… of exactly the part size but the last, and `cat` of them is the single archive.
    @Test func splitPartsConcatenatedAreTheArchive() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let single = scratch.root + "/bundle.tar"
        try BundleArchive.write(folder: scratch.bundle.folder, to: single)
        let partSize: Int64 = 700 << 10
        let parts = try BundleArchive.write(
            folder: scratch.bundle.folder, to: scratch.root + "/split.tar", partSize: partSize)
        let whole = try #require(FileManager.default.contents(atPath: single))
        #expect(parts.count == (whole.count + Int(partSize) - 1) / Int(partSize))
        #expect(
            parts.map { URL(fileURLWithPath: $0).lastPathComponent }
                == (0..<parts.count).map { String(format: "split.tar.%03d", $0) })
        for part in parts.dropLast() {
            #expect(try FileManager.default.attributesOfItem(atPath: part)[.size] as? Int64 == partSize)
        }
        let joined = scratch.root + "/joined.tar"
        let cat = try runProgram(["/bin/sh", "-c", "cat \"$0\".??? > \"$1\"", scratch.root + "/split.tar", joined])
        #expect(cat.status == 0)
        #expect(FileManager.default.contents(atPath: joined) == whole)
        // No temporary part is left behind.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: scratch.root).filter { $0.hasSuffix(".partial") } == [])
    }

    /// Any part opens the whole set, and so does the archive's name when only its parts exist.
    @Test func anyPartOpensTheWholeArchive() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let parts = try BundleArchive.write(
            folder: scratch.bundle.folder, to: scratch.root + "/split.tar", partSize: 1 << 20)
        for path in [parts[0], parts[3], scratch.root + "/split.tar"] {
            let source = try BundleSource(opening: path)
            #expect(source.form == .parts(parts.count))
            #expect(source.members["bundle.json"]?.kind == .file)
        }
    }

    /// A second split into fewer parts removes the earlier run's surplus parts, which would otherwise be read.
    @Test func aShorterSplitRemovesStaleParts() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        let many = try BundleArchive.write(
            folder: scratch.bundle.folder, to: scratch.root + "/b.tar", partSize: 512 << 10)
        let few = try BundleArchive.write(folder: scratch.bundle.folder, to: scratch.root + "/b.tar", partSize: 2 << 20)
        #expect(many.count > few.count)
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.root).filter { $0.hasPrefix("b.tar.") }
        #expect(Set(left) == Set(few.map { URL(fileURLWithPath: $0).lastPathComponent }))
        #expect(try BundleVerifier.verify(BundleSource(opening: scratch.root + "/b.tar")).passed)
    }

    /// 8 GiB and more does not fit ustar's size field: a pax header carries it, and GNU tar reads it.
    @Test func aSizeOfEightGiBIsWrittenInAPaxHeader() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("islet-pax-\(UUID()).tar").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let size: Int64 = 8 << 30
        let header = TarFormat.headerBlocks(
            for: .init(path: "oci/blobs/sha256/big", type: .regular, mode: 0o644, size: size, modificationTime: 0))
        #expect(header.count == 3 * 512)
        #expect(String(decoding: header[512..<(512 + 20)], as: UTF8.self) == "19 size=8589934592\n\0")
        try Data(header).write(to: URL(fileURLWithPath: path))
        // GNU tar lists the member with its size before it finds the data missing.
        let listing = try runProgram(["/usr/bin/tar", "-tvf", path])
        #expect(listing.output.contains("8589934592"), "\(listing.output)")
        #expect(listing.output.contains("oci/blobs/sha256/big"))
        let member = try #require(try BundleSource(opening: path).members["oci/blobs/sha256/big"])
        #expect(member.size == size)
        #expect(member.available == 0)
    }

    /// GNU tar writes sizes past 8 GiB in base-256 (high bit set, big-endian): read as such.
    @Test func aBase256SizeIsRead() throws {
        var block = TarFormat.headerBlocks(
            for: .init(path: "big", type: .regular, mode: 0o644, size: 1, modificationTime: 0))
        let size: Int64 = (12 << 30) + 5
        block.replaceSubrange(
            124..<136, with: [0x80, 0, 0, 0] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: size >> ($0 * 8)) })
        block.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
        let checksum = String(block.reduce(0) { $0 + Int($1) }, radix: 8)
        block.replaceSubrange(
            148..<156, with: Array((String(repeating: "0", count: 6 - checksum.count) + checksum).utf8) + [0, 0x20])
        let parsed = try block.withUnsafeBytes { try TarFormat.parseHeader($0) }
        #expect(parsed?.size == size)
        #expect(parsed?.name == "big")
        block[0] ^= 1
        #expect(throws: TarFormat.HeaderProblem.badChecksum) {
            try block.withUnsafeBytes { try TarFormat.parseHeader($0) }
        }
    }

    @Test func paxRecordLengthsCountThemselves() {
        #expect(String(decoding: TarFormat.paxRecords([("path", "abc")]), as: UTF8.self) == "12 path=abc\n")
        // 7 + 92 = 99 bytes without the length; with a two-digit length 101, which needs three digits: 102.
        let value = String(repeating: "x", count: 92)
        #expect(String(decoding: TarFormat.paxRecords([("path", value)]), as: UTF8.self) == "102 path=\(value)\n")
    }

    @Test func partSizesReadLikeSplit() throws {
        #expect(try BundleArchive.partSize("4G") == 4 << 30)
        #expect(try BundleArchive.partSize("700M") == 700 << 20)
        #expect(try BundleArchive.partSize("4GiB") == 4 << 30)
        #expect(try BundleArchive.partSize("1500k") == 1500 << 10)
        #expect(try BundleArchive.partSize("1048576") == 1 << 20)
        for bad in ["", "0", "-1G", "4X", "G", "100", "1.5G", "99999999999T"] {
            #expect(throws: BundleArchiveError.badPartSize(bad)) { try BundleArchive.partSize(bad) }
        }
    }

    @Test func aFolderWithoutAManifestIsRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("islet-empty-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(throws: BundleArchiveError.notABundle(folder)) {
            try BundleArchive.write(folder: folder, to: folder + ".tar")
        }
        #expect(!FileManager.default.fileExists(atPath: folder + ".tar"))
    }

    @Test func aSymbolicLinkIsRefusedAndNothingIsLeft() throws {
        let scratch = try BundleScratch()
        defer { scratch.remove() }
        try FileManager.default.createSymbolicLink(atPath: scratch.bundle.folder + "/link", withDestinationPath: "/etc")
        #expect(throws: BundleArchiveError.notAFileOrFolder(scratch.bundle.folder + "/link")) {
            try BundleArchive.write(folder: scratch.bundle.folder, to: scratch.root + "/b.tar")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.root) == ["bundle"])
    }

    /// Paths of the regular files under `folder`, relative to it, sorted.
    private func allFiles(in folder: String) throws -> [String] {
        let enumerator = try #require(FileManager.default.enumerator(atPath: folder))
        var files: [String] = []
        while let path = enumerator.nextObject() as? String {
            if enumerator.fileAttributes?[.type] as? FileAttributeType == .typeRegular { files.append(path) }
        }
        return files.sorted()
    }

    private func mode(of path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }
}
