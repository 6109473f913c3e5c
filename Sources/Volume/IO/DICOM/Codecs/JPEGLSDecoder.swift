import CCharLS

/// Decodes one JPEG-LS frame with CharLS, from memory.
enum JPEGLSDecoder {
    struct Frame {
        let width: Int
        let height: Int
        /// Samples row by row, unsigned (JPEG-LS has no sign; DICOM's sign is applied by the caller).
        let samples: [Int32]
    }

    static func decode(_ compressed: [UInt8]) throws -> Frame {
        guard let decoder = charls_jpegls_decoder_create() else { throw DICOMParseError("CharLS could not create a decoder") }
        defer { charls_jpegls_decoder_destroy(decoder) }
        func check(_ status: charls_jpegls_errc) throws {
            guard status.rawValue != 0 else { return }
            throw DICOMParseError("corrupt JPEG-LS frame (\(String(cString: charls_get_error_message(status))))")
        }
        guard !compressed.isEmpty else { throw DICOMParseError("empty JPEG-LS frame") }
        return try compressed.withUnsafeBytes { source in
            try check(charls_jpegls_decoder_set_source_buffer(decoder, source.baseAddress!, source.count))
            try check(charls_jpegls_decoder_read_header(decoder))
            var info = charls_frame_info()
            try check(charls_jpegls_decoder_get_frame_info(decoder, &info))
            guard info.component_count == 1 else {
                throw DICOMParseError("JPEG-LS frame has \(info.component_count) components; only greyscale is supported")
            }
            var size = 0
            try check(charls_jpegls_decoder_get_destination_size(decoder, 0, &size))
            var output = [UInt8](repeating: 0, count: size)
            try output.withUnsafeMutableBytes { try check(charls_jpegls_decoder_decode_to_buffer(decoder, $0.baseAddress!, size, 0)) }
            let count = Int(info.width) * Int(info.height)
            // CharLS writes one byte per sample up to 8 bits, two (native order) above.
            let samples: [Int32] = info.bits_per_sample <= 8
                ? output.prefix(count).map { Int32($0) }
                : output.withUnsafeBytes { raw in raw.bindMemory(to: UInt16.self).prefix(count).map { Int32($0) } }
            return Frame(width: Int(info.width), height: Int(info.height), samples: samples)
        }
    }
}
