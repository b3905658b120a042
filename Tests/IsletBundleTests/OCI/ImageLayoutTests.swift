import Foundation
import Testing

@testable import IsletBundle

@Suite(.serialized) struct ImageLayoutTests {
    @Test func createsTheLayoutFilesAndReopensThem() throws {
        let directory = try makeScratchDirectory("islet-layout")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let layout = try ImageLayout.create(at: "\(directory)/oci")
        #expect(
            try String(contentsOfFile: "\(directory)/oci/oci-layout", encoding: .utf8)
                == #"{"imageLayoutVersion":"1.0.0"}"#)
        #expect(try layout.entries().isEmpty)
        _ = try ImageLayout.open(at: "\(directory)/oci")
        #expect(throws: OCIError.self) { try ImageLayout.open(at: directory) }
    }

    /// A blob is stored only when its bytes match the descriptor; otherwise nothing is left behind.
    @Test func storesOnlyVerifiedBlobsAndLeavesNothingOnMismatch() throws {
        let directory = try makeScratchDirectory("islet-layout")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let layout = try ImageLayout.create(at: directory)
        let good = Array("the right bytes".utf8)
        let descriptor = Descriptor(mediaType: "application/octet-stream", bytes: good)

        let writer = try layout.blobWriter(expecting: descriptor, source: "http://127.0.0.1/v2/x/blobs/1")
        try Array("the wrong bytes".utf8).withUnsafeBytes { try writer.write($0) }
        #expect {
            try writer.commit()
        } throws: { error in
            "\(error)".hasPrefix("http://127.0.0.1/v2/x/blobs/1: content has digest sha256:")
                && "\(error)".contains("expected \(descriptor.digest)")
        }
        let short = try layout.blobWriter(expecting: descriptor, source: "short")
        try Array("the right".utf8).withUnsafeBytes { try short.write($0) }
        #expect(throws: OCIError.sizeMismatch(source: "short", expected: Int64(good.count), actual: 9)) {
            try short.commit()
        }
        #expect(!layout.contains(descriptor))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(directory)/blobs/sha256").isEmpty)

        try layout.write(good, mediaType: "application/octet-stream")
        #expect(layout.contains(descriptor))
        #expect(try layout.read(descriptor) == good)
        #expect(try layout.blobs().map(\.digest) == [descriptor.digest])
        // A blob changed on disk is caught when it is read.
        try Data("the Right bytes".utf8).write(to: URL(fileURLWithPath: layout.blobPath(descriptor.digest)))
        #expect(throws: OCIError.self) { try layout.read(descriptor) }
    }

    /// A downloaded file becomes a blob only when it hashes to what was declared.
    @Test func adoptsFilesThatMatchTheirDigest() throws {
        let directory = try makeScratchDirectory("islet-layout")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let layout = try ImageLayout.create(at: "\(directory)/oci")
        let bytes = Array("#!/bin/sh\necho kubeadm\n".utf8)
        let file = "\(directory)/kubeadm"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let expected = Descriptor(mediaType: "application/octet-stream", bytes: bytes)
        let wrong = Descriptor(mediaType: "application/octet-stream", bytes: Array("other".utf8))
        #expect(throws: OCIError.sizeMismatch(source: file, expected: 5, actual: Int64(bytes.count))) {
            try layout.adopt(fileAt: file, as: wrong)
        }
        var sameSize = expected
        sameSize.digest = Digest.of(Array(repeating: 0, count: bytes.count))
        #expect(throws: OCIError.digestMismatch(source: file, expected: sameSize.digest, actual: expected.digest)) {
            try layout.adopt(fileAt: file, as: sameSize)
        }
        #expect(FileManager.default.fileExists(atPath: file))
        try layout.adopt(fileAt: file, as: expected)
        #expect(!FileManager.default.fileExists(atPath: file))
        #expect(try layout.read(expected) == bytes)
    }

    @Test func leftoverPartialsOfDeadProcessesAreRemoved() throws {
        let directory = try makeScratchDirectory("islet-layout")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try ImageLayout.create(at: directory)
        let pid = try toolOutput(["/bin/sh", "-c", "echo $$"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let dead = "\(directory)/blobs/sha256/.partial-\(pid)-abcdef"
        let mine = "\(directory)/blobs/sha256/.partial-\(getpid())-abcdef"
        for path in [dead, mine] { _ = FileManager.default.createFile(atPath: path, contents: Data("x".utf8)) }
        _ = try ImageLayout.create(at: directory)
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: mine))
    }

    /// Entries are named by the upstream reference, replaced by name, and an image's missing blobs are
    /// listed; skopeo reads the layout by that name.
    @Test func entriesByNameMissingBlobsAndSkopeoReadsIt() throws {
        let directory = try makeScratchDirectory("islet-layout")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var images = try TestImages(layout: "\(directory)/source")
        let built = try images.build(name: "app", platforms: ["linux/amd64", "linux/arm64"], style: .oci)
        let layout = try ImageLayout.create(at: "\(directory)/oci")
        let reference = try ImageReference(parsing: "quay.io/team/app:1.0")
        func copy(_ blob: TestImages.Blob) throws {
            let bytes = [UInt8](
                try Data(
                    contentsOf: URL(fileURLWithPath: "\(directory)/source/blobs/sha256/\(blob.digest.dropFirst(7))")))
            try layout.write(bytes, mediaType: blob.mediaType)
        }
        let root = Descriptor(
            mediaType: built.root.mediaType, digest: try Digest(built.root.digest), size: Int64(built.root.size))
        try layout.setEntry(root, for: reference)
        #expect(try layout.missingBlobs(for: reference)?.map(\.digest.description) == [built.root.digest])
        try copy(built.root)
        for blob in built.blobs(of: "linux/amd64") { try copy(blob) }
        let missing = try layout.missingBlobs(for: reference)?.map(\.digest.description) ?? []
        #expect(Set(missing) == Set([built.manifests["linux/arm64"]!.digest]))
        for blob in built.blobs(of: "linux/arm64") { try copy(blob) }
        #expect(try layout.missingBlobs(for: reference) == [])
        #expect(try layout.missingBlobs(for: try ImageReference(parsing: "quay.io/team/other:1")) == nil)

        // Shared blobs are stored once: root + 2 manifests + 2 configs + 2 own layers + 1 shared layer.
        #expect(try layout.blobs().count == 8)
        try layout.setEntry(root, for: reference)
        try layout.setEntry(root, for: try ImageReference(parsing: "redis"))
        #expect(
            try layout.entries().map { $0.annotations?[Annotation.refName] } == [
                "docker.io/library/redis:latest", "quay.io/team/app:1.0",
            ])

        let raw = try skopeo(["inspect", "--raw", "oci:\(directory)/oci:quay.io/team/app:1.0"])
        #expect(Digest.of(Array(raw.utf8)).description == built.root.digest)
        let inspected = try skopeo([
            "inspect", "--override-arch", "arm64", "--format", "{{.Digest}} {{.Architecture}}",
            "oci:\(directory)/oci:quay.io/team/app:1.0",
        ])
        // skopeo reports the digest the name points at (the index) and the arm64 image's architecture.
        #expect(inspected.trimmingCharacters(in: .whitespacesAndNewlines) == "\(built.root.digest) arm64")
    }
}
