import Foundation

/// How an image's stored values are laid out (Image Pixel module, PS3.3 C.7.6.3); greyscale only.
struct PixelFormat: Equatable {
    let rows: Int
    let columns: Int
    let bitsAllocated: Int
    let bitsStored: Int
    let isSigned: Bool
    let frameCount: Int

    var pixelsPerFrame: Int { rows * columns }

    init(_ set: DICOMDataSet) throws {
        guard let rows = set.uint16(.rows), let columns = set.uint16(.columns), rows > 0, columns > 0 else {
            throw DICOMParseError("no Rows and Columns")
        }
        let samples = set.uint16(.samplesPerPixel) ?? 1
        let photometric = set.string(.photometricInterpretation) ?? "MONOCHROME2"
        guard samples == 1, photometric.hasPrefix("MONOCHROME") else {
            throw DICOMParseError("a colour image (\(photometric), \(samples) samples per pixel); only greyscale is supported")
        }
        let allocated = Int(set.uint16(.bitsAllocated) ?? 0)
        guard [8, 16, 32].contains(allocated) else { throw DICOMParseError("Bits Allocated \(allocated) is not supported (8, 16 or 32)") }
        let stored = Int(set.uint16(.bitsStored) ?? UInt16(allocated))
        guard (1...allocated).contains(stored) else { throw DICOMParseError("Bits Stored \(stored) exceeds Bits Allocated \(allocated)") }
        let signed = set.uint16(.pixelRepresentation) == 1
        // Stored values are held as Int32.
        if stored == 32 && !signed { throw DICOMParseError("unsigned 32-bit pixel values are not supported") }
        self.rows = Int(rows)
        self.columns = Int(columns)
        bitsAllocated = allocated
        bitsStored = stored
        isSigned = signed
        frameCount = max(1, Int(set.number(.numberOfFrames) ?? 1))
    }
}

/// The stored values of a file's frames, decoded whatever the transfer syntax.
enum PixelData {
    /// The stored values of frame `index` (from 0), row by row: masked to Bits Stored and
    /// sign-extended where Pixel Representation says signed.
    static func frame(_ index: Int, of file: DICOMFile, format: PixelFormat) throws -> [Int32] {
        do {
            guard let value = file.dataSet.elements[.pixelData] else { throw DICOMParseError("no pixel data") }
            switch (value, file.transferSyntax.pixelEncoding) {
            case (.bytes(let range), .native):
                let frameBytes = format.pixelsPerFrame * format.bitsAllocated / 8
                let needed = format.frameCount * frameBytes
                guard range.count >= needed else {
                    throw DICOMParseError("truncated pixel data: \(format.frameCount) frame(s) of \(format.columns)x\(format.rows) "
                        + "need \(needed) bytes, \(range.count) present")
                }
                let start = range.lowerBound + index * frameBytes
                return storedValues(file.dataSet.bytes[start..<start + frameBytes], format: format)
            case (.fragments(let fragments), let encoding) where encoding != .native:
                let compressed = try frameBytes(index, fragments: fragments, bytes: file.dataSet.bytes, format: format)
                return try decode(compressed, encoding: encoding, format: format)
            case (_, .undecodable):
                throw DICOMParseError(file.transferSyntax.unsupportedMessage)
            default:
                throw DICOMParseError("the pixel data's encoding does not match transfer syntax \(file.transferSyntax.uid)")
            }
        } catch let error as DICOMParseError {
            throw DICOMError(file.url, error.reason)
        }
    }

    private static func decode(_ compressed: [UInt8], encoding: TransferSyntax.PixelEncoding, format: PixelFormat) throws -> [Int32] {
        let samples: [Int32], width: Int, height: Int
        switch encoding {
        case .jpeg2000:
            let frame = try JPEG2000Decoder.decode(compressed)
            (width, height) = (frame.width, frame.height)
            // A codestream that calls signed data unsigned is sign-extended from Bits Stored, as pydicom does.
            samples = frame.isSigned || !format.isSigned ? frame.samples : frame.samples.map { signExtend($0, bits: format.bitsStored) }
        case .jpegLS:
            let frame = try JPEGLSDecoder.decode(compressed)
            (width, height) = (frame.width, frame.height)
            samples = format.isSigned ? frame.samples.map { signExtend($0, bits: format.bitsStored) } : frame.samples
        case .rle:
            let bytes = try RLEDecoder.decode(compressed, pixelCount: format.pixelsPerFrame, bytesPerSample: format.bitsAllocated / 8)
            return storedValues(bytes[...], format: format)
        case .native, .undecodable:
            preconditionFailure("frame(_:of:format:) decodes only the encapsulated syntaxes")
        }
        guard width == format.columns, height == format.rows else {
            throw DICOMParseError("a compressed frame is \(width)x\(height), the header says \(format.columns)x\(format.rows)")
        }
        return samples
    }

    /// The compressed bytes of one frame (PS3.5 A.4): the basic offset table says where each frame's
    /// fragments start; without one, one fragment per frame, or all fragments for a single frame.
    private static func frameBytes(_ index: Int, fragments: [Range<Int>], bytes: [UInt8], format: PixelFormat) throws -> [UInt8] {
        guard let table = fragments.first else { throw DICOMParseError("encapsulated pixel data without items") }
        let data = Array(fragments.dropFirst())
        var frameFragments: [Range<Int>]
        if format.frameCount == 1 {
            frameFragments = data
        } else if !table.isEmpty {
            let offsets = stride(from: table.lowerBound, to: table.upperBound - 3, by: 4).map { o in
                (0..<4).reduce(0) { $0 | Int(bytes[o + $1]) << (8 * $1) }
            }
            guard offsets.count == format.frameCount else {
                throw DICOMParseError("the basic offset table has \(offsets.count) entries for \(format.frameCount) frames")
            }
            // Offsets count from the first fragment's item tag; each item adds its 8-byte header.
            var position = 0
            frameFragments = []
            let end = index + 1 < offsets.count ? offsets[index + 1] : Int.max
            for fragment in data {
                if position >= offsets[index] && position < end { frameFragments.append(fragment) }
                position += 8 + fragment.count
            }
        } else if data.count == format.frameCount {
            frameFragments = [data[index]]
        } else {
            throw DICOMParseError("\(data.count) fragments for \(format.frameCount) frames and no offset table")
        }
        guard index < format.frameCount, !frameFragments.isEmpty else { throw DICOMParseError("frame \(index + 1) has no data") }
        return frameFragments.flatMap { bytes[$0] }
    }

    /// Little-endian samples of Bits Allocated each, masked to Bits Stored and sign-extended.
    private static func storedValues(_ raw: ArraySlice<UInt8>, format: PixelFormat) -> [Int32] {
        let count = format.pixelsPerFrame, width = format.bitsAllocated / 8
        let mask: UInt32 = format.bitsStored == 32 ? .max : (1 << UInt32(format.bitsStored)) - 1
        return raw.withUnsafeBytes { bytes in
            (0..<count).map { n in
                var value: UInt32 = 0
                for b in 0..<width { value |= UInt32(bytes[n * width + b]) << (8 * UInt32(b)) }
                value &= mask
                return format.isSigned ? signExtend(Int32(bitPattern: value), bits: format.bitsStored) : Int32(bitPattern: value)
            }
        }
    }

    /// Reads the low `bits` bits as a two's-complement number.
    private static func signExtend(_ value: Int32, bits: Int) -> Int32 {
        guard bits < 32 else { return value }
        let shift = Int32(32 - bits)
        return (value << shift) >> shift
    }
}
