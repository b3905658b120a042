/// A fixed buffer filled at the back and drained from the front.
struct ByteQueue {
    private var storage: [UInt8]
    private var start = 0
    private var end = 0

    init(capacity: Int) { storage = [UInt8](repeating: 0, count: capacity) }

    var isEmpty: Bool { start == end }
    var hasSpace: Bool { end < storage.count }

    /// Calls `read(pointer, capacity)`; keeps the bytes it reports.
    mutating func fill(_ read: (UnsafeMutablePointer<CChar>, Int) -> Int) -> Int {
        if start == end {
            start = 0
            end = 0
        }
        let end = self.end
        let n = storage.withUnsafeMutableBytes { bytes -> Int in
            guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) else { return 0 }
            return read(base + end, bytes.count - end)
        }
        if n > 0 { self.end += n }
        return n
    }

    /// Calls `write(pointer, count)`; drops the bytes it reports.
    mutating func drain(_ write: (UnsafePointer<CChar>, Int) -> Int) -> Int {
        let (start, end) = (self.start, self.end)
        let n = storage.withUnsafeBytes { bytes -> Int in
            guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) else { return 0 }
            return write(base + start, end - start)
        }
        if n > 0 { self.start += n }
        if self.start == self.end {
            self.start = 0
            self.end = 0
        }
        return n
    }
}
