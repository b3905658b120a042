import Foundation

/// The POSIX tar (ustar + pax) header, written and read in one place.
///
/// islet writes ustar headers, preceded by a pax extended header when a path does not fit the 100-byte name
/// field or a size does not fit its 11 octal digits (8 GiB and more). It reads what islet writes and what GNU tar
/// writes of a bundle folder: ustar, pax (`x`, `g`), GNU long names (`L`) and base-256 sizes.
enum TarFormat {
    static let blockSize = 512
    /// The largest size the 11 octal digits of the size field hold: 8 GiB - 1.
    static let largestOctalSize: Int64 = 0o77777777777

    enum EntryType: UInt8 {
        case regular = 0x30  // '0'
        case directory = 0x35  // '5'
        case paxExtended = 0x78  // 'x'
    }

    /// Metadata islet writes for every member: the same folder always gives the same bytes.
    struct Entry {
        var path: String
        var type: EntryType
        var mode: Int
        var size: Int64
        var modificationTime: Int64
    }

    /// The blocks that introduce `entry`: a pax header when needed, then the ustar header. Data follows,
    /// padded to the block size.
    static func headerBlocks(for entry: Entry) -> [UInt8] {
        let name = entry.type == .directory ? entry.path + "/" : entry.path
        var records: [(String, String)] = []
        if name.utf8.count > 100 { records.append(("path", name)) }
        if entry.size > largestOctalSize { records.append(("size", String(entry.size))) }
        var blocks: [UInt8] = []
        if !records.isEmpty {
            let body = paxRecords(records)
            let paxName = "PaxHeaders/" + String(decoding: name.utf8.suffix(80), as: UTF8.self)
            blocks += ustarHeader(
                name: paxName, type: .paxExtended, mode: 0o644, size: Int64(body.count),
                modificationTime: entry.modificationTime)
            blocks += body + [UInt8](repeating: 0, count: padding(Int64(body.count)))
        }
        blocks += ustarHeader(
            name: name, type: entry.type, mode: entry.mode, size: entry.size <= largestOctalSize ? entry.size : 0,
            modificationTime: entry.modificationTime)
        return blocks
    }

    /// Zero bytes after `size` bytes of data, up to the next block.
    static func padding(_ size: Int64) -> Int {
        Int((Int64(blockSize) - size % Int64(blockSize)) % Int64(blockSize))
    }

    /// `"<length> key=value\n"` records, where length counts the whole record including its own digits.
    static func paxRecords(_ records: [(String, String)]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (key, value) in records {
            let rest = " \(key)=\(value)\n".utf8.count
            var length = rest + String(rest).count
            if String(length).count != String(rest).count { length = rest + String(length).count }
            bytes += Array("\(length) \(key)=\(value)\n".utf8)
        }
        return bytes
    }

    private static func ustarHeader(name: String, type: EntryType, mode: Int, size: Int64, modificationTime: Int64)
        -> [UInt8]
    {
        var header = [UInt8](repeating: 0, count: blockSize)
        func put(_ bytes: some Sequence<UInt8>, at offset: Int) {
            for (index, byte) in bytes.enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int64, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: width - 1 - digits.count) + digits).utf8) + [0]
        }
        put(name.utf8.prefix(100), at: 0)
        put(octal(Int64(mode), width: 8), at: 100)
        put(octal(0, width: 8), at: 108)  // uid
        put(octal(0, width: 8), at: 116)  // gid
        put(octal(size, width: 12), at: 124)
        put(octal(modificationTime, width: 12), at: 136)
        put([UInt8](repeating: 0x20, count: 8), at: 148)  // checksum, counted as spaces
        header[156] = type.rawValue
        put(Array("ustar".utf8) + [0] + Array("00".utf8), at: 257)
        let checksum = String(header.reduce(0) { $0 + Int($1) }, radix: 8)
        put(Array((String(repeating: "0", count: 6 - checksum.count) + checksum).utf8) + [0, 0x20], at: 148)
        return header
    }

    // MARK: Reading

    /// What one header block says, before pax or GNU long-name records are applied.
    struct ParsedHeader {
        var name: String
        var typeFlag: UInt8
        var size: Int64
    }

    enum HeaderProblem: Error, Equatable {
        case badChecksum
        case badNumber(field: String)
    }

    /// Parses one header block; nil for an all-zero block (the end of the archive).
    static func parseHeader(_ block: UnsafeRawBufferPointer) throws(HeaderProblem) -> ParsedHeader? {
        if block.allSatisfy({ $0 == 0 }) { return nil }
        var unsignedSum: Int64 = 0
        for (index, byte) in block.enumerated() { unsignedSum += (148..<156).contains(index) ? 0x20 : Int64(byte) }
        guard let recorded = number(block, 148, 8), recorded == unsignedSum else { throw .badChecksum }
        guard let size = number(block, 124, 12) else { throw .badNumber(field: "size") }
        var name = string(block, 0, 100)
        let magic = string(block, 257, 6)
        if magic.hasPrefix("ustar") {
            let prefix = string(block, 345, 155)
            if !prefix.isEmpty && magic == "ustar" { name = prefix + "/" + name }
        }
        return ParsedHeader(name: name, typeFlag: block[156], size: size)
    }

    /// The `path`, `size` and other records of a pax extended header's data.
    static func parsePax(_ data: [UInt8]) -> [String: String] {
        var records: [String: String] = [:]
        var rest = data[...]
        while let space = rest.firstIndex(of: 0x20), let length = Int(String(decoding: rest[..<space], as: UTF8.self)),
            length > 0, rest.startIndex + length <= rest.endIndex
        {
            let record = rest[(space + 1)..<(rest.startIndex + length - 1)]
            if let equals = record.firstIndex(of: 0x3d) {
                records[String(decoding: record[..<equals], as: UTF8.self)] = String(
                    decoding: record[(equals + 1)...], as: UTF8.self)
            }
            rest = rest[(rest.startIndex + length)...]
        }
        return records
    }

    /// An octal field (NUL- or space-terminated), or GNU's base-256 form when the high bit of its first byte is set.
    private static func number(_ block: UnsafeRawBufferPointer, _ offset: Int, _ width: Int) -> Int64? {
        if block[offset] & 0x80 != 0 {
            var value: Int64 = Int64(block[offset] & 0x7f)
            for index in (offset + 1)..<(offset + width) {
                guard value < Int64.max >> 8 else { return nil }
                value = value << 8 | Int64(block[index])
            }
            return value
        }
        let text = string(block, offset, width).trimmingCharacters(in: .whitespaces)
        if text.isEmpty { return 0 }
        return Int64(text, radix: 8)
    }

    private static func string(_ block: UnsafeRawBufferPointer, _ offset: Int, _ width: Int) -> String {
        let field = block[offset..<(offset + width)]
        let end = field.firstIndex(of: 0) ?? field.endIndex
        return String(decoding: field[..<end], as: UTF8.self)
    }
}
