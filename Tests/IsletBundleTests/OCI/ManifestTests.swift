import Foundation
import Testing

@testable import IsletBundle

@Suite struct ManifestTests {
    static let layer = "sha256:" + String(repeating: "1", count: 64)
    static let config = "sha256:" + String(repeating: "2", count: 64)
    static let amd64 = "sha256:" + String(repeating: "3", count: 64)
    static let arm64 = "sha256:" + String(repeating: "4", count: 64)

    static func index(_ mediaType: String) -> String {
        """
        {"schemaVersion":2,"mediaType":"\(mediaType)","manifests":[
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(amd64)","size":500,
           "platform":{"architecture":"amd64","os":"linux"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(arm64)","size":501,
           "platform":{"architecture":"arm64","os":"linux","variant":"v8"},"annotations":{"keep":"me"}}],
         "annotations":{"org.opencontainers.image.source":"https://example.com/x"}}
        """
    }

    @Test func readsIndexesAndManifestsOfBothFamilies() throws {
        for type in [MediaType.ociIndex, MediaType.dockerManifestList] {
            let manifest = try Manifest(bytes: Array(Self.index(type).utf8), source: "test")
            #expect(manifest.mediaType == type)
            guard case .index(let index) = manifest.content else {
                Issue.record("not an index")
                continue
            }
            #expect(index.manifests.map(\.platform?.description) == ["linux/amd64", "linux/arm64/v8"])
        }
        let image = """
            {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
             "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"\(Self.config)","size":9},
             "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"\(Self.layer)","size":7}]}
            """
        let manifest = try Manifest(bytes: Array(image.utf8), source: "test")
        guard case .image(let parsed) = manifest.content else {
            Issue.record("not an image manifest")
            return
        }
        #expect(parsed.blobs.map(\.digest.description) == [Self.config, Self.layer])
        #expect(manifest.descriptor.digest == Digest.of(Array(image.utf8)))
        // An OCI manifest without mediaType is recognised by its fields.
        let untyped =
            #"{"schemaVersion":2,"config":\#(#"{"mediaType":"a","digest":"\#(Self.config)","size":1}"#),"layers":[]}"#
        #expect(try Manifest(bytes: Array(untyped.utf8), source: "test").mediaType == MediaType.ociManifest)
    }

    @Test func refusesSchemaOneAndUnknownTypesNamingTheSource() {
        let schema1 = #"{"schemaVersion":1,"name":"library/old","tag":"1","fsLayers":[]}"#
        #expect {
            try Manifest(bytes: Array(schema1.utf8), source: "https://r.example/v2/old/manifests/1")
        } throws: { error in
            "\(error)".contains("https://r.example/v2/old/manifests/1") && "\(error)".contains("schema 1")
        }
        #expect {
            try Manifest(bytes: Array("{}".utf8), contentType: MediaType.dockerSchema1Signed, source: "u")
        } throws: { error in "\(error)".contains("schema 1") }
        #expect {
            try Manifest(bytes: Array(#"{"schemaVersion":2,"mediaType":"text/plain"}"#.utf8), source: "u")
        } throws: { error in "\(error)".contains("'text/plain' is not supported") }
        #expect {
            try Manifest(bytes: Array("not json".utf8), source: "file.json")
        } throws: { error in "\(error)".hasPrefix("file.json: not a JSON manifest") }
    }

    @Test func checksTheDigestOfWhatItReads() throws {
        let bytes = Array(Self.index(MediaType.ociIndex).utf8)
        let wrong = Descriptor(mediaType: MediaType.ociIndex, digest: try Digest(Self.layer), size: Int64(bytes.count))
        #expect(throws: OCIError.digestMismatch(source: "f", expected: try Digest(Self.layer), actual: .of(bytes))) {
            try Manifest(bytes: bytes, expected: wrong, source: "f")
        }
    }

    /// A trimmed index keeps every other field and entry untouched, and the same trim gives the same bytes.
    @Test func trimmingKeepsEverythingElseAndIsDeterministic() throws {
        let manifest = try Manifest(bytes: Array(Self.index(MediaType.ociIndex).utf8), source: "test")
        let arm64 = try Digest(Self.arm64)
        let trimmed = try manifest.trimmed { $0.digest == arm64 }
        guard case .index(let index) = trimmed.content else {
            Issue.record("not an index")
            return
        }
        #expect(index.manifests.map(\.digest) == [arm64])
        #expect(index.manifests[0].annotations == ["keep": "me"])
        #expect(index.annotations?["org.opencontainers.image.source"] == "https://example.com/x")
        #expect(trimmed.mediaType == MediaType.ociIndex)
        #expect(trimmed.descriptor.digest != manifest.descriptor.digest)
        #expect(try manifest.trimmed { $0.digest == arm64 }.bytes == trimmed.bytes)
        #expect(!String(decoding: trimmed.bytes, as: UTF8.self).contains("\\/"))
    }

    /// A registry's passing trouble is retried; what will not change is not.
    @Test func onlyPassingRegistryErrorsAdviseARetry() throws {
        func advice(_ status: Int) -> RetryAdvice {
            OCIError.registry(method: "GET", url: "u", status: status, detail: "").retryAdvice
        }
        #expect([500, 502, 503, 429, 408].map(advice) == Array(repeating: .backoff, count: 5))
        #expect([400, 401, 403, 404].map(advice) == Array(repeating: .never, count: 4))
        let digest = try Digest(Self.layer)
        #expect(OCIError.digestMismatch(source: "u", expected: digest, actual: digest).retryAdvice == .never)
    }

    @Test func digestsAreSha256Only() throws {
        #expect(try Digest("sha256:" + String(repeating: "f", count: 64)).hex.count == 64)
        #expect(throws: OCIError.self) { try Digest("sha512:" + String(repeating: "f", count: 128)) }
        #expect(throws: OCIError.self) { try Digest("sha256:" + String(repeating: "F", count: 64)) }
        #expect(throws: OCIError.self) { try Digest("sha256:abc") }
    }
}
