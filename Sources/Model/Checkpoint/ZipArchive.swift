import Foundation

/// The central directory of a zip archive, read in place: entries are spans of the mapped file.
/// Only stored (uncompressed) entries can be read, which is what `torch.save` writes.
struct ZipArchive {
    struct Entry {
        let name: String
        let method: UInt16
        let compressedSize: Int
        let uncompressedSize: Int
        let localHeaderOffset: Int
    }

    private let reader: ByteReader
    /// Entries in central-directory order.
    let entries: [Entry]
    private let index: [String: Int]

    private static let endOfCentralDirectory: UInt32 = 0x0605_4b50
    private static let zip64Locator: UInt32 = 0x0706_4b50
    private static let zip64EndOfCentralDirectory: UInt32 = 0x0606_4b50
    private static let centralHeader: UInt32 = 0x0201_4b50
    private static let localHeader: UInt32 = 0x0403_4b50

    init(_ data: Data) throws {
        reader = ByteReader(data)
        let eocd = try Self.findEndOfCentralDirectory(reader)
        var entryCount = Int(try reader.u16(eocd + 10))
        var directorySize = Int(try reader.u32(eocd + 12))
        var directoryOffset = Int(try reader.u32(eocd + 16))
        // Archives with many entries or past 4 GiB keep the true values in the ZIP64 record.
        if eocd >= 20, try reader.u32(eocd - 20) == Self.zip64Locator {
            let record = try checkedInt(try reader.u64(eocd - 20 + 8), "ZIP64 end record offset")
            guard try reader.u32(record) == Self.zip64EndOfCentralDirectory else {
                throw FormatError("corrupt zip: ZIP64 locator points to offset \(record), which holds no ZIP64 end record")
            }
            entryCount = try checkedInt(try reader.u64(record + 32), "zip entry count")
            directorySize = try checkedInt(try reader.u64(record + 40), "zip central directory size")
            directoryOffset = try checkedInt(try reader.u64(record + 48), "zip central directory offset")
        }
        _ = try reader.span(directoryOffset, directorySize, "zip central directory")

        var entries: [Entry] = []
        var position = directoryOffset
        for number in 0..<entryCount {
            guard try reader.u32(position) == Self.centralHeader else {
                throw FormatError("corrupt zip: central directory entry \(number) at offset \(position) has a bad signature")
            }
            let (entry, next) = try Self.readCentralEntry(reader, at: position)
            entries.append(entry)
            position = next
        }
        self.entries = entries
        index = Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The bytes of a stored entry, located through its local header (whose extra field may differ
    /// from the central one: PyTorch pads it so that data starts 64-byte aligned).
    func contents(of entry: Entry) throws -> ByteSpan {
        guard entry.method == 0 else {
            let kind = entry.method == 8 ? "deflate" : "method \(entry.method)"
            throw FormatError("zip entry '\(entry.name)' uses unsupported compression (\(kind)); only stored entries can be read")
        }
        guard entry.compressedSize == entry.uncompressedSize else {
            throw FormatError("corrupt zip: stored entry '\(entry.name)' has compressed size \(entry.compressedSize) but size \(entry.uncompressedSize)")
        }
        let header = entry.localHeaderOffset
        guard try reader.u32(header) == Self.localHeader else {
            throw FormatError("corrupt zip: local header of '\(entry.name)' at offset \(header) has a bad signature")
        }
        let start = header + 30 + Int(try reader.u16(header + 26)) + Int(try reader.u16(header + 28))
        return try reader.span(start, entry.uncompressedSize, "zip entry '\(entry.name)'")
    }

    private static func findEndOfCentralDirectory(_ reader: ByteReader) throws -> Int {
        // The 22-byte record ends the file, followed only by a comment of at most 65535 bytes.
        let last = reader.count - 22
        guard last >= 0 else { throw FormatError("file is too short (\(reader.count) bytes) to be a zip archive") }
        for offset in stride(from: last, through: max(0, last - 65535), by: -1) {
            if try reader.u32(offset) == endOfCentralDirectory { return offset }
        }
        throw FormatError("no zip end-of-central-directory record found (file truncated?)")
    }

    private static func readCentralEntry(_ reader: ByteReader, at position: Int) throws -> (Entry, Int) {
        let method = try reader.u16(position + 10)
        var compressed = UInt64(try reader.u32(position + 20))
        var uncompressed = UInt64(try reader.u32(position + 24))
        let nameLength = Int(try reader.u16(position + 28))
        let extraLength = Int(try reader.u16(position + 30))
        let commentLength = Int(try reader.u16(position + 32))
        var localOffset = UInt64(try reader.u32(position + 42))
        let nameBytes = try reader.bytes(position + 46, nameLength, "zip entry name")
        let name = String(decoding: nameBytes, as: UTF8.self)

        // A ZIP64 extra field holds, in this order, whichever of the three values are saturated.
        var extra = position + 46 + nameLength
        let extraEnd = extra + extraLength
        _ = try reader.span(extra, extraLength, "extra field of zip entry '\(name)'")
        while extra + 4 <= extraEnd {
            let id = try reader.u16(extra)
            let size = Int(try reader.u16(extra + 2))
            if id == 0x0001 {
                var field = extra + 4
                func next() throws -> UInt64 {
                    guard field + 8 <= extra + 4 + size else {
                        throw FormatError("corrupt zip: ZIP64 extra field of '\(name)' is too short")
                    }
                    defer { field += 8 }
                    return try reader.u64(field)
                }
                if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                if compressed == 0xFFFF_FFFF { compressed = try next() }
                if localOffset == 0xFFFF_FFFF { localOffset = try next() }
            }
            extra += 4 + size
        }
        let entry = Entry(name: name, method: method,
                          compressedSize: try checkedInt(compressed, "compressed size of '\(name)'"),
                          uncompressedSize: try checkedInt(uncompressed, "size of '\(name)'"),
                          localHeaderOffset: try checkedInt(localOffset, "local header offset of '\(name)'"))
        return (entry, extraEnd + commentLength)
    }
}
