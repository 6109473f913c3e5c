import Foundation

/// SAM's prompt encoder in 3D, computed on the host: a few hundred sin/cos per prompt, from weights
/// kept on the host. Reproduces the published coordinate normalisation, including its swapped axes.
struct PromptEncoder {
    let config: SegVolConfig
    private let gaussian: [Float]          // (3, E/2)
    private let pointEmbeddings: [[Float]] // negative, positive, box corner 1, box corner 2
    private let notAPoint: [Float]
    let noMask: [Float]

    init(config: SegVolConfig, weights: ModelWeights) {
        self.config = config
        gaussian = weights.host("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix")
        pointEmbeddings = (0..<4).map { weights.host("prompt_encoder.point_embeddings.\($0).weight") }
        notAPoint = weights.host("prompt_encoder.not_a_point_embed.weight")
        noMask = weights.host("prompt_encoder.no_mask_embed.weight")
    }

    /// Random-Fourier encoding of a point c in [0,1]^3: [sin(2π(2c-1)G), cos(2π(2c-1)G)], in fp32 like the reference.
    func encode(_ c: (Float, Float, Float)) -> [Float] {
        let half = config.embedDim / 2
        let x = 2 * c.0 - 1, y = 2 * c.1 - 1, z = 2 * c.2 - 1
        var out = [Float](repeating: 0, count: 2 * half)
        for j in 0..<half {
            let projected = x * gaussian[j] + y * gaussian[half + j] + z * gaussian[2 * half + j]
            let angle = Float(2 * Double.pi) * projected
            out[j] = sin(angle)
            out[half + j] = cos(angle)
        }
        return out
    }

    /// Dense positional encoding, token-major (N, E) as the decoder consumes it. At cell (i0, i1, i2)
    /// the published code encodes ((i1+.5)/F1, (i0+.5)/F0, (i2+.5)/F2): the first two axes swapped.
    func densePE() -> [Float] {
        let f = config.featureSize
        var out: [Float] = []
        out.reserveCapacity(config.tokenCount * config.embedDim)
        for i0 in 0..<f[0] {
            for i1 in 0..<f[1] {
                for i2 in 0..<f[2] {
                    out += encode(((Float(i1) + 0.5) / Float(f[1]), (Float(i0) + 0.5) / Float(f[0]), (Float(i2) + 0.5) / Float(f[2])))
                }
            }
        }
        return out
    }

    /// A voxel (d, h, w) of the spatial size, normalised as published: d by S1, h by S0, w by S2.
    private func encodeVoxel(_ d: Float, _ h: Float, _ w: Float) -> [Float] {
        let s = config.spatialSize.map(Float.init)
        return encode(((d + 0.5) / s[1], (h + 0.5) / s[0], (w + 0.5) / s[2]))
    }

    /// The sparse tokens that come before the text token: points (padded with one not-a-point when
    /// there is no box), then the two box corners.
    func sparseRows(for prompt: Prompt) -> [[Float]] {
        var rows: [[Float]] = []
        for point in prompt.points {
            let embedding = encodeVoxel(point.d, point.h, point.w)
            rows.append(zip(embedding, pointEmbeddings[point.positive ? 1 : 0]).map(+))
        }
        if !prompt.points.isEmpty && prompt.box == nil {
            rows.append(notAPoint)  // label -1: the encoding is zeroed, then not_a_point_embed added
        }
        if let box = prompt.box {
            rows.append(zip(encodeVoxel(box[0], box[1], box[2]), pointEmbeddings[2]).map(+))
            rows.append(zip(encodeVoxel(box[3], box[4], box[5]), pointEmbeddings[3]).map(+))
        }
        return rows
    }
}
