/// An 8-bit RGB raster, rows top to bottom, for previews.
public struct RGBImage {
    public let width: Int
    public let height: Int
    /// Red, green, blue per pixel, row after row.
    public private(set) var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGB) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, with: background)
    }

    public subscript(x: Int, y: Int) -> RGB {
        let offset = (y * width + x) * 3
        return RGB(pixels[offset], pixels[offset + 1], pixels[offset + 2])
    }

    /// Sets a pixel; points outside the image are ignored, so text and shapes may run off the edge.
    mutating func set(_ x: Int, _ y: Int, _ colour: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let offset = (y * width + x) * 3
        pixels[offset] = colour.red
        pixels[offset + 1] = colour.green
        pixels[offset + 2] = colour.blue
    }

    /// Mixes `colour` over a pixel with the given opacity (0...1).
    mutating func blend(_ x: Int, _ y: Int, _ colour: RGB, opacity: Double) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let offset = (y * width + x) * 3
        for (channel, value) in [colour.red, colour.green, colour.blue].enumerated() {
            let mixed = Double(pixels[offset + channel]) * (1 - opacity) + Double(value) * opacity
            pixels[offset + channel] = UInt8(mixed.rounded())
        }
    }

    mutating func fill(x: Int, y: Int, width: Int, height: Int, with colour: RGB) {
        for row in y..<y + height {
            for column in x..<x + width { set(column, row, colour) }
        }
    }
}
