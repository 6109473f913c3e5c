/// Decodes one DICOM RLE Lossless frame (PS3.5 G): a 64-byte header of segment offsets, then one
/// PackBits segment per byte plane, most significant plane first.
enum RLEDecoder {
    /// Returns the frame as little-endian samples of `bytesPerSample` bytes each.
    static func decode(_ compressed: [UInt8], pixelCount: Int, bytesPerSample: Int) throws -> [UInt8] {
        guard compressed.count >= 64 else { throw DICOMParseError("corrupt RLE frame: shorter than its 64-byte header") }
        func uint32(_ offset: Int) -> Int {
            (0..<4).reduce(0) { $0 | Int(compressed[offset + $1]) << (8 * $1) }
        }
        let segmentCount = uint32(0)
        guard segmentCount == bytesPerSample else {
            throw DICOMParseError("RLE frame has \(segmentCount) segments, expected \(bytesPerSample) (one per byte of a greyscale sample)")
        }
        let offsets = (0..<segmentCount).map { uint32(4 + 4 * $0) } + [compressed.count]
        var output = [UInt8](repeating: 0, count: pixelCount * bytesPerSample)
        for segment in 0..<segmentCount {
            guard offsets[segment] >= 64, offsets[segment] <= offsets[segment + 1] else {
                throw DICOMParseError("corrupt RLE frame: bad offset of segment \(segment + 1)")
            }
            // Segment 0 holds the most significant bytes; little-endian output puts them last.
            let byteIndex = bytesPerSample - 1 - segment
            var written = 0
            var n = offsets[segment]
            let end = offsets[segment + 1]
            while n < end && written < pixelCount {
                let header = Int(Int8(bitPattern: compressed[n]))
                n += 1
                if header >= 0 {
                    let run = header + 1
                    guard n + run <= end, written + run <= pixelCount else { break }
                    for m in 0..<run { output[(written + m) * bytesPerSample + byteIndex] = compressed[n + m] }
                    n += run
                    written += run
                } else if header != -128 {
                    let run = 1 - header
                    guard n < end, written + run <= pixelCount else { break }
                    for m in 0..<run { output[(written + m) * bytesPerSample + byteIndex] = compressed[n] }
                    n += 1
                    written += run
                }
            }
            guard written == pixelCount else {
                throw DICOMParseError("corrupt RLE frame: segment \(segment + 1) decodes to \(written) of \(pixelCount) bytes")
            }
        }
        return output
    }
}
