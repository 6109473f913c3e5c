import CZlib
import Foundation

/// A DICOM Part 10 file: its transfer syntax and its data set (the file meta group excluded).
public struct DICOMFile {
    public let url: URL
    public let transferSyntax: TransferSyntax
    let dataSet: DICOMDataSet

    /// Parses a Part 10 file (128-byte preamble, "DICM", file meta group, data set).
    /// `headerOnly` stops before the pixel data, for scanning a folder.
    public init(url: URL, headerOnly: Bool = false) throws {
        self.url = url
        let fileBytes: [UInt8]
        do {
            fileBytes = [UInt8](try Data(contentsOf: url))
        } catch {
            throw DICOMError(url, "cannot read the file")
        }
        guard DICOMFile.hasPart10Prefix(fileBytes) else {
            throw DICOMError(url, "not a DICOM Part 10 file (no \"DICM\" after the 128-byte preamble)")
        }
        do {
            var meta = DICOMBodyParser(bytes: fileBytes, implicitVR: false, position: 132)
            let metaSet = try meta.parseFileMeta()
            guard let uid = metaSet.string(.transferSyntaxUID) else {
                throw DICOMParseError("the file meta group has no transfer syntax UID (0002,0010)")
            }
            transferSyntax = try TransferSyntax(uid: uid)
            var body: DICOMBodyParser
            if transferSyntax.isDeflated {
                let inflated = try inflateRaw(fileBytes[meta.position...])
                body = DICOMBodyParser(bytes: inflated, implicitVR: false, position: 0)
            } else {
                body = DICOMBodyParser(bytes: fileBytes, implicitVR: transferSyntax.isImplicitVR, position: meta.position)
            }
            body.stopAtPixelData = headerOnly
            dataSet = try body.parseDataSet(until: body.bytes.count)
        } catch let error as DICOMParseError {
            throw DICOMError(url, error.reason)
        }
    }

    /// True when the bytes start like a Part 10 file; the test for "is this file DICOM at all".
    static func hasPart10Prefix(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 132 && bytes[128..<132].elementsEqual("DICM".utf8)
    }

    /// Checks the first 132 bytes only, so a folder scan can skip other files cheaply.
    static func looksLikePart10(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        guard let prefix = try? handle.read(upToCount: 132) else { return false }
        return hasPart10Prefix([UInt8](prefix))
    }
}

/// A malformed data set; `DICOMFile` adds the file name.
struct DICOMParseError: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Reads elements from little-endian bytes, explicit or implicit VR (PS3.5 7.1), with defined and
/// undefined lengths, sequences and encapsulated pixel data.
struct DICOMBodyParser {
    let bytes: [UInt8]
    let implicitVR: Bool
    var position: Int
    var stopAtPixelData = false

    private static let undefinedLength = UInt32.max
    /// VRs whose explicit encoding has two reserved bytes and a 4-byte length.
    private static let longLengthVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]

    init(bytes: [UInt8], implicitVR: Bool, position: Int) {
        self.bytes = bytes
        self.implicitVR = implicitVR
        self.position = position
    }

    /// The group 0002 elements, always explicit VR little endian; stops at the first other group.
    mutating func parseFileMeta() throws -> DICOMDataSet {
        var set = DICOMDataSet(bytes: bytes, implicitVR: false)
        while position + 4 <= bytes.count, uint16(at: position) == 0x0002 {
            let (tag, element) = try parseElement()
            set.elements[tag] = element
        }
        return set
    }

    /// Elements until `end` (a defined length) or an item delimiter (undefined length).
    mutating func parseDataSet(until end: Int) throws -> DICOMDataSet {
        var set = DICOMDataSet(bytes: bytes, implicitVR: implicitVR)
        while position < end {
            let tag = try peekTag()
            if tag == .itemDelimitation {
                position += 8
                break
            }
            if stopAtPixelData && tag >= .pixelData { break }
            let (parsedTag, element) = try parseElement()
            set.elements[parsedTag] = element
        }
        return set
    }

    /// The items of a sequence until `end` or the sequence delimiter.
    mutating func parseItems(until end: Int) throws -> [DICOMDataSet] {
        var items: [DICOMDataSet] = []
        while position < end {
            let tag = try peekTag()
            let length = try uint32Checked(at: position + 4)
            position += 8
            if tag == .sequenceDelimitation { break }
            guard tag == .item else { throw DICOMParseError("expected a sequence item at byte \(position - 8), found \(tag)") }
            if length == Self.undefinedLength {
                items.append(try parseDataSet(until: bytes.count))
            } else {
                let itemEnd = try checkedEnd(length)
                items.append(try parseDataSet(until: itemEnd))
                position = itemEnd
            }
        }
        return items
    }

    private mutating func parseElement() throws -> (DICOMTag, DICOMValue) {
        let tag = try peekTag()
        position += 4
        var vr = ""
        let length: UInt32
        if implicitVR && tag.group != 0x0002 {
            length = try uint32Checked(at: position)
            position += 4
        } else {
            guard position + 4 <= bytes.count else { throw truncated(tag) }
            vr = String(decoding: bytes[position..<position + 2], as: UTF8.self)
            if Self.longLengthVRs.contains(vr) {
                length = try uint32Checked(at: position + 4)
                position += 8
            } else {
                length = UInt32(uint16(at: position + 2))
                position += 4
            }
        }

        if length == Self.undefinedLength {
            if tag == .pixelData { return (tag, .fragments(try parseFragments())) }
            // An undefined length is a sequence; one of VR UN holds implicit-VR items (PS3.5 6.2.2).
            var inner = DICOMBodyParser(bytes: bytes, implicitVR: implicitVR || vr == "UN", position: position)
            let items = try inner.parseItems(until: bytes.count)
            position = inner.position
            return (tag, .items(items))
        }
        let end = try checkedEnd(length, tag: tag)
        if vr == "SQ" {
            var inner = DICOMBodyParser(bytes: bytes, implicitVR: implicitVR, position: position)
            let items = try inner.parseItems(until: end)
            position = end
            return (tag, .items(items))
        }
        let value = position..<end
        position = end
        return (tag, .bytes(value))
    }

    /// Encapsulated pixel data (PS3.5 A.4): the basic offset table item, then one item per fragment.
    private mutating func parseFragments() throws -> [Range<Int>] {
        var fragments: [Range<Int>] = []
        while true {
            let tag = try peekTag()
            let length = try uint32Checked(at: position + 4)
            position += 8
            if tag == .sequenceDelimitation { return fragments }
            guard tag == .item, length != Self.undefinedLength else {
                throw DICOMParseError("malformed encapsulated pixel data at byte \(position - 8)")
            }
            let end = try checkedEnd(length, tag: .pixelData)
            fragments.append(position..<end)
            position = end
        }
    }

    private func peekTag() throws -> DICOMTag {
        guard position + 4 <= bytes.count else { throw truncated(nil) }
        return DICOMTag(uint16(at: position), uint16(at: position + 2))
    }

    private func checkedEnd(_ length: UInt32, tag: DICOMTag? = nil) throws -> Int {
        let end = position + Int(length)
        guard end <= bytes.count else {
            let what = tag == .pixelData ? "pixel data" : tag.map { "element \($0)" } ?? "an item"
            throw DICOMParseError("truncated: \(what) needs \(length) bytes, \(bytes.count - position) remain")
        }
        return end
    }

    private func truncated(_ tag: DICOMTag?) -> DICOMParseError {
        DICOMParseError("truncated at byte \(position)" + (tag.map { " in element \($0)" } ?? ""))
    }

    private func uint16(at offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    private func uint32Checked(at offset: Int) throws -> UInt32 {
        guard offset + 4 <= bytes.count else { throw truncated(nil) }
        return UInt32(uint16(at: offset)) | UInt32(uint16(at: offset + 2)) << 16
    }
}

/// Inflates a raw deflate stream (no zlib or gzip header), as the deflated transfer syntax stores
/// the data set.
func inflateRaw(_ compressed: ArraySlice<UInt8>) throws -> [UInt8] {
    var stream = z_stream()
    // Negative window bits: a raw deflate stream.
    guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw DICOMParseError("zlib inflateInit2 failed")
    }
    defer { inflateEnd(&stream) }
    var output = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    let input = Array(compressed)
    return try input.withUnsafeBufferPointer { source -> [UInt8] in
        stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
        stream.avail_in = uInt(source.count)
        while true {
            let status = chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
            switch status {
            case Z_STREAM_END: return output
            case Z_OK: continue
            case Z_BUF_ERROR where stream.avail_in == 0: throw DICOMParseError("truncated deflated data set")
            default: throw DICOMParseError("corrupt deflated data set (zlib status \(status))")
            }
        }
    }
}
