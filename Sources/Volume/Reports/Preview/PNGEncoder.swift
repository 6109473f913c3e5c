import CPNG
import Foundation

/// PNG encoding through libpng's simplified API, which reports errors as return values (the classic API's
/// longjmp cannot cross Swift frames).
public enum PNGEncoder {
    public static func encode(_ image: RGBImage) throws -> Data {
        var info = png_image()
        info.version = UInt32(PNG_IMAGE_VERSION)
        info.width = UInt32(image.width)
        info.height = UInt32(image.height)
        info.format = UInt32(PNG_FORMAT_RGB)
        let rowStride = Int32(image.width * 3)
        return try image.pixels.withUnsafeBytes { pixels in
            // First call: the size only.
            var size = 0
            guard png_image_write_to_memory(&info, nil, &size, 0, pixels.baseAddress, rowStride, nil) != 0 else {
                throw PipelineError("PNG encoding failed: \(message(of: info))")
            }
            var bytes = Data(count: size)
            let written = bytes.withUnsafeMutableBytes { buffer in
                png_image_write_to_memory(&info, buffer.baseAddress, &size, 0, pixels.baseAddress, rowStride, nil)
            }
            guard written != 0 else { throw PipelineError("PNG encoding failed: \(message(of: info))") }
            return bytes.prefix(size)
        }
    }

    private static func message(of info: png_image) -> String {
        withUnsafeBytes(of: info.message) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }
}
