import COpenJPEG
import Foundation

/// Decodes one JPEG 2000 frame (a raw codestream or a JP2 file) with OpenJPEG, from memory.
enum JPEG2000Decoder {
    struct Frame {
        let width: Int
        let height: Int
        let isSigned: Bool
        /// Samples row by row, as OpenJPEG returns them (already sign-extended when `isSigned`).
        let samples: [Int32]
    }

    /// The compressed bytes and the read position, handed to OpenJPEG's stream callbacks.
    private final class MemorySource {
        let bytes: UnsafeRawBufferPointer
        var offset = 0
        var lastError = ""
        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
    }

    static func decode(_ compressed: [UInt8]) throws -> Frame {
        try compressed.withUnsafeBytes { bytes in
            let source = MemorySource(bytes)
            let user = Unmanaged.passUnretained(source).toOpaque()
            // A JP2 file starts with its signature box; a raw codestream with SOC, SIZ (FF4F FF51).
            let isJP2 = bytes.count >= 8 && bytes[4..<8].elementsEqual("jP  ".utf8)
            guard let codec = opj_create_decompress(isJP2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K) else {
                throw DICOMParseError("OpenJPEG could not create a decoder")
            }
            defer { opj_destroy_codec(codec) }
            opj_set_error_handler(codec, { message, user in
                guard let message, let user else { return }
                let source = Unmanaged<MemorySource>.fromOpaque(user).takeUnretainedValue()
                source.lastError = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
            }, user)
            var parameters = opj_dparameters_t()
            opj_set_default_decoder_parameters(&parameters)
            guard opj_setup_decoder(codec, &parameters) != 0, let stream = makeStream(source, user: user) else {
                throw DICOMParseError("OpenJPEG could not set up the decoder")
            }
            defer { opj_stream_destroy(stream) }

            var imagePointer: UnsafeMutablePointer<opj_image_t>?
            let decoded = opj_read_header(stream, codec, &imagePointer) != 0
                && imagePointer.map { opj_decode(codec, stream, $0) != 0 && opj_end_decompress(codec, stream) != 0 } == true
            defer { if let imagePointer { opj_image_destroy(imagePointer) } }
            guard decoded, let image = imagePointer?.pointee else {
                throw DICOMParseError("corrupt JPEG 2000 frame" + (source.lastError.isEmpty ? "" : " (\(source.lastError))"))
            }
            guard image.numcomps == 1, let component = image.comps?.pointee, let data = component.data else {
                throw DICOMParseError("JPEG 2000 frame has \(image.numcomps) components; only greyscale is supported")
            }
            let count = Int(component.w) * Int(component.h)
            return Frame(width: Int(component.w), height: Int(component.h), isSigned: component.sgnd != 0,
                         samples: Array(UnsafeBufferPointer(start: data, count: count)))
        }
    }

    private static func makeStream(_ source: MemorySource, user: UnsafeMutableRawPointer) -> UnsafeMutablePointer<opj_stream_t?>? {
        guard let stream = opj_stream_create(Int(OPJ_J2K_STREAM_CHUNK_SIZE), 1) else { return nil }
        opj_stream_set_user_data(stream, user, nil)
        opj_stream_set_user_data_length(stream, UInt64(source.bytes.count))
        opj_stream_set_read_function(stream) { buffer, count, user in
            let source = Unmanaged<MemorySource>.fromOpaque(user!).takeUnretainedValue()
            let remaining = source.bytes.count - source.offset
            // (OPJ_SIZE_T)-1 tells OpenJPEG the stream has ended.
            guard remaining > 0, let buffer else { return Int(bitPattern: UInt.max) }
            let n = min(count, remaining)
            buffer.copyMemory(from: source.bytes.baseAddress! + source.offset, byteCount: n)
            source.offset += n
            return n
        }
        opj_stream_set_skip_function(stream) { count, user in
            let source = Unmanaged<MemorySource>.fromOpaque(user!).takeUnretainedValue()
            let target = max(0, min(source.bytes.count, source.offset + Int(count)))
            defer { source.offset = target }
            return Int64(target - source.offset)
        }
        opj_stream_set_seek_function(stream) { position, user in
            let source = Unmanaged<MemorySource>.fromOpaque(user!).takeUnretainedValue()
            guard position >= 0, position <= source.bytes.count else { return 0 }
            source.offset = Int(position)
            return 1
        }
        return stream
    }
}
