import Foundation

/// A data set being written: elements by tag, encoded explicit VR little endian in tag order,
/// sequences with defined lengths.
struct DICOMOutputDataSet {
    private enum Value {
        case bytes([UInt8])
        case items([DICOMOutputDataSet])
    }

    private var elements: [DICOMTag: (vr: String, value: Value)] = [:]

    /// A text element; several values are joined with backslashes. UIDs pad with NUL, other text with a space.
    mutating func set(_ tag: DICOMTag, _ vr: String, _ values: String...) {
        var bytes = Array(values.joined(separator: "\\").utf8)
        if bytes.count % 2 == 1 { bytes.append(vr == "UI" ? 0 : 0x20) }
        elements[tag] = (vr, .bytes(bytes))
    }

    mutating func set(_ tag: DICOMTag, uint16 values: UInt16...) {
        elements[tag] = ("US", .bytes(values.flatMap { littleEndian($0) }))
    }

    mutating func set(_ tag: DICOMTag, uint32 values: [UInt32]) {
        elements[tag] = ("UL", .bytes(values.flatMap { littleEndian($0) }))
    }

    /// An attribute tag (AT) value: group then element, each little endian.
    mutating func set(_ tag: DICOMTag, tagValue: DICOMTag) {
        elements[tag] = ("AT", .bytes(littleEndian(tagValue.group) + littleEndian(tagValue.element)))
    }

    mutating func set(_ tag: DICOMTag, items: [DICOMOutputDataSet]) {
        elements[tag] = ("SQ", .items(items))
    }

    /// Binary data (OB), padded to an even length.
    mutating func set(_ tag: DICOMTag, otherBytes bytes: [UInt8]) {
        elements[tag] = ("OB", .bytes(bytes.count % 2 == 0 ? bytes : bytes + [0]))
    }

    /// Copies an element from a parsed data set as raw bytes under `vr` (the source may be implicit VR).
    mutating func copy(_ tag: DICOMTag, _ vr: String, from source: DICOMDataSet) {
        guard let raw = source.rawBytes(tag) else {
            elements[tag] = (vr, .bytes([]))
            return
        }
        var bytes = Array(raw)
        if bytes.count % 2 == 1 { bytes.append(vr == "UI" ? 0 : 0x20) }
        elements[tag] = (vr, .bytes(bytes))
    }

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        for tag in elements.keys.sorted() {
            let (vr, value) = elements[tag]!
            let body: [UInt8]
            switch value {
            case .bytes(let bytes): body = bytes
            case .items(let items):
                body = items.flatMap { item -> [UInt8] in
                    let content = item.encoded()
                    return littleEndian(DICOMTag.item.group) + littleEndian(DICOMTag.item.element) + littleEndian(UInt32(content.count)) + content
                }
            }
            out += littleEndian(tag.group) + littleEndian(tag.element) + Array(vr.utf8)
            if ["OB", "OW", "SQ", "UN", "UT", "UC", "UR", "OD", "OF", "OL", "OV", "SV", "UV"].contains(vr) {
                out += [0, 0] + littleEndian(UInt32(body.count))
            } else {
                out += littleEndian(UInt16(body.count))
            }
            out += body
        }
        return out
    }

    /// The whole Part 10 file: preamble, "DICM", the file meta group, then this data set.
    func part10File(sopClassUID: String, sopInstanceUID: String) -> [UInt8] {
        var meta = DICOMOutputDataSet()
        meta.set(.fileMetaVersion, otherBytes: [0, 1])
        meta.set(.mediaStorageSOPClassUID, "UI", sopClassUID)
        meta.set(.mediaStorageSOPInstanceUID, "UI", sopInstanceUID)
        meta.set(.transferSyntaxUID, "UI", TransferSyntax.explicitVRLittleEndian)
        meta.set(.implementationClassUID, "UI", DICOMUID.implementationClass)
        meta.set(.implementationVersionName, "SH", DICOMUID.implementationVersion)
        let metaBytes = meta.encoded()
        var groupLength = DICOMOutputDataSet()
        groupLength.set(.fileMetaGroupLength, uint32: [UInt32(metaBytes.count)])
        return [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + groupLength.encoded() + metaBytes + encoded()
    }
}

private func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}
