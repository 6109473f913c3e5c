import Foundation

/// A format problem found while parsing; `Checkpoint` adds the file name to make a `CheckpointError`.
struct FormatError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// A byte range inside a (memory-mapped) buffer, so storages share the file's bytes instead of copying.
struct ByteSpan: Sendable {
    let data: Data
    let offset: Int
    let count: Int

    /// Runs `body` over exactly this span's bytes.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try data.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + count)]))
        }
    }
}

/// Bounds-checked little-endian reads at absolute offsets of a buffer.
struct ByteReader {
    let data: Data
    var count: Int { data.count }

    init(_ data: Data) { self.data = data }

    func span(_ offset: Int, _ length: Int, _ what: @autoclosure () -> String) throws -> ByteSpan {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
            throw FormatError("\(what()) (bytes \(offset)..<\(offset &+ length)) lies outside the \(count)-byte file")
        }
        return ByteSpan(data: data, offset: offset, count: length)
    }

    func bytes(_ offset: Int, _ length: Int, _ what: @autoclosure () -> String) throws -> Data {
        let s = try span(offset, length, what())
        return data.withUnsafeBytes { Data($0[s.offset..<(s.offset + s.count)]) }
    }

    func u8(_ offset: Int) throws -> UInt8 { try load(offset, UInt8.self) }
    func u16(_ offset: Int) throws -> UInt16 { UInt16(littleEndian: try load(offset, UInt16.self)) }
    func u32(_ offset: Int) throws -> UInt32 { UInt32(littleEndian: try load(offset, UInt32.self)) }
    func u64(_ offset: Int) throws -> UInt64 { UInt64(littleEndian: try load(offset, UInt64.self)) }

    private func load<T: FixedWidthInteger>(_ offset: Int, _ type: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset <= count - size else {
            throw FormatError("unexpected end of data reading \(size) bytes at offset \(offset) of \(count)")
        }
        return data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }
}

/// Converts a file-derived 64-bit size to `Int`, rejecting values that cannot be offsets.
func checkedInt(_ value: UInt64, _ what: String) throws -> Int {
    guard value <= UInt64(Int.max) else { throw FormatError("\(what) \(value) is too large") }
    return Int(value)
}
