import Testing

@testable import IsletBundle

@Suite struct OverlappedHasherTests {
    /// Chunks of uneven sizes through a hasher that can hold only one at a time (the feeder waits on
    /// every chunk), continuing a digest begun elsewhere: the same digest as hashing it all in one go.
    @Test func continuesADigestAndWaitsWhenFull() {
        let content = patternBytes(1 << 20)
        var start = SHA256Stream()
        start.update(Array(content[..<1_000]))
        let hasher = OverlappedHasher(continuing: start, limit: 1)
        var offset = 1_000
        var size = 1
        while offset < content.count {
            let end = min(content.count, offset + size)
            content[offset..<end].withUnsafeBytes { hasher.feed($0) }
            offset = end
            size = size * 3 % 70_001 + 1
        }
        let result = hasher.finish()
        #expect(result.count == Int64(content.count))
        #expect(result.hexDigest() == sha256Hex(content))
    }

    @Test func finishingWithNothingFedKeepsTheDigest() {
        var start = SHA256Stream()
        start.update(Array("abc".utf8))
        #expect(
            OverlappedHasher(continuing: start).finish().hexDigest()
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
