import Foundation

/// A DICOM file could not be read or written, or a series could not be assembled; the message
/// names the file or folder.
public struct DICOMError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    init(_ url: URL, _ reason: String) {
        message = "\(url.path): \(reason)"
    }
}

/// The value of one element: bytes in the file, the items of a sequence, or the fragments of
/// encapsulated (compressed) pixel data.
enum DICOMValue {
    case bytes(Range<Int>)
    case items([DICOMDataSet])
    case fragments([Range<Int>])
}

/// The elements of a data set (or of a sequence item) over the bytes they were parsed from.
/// Values are decoded on request, so a header-only scan costs little.
public struct DICOMDataSet {
    /// The bytes every range refers to: the file, or its inflated body for deflated syntaxes.
    let bytes: [UInt8]
    var elements: [DICOMTag: DICOMValue] = [:]
    /// True when the data set is encoded with implicit VR (needed to parse sequences read as bytes).
    let implicitVR: Bool

    func contains(_ tag: DICOMTag) -> Bool { elements[tag] != nil }

    /// The raw value bytes of an element with a defined length.
    func rawBytes(_ tag: DICOMTag) -> ArraySlice<UInt8>? {
        guard case .bytes(let range)? = elements[tag] else { return nil }
        return bytes[range]
    }

    /// A text value with its padding (spaces, NULs) removed; nil when absent or empty.
    func string(_ tag: DICOMTag) -> String? {
        guard let raw = rawBytes(tag) else { return nil }
        let text = trimmed(raw)
        return text.isEmpty ? nil : text
    }

    /// The values of a multi-valued text element (split on backslashes), each trimmed.
    func strings(_ tag: DICOMTag) -> [String] {
        guard let raw = rawBytes(tag) else { return [] }
        return raw.split(separator: UInt8(ascii: "\\"), omittingEmptySubsequences: false).map(trimmed)
    }

    /// Text without the spaces and NULs DICOM pads values with.
    private func trimmed(_ raw: ArraySlice<UInt8>) -> String {
        let isPadding = { (byte: UInt8) in byte == 0x20 || byte == 0 }
        guard let first = raw.firstIndex(where: { !isPadding($0) }), let last = raw.lastIndex(where: { !isPadding($0) }) else {
            return ""
        }
        return String(decoding: raw[first...last], as: UTF8.self)
    }

    /// Decimal string (DS) or integer string (IS) values; nil when absent or not all numbers.
    func numbers(_ tag: DICOMTag) -> [Double]? {
        let values = strings(tag)
        guard !values.isEmpty else { return nil }
        let parsed = values.compactMap(Double.init)
        return parsed.count == values.count ? parsed : nil
    }

    func number(_ tag: DICOMTag) -> Double? { numbers(tag)?.first }

    /// An unsigned short (US) value, little endian.
    func uint16(_ tag: DICOMTag) -> UInt16? {
        guard let raw = rawBytes(tag), raw.count >= 2 else { return nil }
        return UInt16(raw[raw.startIndex]) | UInt16(raw[raw.startIndex + 1]) << 8
    }

    /// The items of a sequence; empty when absent. Implicit-VR sequences of defined length are
    /// stored as bytes by the parser (it cannot know they are sequences) and parsed here.
    func sequence(_ tag: DICOMTag) throws -> [DICOMDataSet] {
        switch elements[tag] {
        case .items(let items)?: return items
        case .bytes(let range)?:
            var parser = DICOMBodyParser(bytes: bytes, implicitVR: true, position: range.lowerBound)
            return try parser.parseItems(until: range.upperBound)
        default: return []
        }
    }
}
