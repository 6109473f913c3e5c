import Foundation

/// LayerNorm references: two-pass mean and biased variance, accumulated in Double so the reference
/// stays exact enough to judge the fp32 shaders even for large, offset inputs.
extension CPUBackend {
    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, rows: Int, dim: Int, eps: Float) throws {
        try validateLayerNorm(x, weight: weight, bias: bias, out: out, groups: rows, size: dim, name: "layerNorm",
                              halfOutputAllowed: true)
        store(normalise(storage(x).values, into: storage(out).values, weight: storage(weight).values,
                        bias: storage(bias).values, groups: rows, size: dim, eps: eps), into: out)
    }

    public func sampleLayerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, samples: Int, sampleSize: Int,
                                eps: Float) throws {
        try validateLayerNorm(x, weight: weight, bias: bias, out: out, groups: samples, size: sampleSize, name: "sampleLayerNorm",
                              halfOutputAllowed: false)
        storage(out).values = normalise(storage(x).values, into: storage(out).values, weight: storage(weight).values,
                                        bias: storage(bias).values, groups: samples, size: sampleSize, eps: eps)
    }

    /// Normalises each of `groups` consecutive runs of `size` values, then applies the affine of `size`;
    /// elements of `out` past the groups keep their values.
    private func normalise(_ values: [Float], into out: [Float], weight: [Float], bias: [Float], groups: Int, size: Int,
                           eps: Float) -> [Float] {
        var result = out
        for g in 0..<groups {
            let start = g * size
            var sum = 0.0
            for i in 0..<size { sum += Double(values[start + i]) }
            let mean = sum / Double(size)
            var squares = 0.0
            for i in 0..<size {
                let centred = Double(values[start + i]) - mean
                squares += centred * centred
            }
            let inverseStd = 1 / (squares / Double(size) + Double(eps)).squareRoot()
            for i in 0..<size {
                let normalised = (Double(values[start + i]) - mean) * inverseStd
                result[start + i] = Float(normalised) * weight[i] + bias[i]
            }
        }
        return result
    }
}

/// Size and dtype checks shared by both backends: x is fp32, weight and bias share a dtype, and `out` may be
/// fp16 where `halfOutputAllowed`.
func validateLayerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, groups: Int, size: Int, name: String,
                       halfOutputAllowed: Bool) throws {
    try require(groups >= 1 && size >= 1, "\(name): \(groups) groups of \(size) values")
    try require(x.count >= groups * size && out.count >= groups * size,
                "\(name): x (\(x.count)) and out (\(out.count)) must hold \(groups) x \(size) values")
    try require(weight.count == size && bias.count == size,
                "\(name): weight (\(weight.count)) and bias (\(bias.count)) must have \(size) values")
    try require(x.dtype == .float32, "\(name): x must be fp32")
    try require(weight.dtype == bias.dtype, "\(name): weight and bias must have the same dtype")
    try require(out.dtype == .float32 || halfOutputAllowed, "\(name): out must be fp32")
}
