import Foundation

/// The source of one output index along one axis: value = w0 · in[i0] + w1 · in[i1] (nearest: i1 = i0, w1 = 0).
public struct ResizeTap: Equatable, Sendable {
    public var i0: Int, i1: Int
    public var w0: Float, w1: Float

    public init(i0: Int, i1: Int, w0: Float, w1: Float) {
        self.i0 = i0; self.i1 = i1; self.w0 = w0; self.w1 = w1
    }
}

/// Source taps of each output index along one axis, with PyTorch's CPU float arithmetic
/// (UpSample.h `area_pixel_compute_scale`, `area_pixel_compute_source_index`, `guard_index_and_lambda`
/// and UpSampleKernel.cpp's nearest helpers), so nearest indices match PyTorch exactly. Both backends use it.
public func resizeTaps(inSize: Int, outSize: Int, mode: ResizeMode) -> [ResizeTap] {
    let alignCorners: Bool
    if case let .trilinear(value) = mode { alignCorners = value } else { alignCorners = false }
    // The scale is computed in float from the sizes; align_corners with one output uses 0.
    let scale: Float = alignCorners
        ? (outSize > 1 ? Float(inSize - 1) / Float(outSize - 1) : 0)
        : Float(inSize) / Float(outSize)
    // `scale * (dst + 0.5) - 0.5` promotes to double and is stored back as float; negative clamps to 0.
    func halfPixelSource(_ dst: Int) -> Float {
        let source = Float(Double(scale) * (Double(dst) + 0.5) - 0.5)
        return source < 0 ? 0 : source
    }
    return (0..<outSize).map { dst in
        switch mode {
        case .nearest:
            // floorf(scale * dst) in float.
            let index = min(Int((scale * Float(dst)).rounded(.down)), inSize - 1)
            return ResizeTap(i0: index, i1: index, w0: 1, w1: 0)
        case .nearestExact:
            // floorf(source + 0.5): the sum is a double rounded to float before the floor.
            let index = min(Int(Float(Double(halfPixelSource(dst)) + 0.5).rounded(.down)), inSize - 1)
            return ResizeTap(i0: index, i1: index, w0: 1, w1: 0)
        case .trilinear:
            if inSize == outSize { return ResizeTap(i0: dst, i1: dst, w0: 1, w1: 0) }
            let source = alignCorners ? scale * Float(dst) : halfPixelSource(dst)
            let index = min(Int(source.rounded(.down)), inSize - 1)
            let lambda = min(max(source - Float(index), 0), 1)
            return ResizeTap(i0: index, i1: index + (index < inSize - 1 ? 1 : 0), w0: 1 - lambda, w1: lambda)
        }
    }
}

/// Checks the operands of resize3d; shared by both backends.
func validateResize(_ x: Tensor, out: Tensor, channels: Int, inSize: [Int], outSize: [Int]) throws {
    try require(inSize.count == 3 && outSize.count == 3, "resize3d: inSize and outSize need 3 values (D, H, W)")
    try require(channels > 0 && inSize.allSatisfy { $0 > 0 } && outSize.allSatisfy { $0 > 0 },
                "resize3d: sizes must be positive (channels \(channels), in \(inSize), out \(outSize))")
    try require(x.count == channels * inSize.reduce(1, *), "resize3d: x has \(x.count) elements, expected \(channels)x\(inSize)")
    try require(out.count == channels * outSize.reduce(1, *), "resize3d: out has \(out.count) elements, expected \(channels)x\(outSize)")
}

extension CPUBackend {
    /// PyTorch `F.interpolate` on (1, channels, D, H, W): the weighted sum is nested like PyTorch's
    /// `Interpolate` (depth of heights of widths, `t0 * w0 + t1 * w1` at each level).
    public func resize3d(_ x: Tensor, out: Tensor, channels: Int, inSize: [Int], outSize: [Int], mode: ResizeMode) throws {
        try validateResize(x, out: out, channels: channels, inSize: inSize, outSize: outSize)
        let tapsD = resizeTaps(inSize: inSize[0], outSize: outSize[0], mode: mode)
        let tapsH = resizeTaps(inSize: inSize[1], outSize: outSize[1], mode: mode)
        let tapsW = resizeTaps(inSize: inSize[2], outSize: outSize[2], mode: mode)
        let (iH, iW) = (inSize[1], inSize[2])
        let inVolume = inSize.reduce(1, *)
        let nearest = mode == .nearest || mode == .nearestExact
        var result = [Float](repeating: 0, count: out.count)
        storage(x).values.withUnsafeBufferPointer { xs in
            var o = 0
            for c in 0..<channels {
                let base = c * inVolume
                for d in tapsD { for h in tapsH { for w in tapsW {
                    if nearest {
                        result[o] = xs[base + (d.i0 * iH + h.i0) * iW + w.i0]
                        o += 1
                        continue
                    }
                    func row(_ id: Int, _ ih: Int) -> Float {
                        let r = base + (id * iH + ih) * iW
                        return xs[r + w.i0] * w.w0 + xs[r + w.i1] * w.w1
                    }
                    func plane(_ id: Int) -> Float { row(id, h.i0) * h.w0 + row(id, h.i1) * h.w1 }
                    result[o] = plane(d.i0) * d.w0 + plane(d.i1) * d.w1
                    o += 1
                } } }
            }
        }
        storage(out).values = result
    }
}
