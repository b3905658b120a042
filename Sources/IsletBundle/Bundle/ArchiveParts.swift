import Foundation

/// A tar archive read as one stream of bytes, whether it is one file or numbered parts (`FILE.tar.000`,
/// `FILE.tar.001`, …, cut at arbitrary byte offsets, so that `cat` of the parts is the archive).
///
/// Reads are positioned (`pread`) on descriptors opened once, so any number of threads read members at once
/// without sharing a file offset.
final class ArchiveParts: @unchecked Sendable {
    let paths: [String]
    private let descriptors: [Int32]
    /// Where each part starts in the archive's stream.
    private let starts: [Int64]
    let totalSize: Int64

    init(paths: [String]) throws {
        var descriptors: [Int32] = []
        var starts: [Int64] = []
        var total: Int64 = 0
        for path in paths {
            let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                let code = errno
                for open in descriptors { close(open) }
                throw BundleSourceError.unreadable(path: path, errno: code)
            }
            var status = stat()
            fstat(descriptor, &status)
            descriptors.append(descriptor)
            starts.append(total)
            total += Int64(status.st_size)
        }
        self.paths = paths
        self.descriptors = descriptors
        self.starts = starts
        self.totalSize = total
    }

    deinit {
        for descriptor in descriptors { close(descriptor) }
    }

    /// Reads up to `buffer.count` bytes at `offset` of the stream, crossing parts; fewer only at the end.
    func read(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        var position = offset
        while done < buffer.count && position < totalSize {
            let part = partIndex(containing: position)
            let partEnd = part + 1 < starts.count ? starts[part + 1] : totalSize
            let wanted = Int(min(Int64(buffer.count - done), partEnd - position))
            let count = pread(descriptors[part], buffer.baseAddress! + done, wanted, off_t(position - starts[part]))
            if count < 0 {
                if errno == EINTR { continue }
                throw BundleSourceError.unreadable(path: paths[part], errno: errno)
            }
            if count == 0 { break }  // the part shrank since it was opened
            done += count
            position += Int64(count)
        }
        return done
    }

    private func partIndex(containing offset: Int64) -> Int {
        var low = 0
        var high = starts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        return low
    }

    // MARK: Finding the parts

    /// The numbered suffix of a part: `.000`, at least three digits.
    static func partNumber(of name: String) -> (base: String, number: Int, width: Int)? {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        let digits = name[name.index(after: dot)...]
        guard digits.count >= 3, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
            let number = Int(digits)
        else { return nil }
        return (String(name[..<dot]), number, digits.count)
    }

    /// The parts of the split archive `path` names: `path` itself when it is `BASE.NNN`, else `path.NNN` when
    /// `path` does not exist (a file that exists is read as the whole archive). nil when `path` is not a part
    /// and has none.
    /// - Throws: `BundleSourceError.missingPart` when the numbers have a gap or do not start at 0.
    static func parts(named path: String) throws -> [String]? {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let base: String
        if let numbered = partNumber(of: url.lastPathComponent) {
            base = numbered.base
        } else if !FileManager.default.fileExists(atPath: path) {
            base = url.lastPathComponent
        } else {
            return nil
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let numbered = names.compactMap { name -> (Int, String)? in
            guard let part = partNumber(of: name), part.base == base else { return nil }
            return (part.number, name)
        }.sorted { $0.0 < $1.0 }
        if numbered.isEmpty && partNumber(of: url.lastPathComponent) == nil { return nil }
        let width = max(3, numbered.last.map { String($0.0).count } ?? 3)
        for (expected, (number, _)) in numbered.enumerated() where number != expected {
            throw BundleSourceError.missingPart(path: folder + "/" + base + "." + zeroPadded(expected, width: width))
        }
        if numbered.isEmpty {
            throw BundleSourceError.missingPart(path: folder + "/" + base + "." + zeroPadded(0, width: 3))
        }
        return numbered.map { folder + "/" + $0.1 }
    }

    static func zeroPadded(_ number: Int, width: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
