import Foundation

/// A .npy file could not be read or written; the message names the file.
public struct NPYError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    init(_ url: URL, _ reason: String) {
        message = "\(url.path): \(reason)"
    }
}

/// NumPy .npy arrays: read little-endian float32, float64, int64 and uint8 in C order as Float;
/// write float32.
public enum NPY {
    private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Element types accepted on reading, by NumPy `descr`.
    private enum ElementType: String {
        case float32 = "<f4", float64 = "<f8", int64 = "<i8", uint8 = "|u1"

        var byteCount: Int {
            switch self {
            case .float32: return 4
            case .float64, .int64: return 8
            case .uint8: return 1
            }
        }
    }

    public static func readFloat32(_ url: URL) throws -> (shape: [Int], data: [Float]) {
        do {
            let reader = try FileByteReader(path: url.path)
            var preamble = [UInt8](repeating: 0, count: 8)
            let got = try preamble.withUnsafeMutableBytes { try reader.read(into: $0) }
            guard got == preamble.count, Array(preamble[0..<6]) == magic else {
                throw NPYError(url, "not a .npy file (no \\x93NUMPY magic)")
            }
            // Version 1 gives the header length in 2 little-endian bytes, versions 2 and 3 in 4.
            let lengthBytes: Int
            switch preamble[6] {
            case 1: lengthBytes = 2
            case 2, 3: lengthBytes = 4
            default: throw NPYError(url, "unsupported .npy format version \(preamble[6]).\(preamble[7])")
            }
            var lengthField = [UInt8](repeating: 0, count: lengthBytes)
            try lengthField.withUnsafeMutableBytes { try reader.readExactly(into: $0) }
            let headerLength = lengthField.enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            var headerBytes = [UInt8](repeating: 0, count: headerLength)
            try headerBytes.withUnsafeMutableBytes { try reader.readExactly(into: $0) }
            let (type, shape) = try parseHeader(String(decoding: headerBytes, as: UTF8.self), url: url)

            var count = 1
            for extent in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: extent)
                if overflow { throw NPYError(url, "shape \(shape) is too large") }
                count = product
            }
            let byteCount = count * type.byteCount
            let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: max(byteCount, 1), alignment: 16)
            defer { raw.deallocate() }
            let read = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<byteCount]))
            if read < byteCount {
                throw NPYError(url, "truncated: shape \(shape) needs \(byteCount) bytes of data, found \(read)")
            }
            return (shape, decode(raw, type: type, count: count))
        } catch let error as ByteStreamError {
            throw NPYError(url, error.description)
        }
    }

    /// Writes `data` as a C-order '<f4' array of `shape`, atomically.
    public static func write(_ data: [Float], shape: [Int], to url: URL) throws {
        if shape.contains(where: { $0 < 0 }) || shape.reduce(1, *) != data.count {
            throw NPYError(url, "shape \(shape) does not hold \(data.count) values")
        }
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // Version 1 stores the header length in 2 bytes; the data start is aligned to 64 bytes.
        let version: UInt8 = header.utf8.count + 64 < 65536 ? 1 : 2
        let lengthBytes = version == 1 ? 2 : 4
        let unpadded = magic.count + 2 + lengthBytes + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = header.utf8.count
        let prefix = magic + [version, 0] + (0..<lengthBytes).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
            + Array(header.utf8)
        do {
            try ByteFiles.writeAtomically(to: url, gzip: false) { writer in
                try prefix.withUnsafeBytes { try writer.write($0) }
                // Little-endian hosts (all Swift targets in use) store '<f4' as is.
                try data.withUnsafeBytes { try writer.write($0) }
            }
        } catch let error as ByteStreamError {
            throw NPYError(url, error.description)
        }
    }

    /// Parses the Python dict literal of a .npy header: `descr`, `fortran_order` and `shape`.
    private static func parseHeader(_ text: String, url: URL) throws -> (ElementType, [Int]) {
        func value(_ key: String) throws -> Substring {
            guard let range = text.range(of: "'\(key)'") else { throw NPYError(url, "header has no '\(key)': \(text)") }
            let rest = text[range.upperBound...].drop(while: { $0 == " " })
            guard rest.first == ":" else { throw NPYError(url, "malformed header: \(text)") }
            return rest.dropFirst().drop(while: { $0 == " " })
        }
        let descrValue = try value("descr")
        guard let quote = descrValue.first, quote == "'" || quote == "\"",
              let close = descrValue.dropFirst().firstIndex(of: quote) else {
            throw NPYError(url, "malformed descr in header: \(text)")
        }
        let descr = String(descrValue[descrValue.index(after: descrValue.startIndex)..<close])
        guard let type = ElementType(rawValue: descr) else {
            throw NPYError(url, "unsupported dtype '\(descr)'; supported: <f4, <f8, <i8, |u1")
        }
        let fortran = try value("fortran_order")
        if fortran.hasPrefix("True") { throw NPYError(url, "Fortran-order arrays are not supported") }
        if !fortran.hasPrefix("False") { throw NPYError(url, "malformed fortran_order in header: \(text)") }

        let shapeValue = try value("shape")
        guard shapeValue.first == "(", let end = shapeValue.firstIndex(of: ")") else {
            throw NPYError(url, "malformed shape in header: \(text)")
        }
        let items = shapeValue[shapeValue.index(after: shapeValue.startIndex)..<end]
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = try items.map { item -> Int in
            guard let extent = Int(item), extent >= 0 else { throw NPYError(url, "malformed shape in header: \(text)") }
            return extent
        }
        return (type, shape)
    }

    private static func decode(_ raw: UnsafeMutableRawBufferPointer, type: ElementType, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch type {
            case .float32:
                let source = raw.bindMemory(to: UInt32.self)
                for n in 0..<count { out[n] = Float(bitPattern: UInt32(littleEndian: source[n])) }
            case .float64:
                let source = raw.bindMemory(to: UInt64.self)
                for n in 0..<count { out[n] = Float(Double(bitPattern: UInt64(littleEndian: source[n]))) }
            case .int64:
                let source = raw.bindMemory(to: Int64.self)
                for n in 0..<count { out[n] = Float(Int64(littleEndian: source[n])) }
            case .uint8:
                let source = raw.bindMemory(to: UInt8.self)
                for n in 0..<count { out[n] = Float(source[n]) }
            }
            initialized = count
        }
    }
}
