import Kernels

/// SAM's two-way transformer decoder in 3D with SegVol's text-similarity term; single-mask output.
/// A batch of categories shares one image embedding.
final class MaskDecoder {
    private let config: SegVolConfig
    private let weights: ModelWeights
    private static let root = "mask_decoder"

    init(config: SegVolConfig, weights: ModelWeights) {
        self.config = config
        self.weights = weights
    }

    /// Low-resolution logits (batch, 1, 4F) for `batch` categories.
    /// - image: (N, E) image tokens; densePE: (N, E); sparse: (batch, S, E); text: (batch, E) or nil.
    func decode(image: Tensor, densePE: Tensor, noMask: Tensor, sparse: Tensor, sparseCount: Int, text: Tensor?,
                batch: Int, on backend: Backend) throws -> Tensor {
        let c = config, e = c.embedDim, n = c.tokenCount
        let t = 5 + sparseCount

        // tokens = [iou_token, mask_tokens(4), sparse...] per category; they are also the query PE.
        let tokens = try backend.empty(shape: [batch * t, e])
        for b in 0..<batch {
            try backend.copy(weights.tensor(Self.root + ".iou_token.weight"), sourceOffset: 0, to: tokens, destinationOffset: b * t * e, count: e)
            try backend.copy(weights.tensor(Self.root + ".mask_tokens.weight"), sourceOffset: 0, to: tokens, destinationOffset: (b * t + 1) * e, count: 4 * e)
            try backend.copy(sparse, sourceOffset: b * sparseCount * e, to: tokens, destinationOffset: (b * t + 5) * e, count: sparseCount * e)
        }
        let queryPE = tokens
        // src = image + dense (no-mask) embedding, repeated per category.
        let srcOne = try backend.adding(image, noMask)
        let keys = try backend.empty(shape: [batch * n, e])
        for b in 0..<batch {
            try backend.copy(srcOne, sourceOffset: 0, to: keys, destinationOffset: b * n * e, count: n * e)
        }
        // Until the first image-to-token attention writes them, the keys are the same for every category: the
        // first layer projects them once (attention reads them with batch stride 0).
        let keysWithPEOne = try backend.adding(srcOne, densePE)

        var queries = tokens
        let width = e / c.attentionDownsample
        for i in 0..<c.decoderDepth {
            let layer = Self.root + ".transformer.layers.\(i)"
            let next = try backend.empty(shape: [batch * t, e])
            if i == 0 {
                // The published first layer: self attention without PE and without residual.
                try attention(layer + ".self_attn", q: queries, k: queries, v: queries, queries: t, keys: t, width: e,
                              batch: batch, out: next, residual: nil, on: backend)
            } else {
                let q = try backend.adding(queries, queryPE)
                try attention(layer + ".self_attn", q: q, k: q, v: queries, queries: t, keys: t, width: e,
                              batch: batch, out: next, residual: queries, on: backend)
            }
            queries = next
            try backend.layerNorm(queries, weights.norm(layer + ".norm1"), rows: batch * t, out: queries)

            let first = i == 0
            var q = try backend.adding(queries, queryPE)
            let k = try first ? keysWithPEOne : backend.adding(keys, densePE)
            try attention(layer + ".cross_attn_token_to_image", q: q, k: k, v: first ? srcOne : keys, queries: t, keys: n,
                          width: width, batch: batch, sharedKeys: first, out: queries, residual: queries, on: backend)
            try backend.layerNorm(queries, weights.norm(layer + ".norm2"), rows: batch * t, out: queries)

            let hidden = try backend.linear(queries, weights.linear(layer + ".mlp.lin1"), rows: batch * t, activation: .relu)
            try backend.linear(hidden, weights.linear(layer + ".mlp.lin2"), rows: batch * t, out: queries, residual: queries)
            try backend.layerNorm(queries, weights.norm(layer + ".norm3"), rows: batch * t, out: queries)

            // The keys are unchanged since the token-to-image attention, so k still holds keys + PE.
            q = try backend.adding(queries, queryPE)
            // Image tokens attend to the prompt tokens.
            try attention(layer + ".cross_attn_image_to_token", q: k, k: q, v: queries, queries: n, keys: t, width: width,
                          batch: batch, sharedQueries: first, out: keys, residual: keys, on: backend)
            try backend.layerNorm(keys, weights.norm(layer + ".norm4"), rows: batch * n, out: keys)
        }
        let q = try backend.adding(queries, queryPE)
        let k = try backend.adding(keys, densePE)
        try attention(Self.root + ".transformer.final_attn_token_to_image", q: q, k: k, v: keys, queries: t, keys: n,
                      width: width, batch: batch, out: queries, residual: queries, on: backend)
        try backend.layerNorm(queries, weights.norm(Self.root + ".transformer.norm_final_attn"), rows: batch * t, out: queries)

        let upscaled = try upscale(keys, batch: batch, on: backend)

        // Hypernetwork of mask token 0 (row 1 of each category's tokens), plus the text term.
        let maskToken = try backend.empty(shape: [batch, e])
        try backend.gatherRows(queries, indices: (0..<batch).map { $0 * t + 1 }, rowSize: e, out: maskToken)
        let mlp = Self.root + ".output_hypernetworks_mlps.0.layers"
        let h1 = try backend.linear(maskToken, weights.linear(mlp + ".0"), rows: batch, activation: .relu)
        let h2 = try backend.linear(h1, weights.linear(mlp + ".1"), rows: batch, activation: .relu)
        let hyper = try backend.empty(shape: [batch, e / 8])
        if let text {
            // mask = h·up + t·up = (h + t)·up: the text-aligned vector joins the hypernetwork output.
            let aligned = try backend.linear(text, weights.linear(Self.root + ".txt_align_upscaled_embedding"), rows: batch)
            try backend.linear(h2, weights.linear(mlp + ".2"), rows: batch, out: hyper, residual: aligned)
        } else {
            try backend.linear(h2, weights.linear(mlp + ".2"), rows: batch, out: hyper)
        }
        let voxels = c.lowResSize.reduce(1, *)
        let masks = try backend.empty(shape: [batch, 1] + c.lowResSize)
        try backend.gemm(hyper, upscaled, bias: nil, residual: nil, out: masks,
                         GemmShape(m: 1, n: voxels, k: e / 8, batch: batch, bLayout: .kn,
                                   strideA: e / 8, strideB: e / 8 * voxels, strideC: voxels))
        return masks
    }

    /// ConvTranspose3d(k2 s2) -> LayerNorm over the whole (E/4, 2F) sample -> GELU -> ConvTranspose3d -> GELU.
    private func upscale(_ keys: Tensor, batch: Int, on backend: Backend) throws -> Tensor {
        let c = config, e = c.embedDim, n = c.tokenCount, f = c.featureSize
        let f2 = f.map { $0 * 2 }, f4 = f.map { $0 * 4 }
        let channelMajor = try backend.empty(shape: [batch, e] + f)
        try backend.permute(keys, out: channelMajor, shape: [batch, n, e], permutation: [0, 2, 1])
        let up1 = try backend.empty(shape: [batch, e / 4] + f2)
        try backend.convTranspose3d(channelMajor, weight: weights.tensor(Self.root + ".output_upscaling.0.weight"),
                                    bias: weights.tensor(Self.root + ".output_upscaling.0.bias"), out: up1,
                                    ConvShape(batch: batch, inChannels: e, outChannels: e / 4, inSize: f, kernel: [2, 2, 2], stride: [2, 2, 2]))
        let norm = weights.norm(Self.root + ".output_upscaling.1")
        try backend.sampleLayerNorm(up1, weight: norm.weight, bias: norm.bias, out: up1, samples: batch,
                                    sampleSize: up1.count / batch, eps: 1e-5)
        try backend.unary(.gelu, up1, out: up1)
        let up2 = try backend.empty(shape: [batch, e / 8] + f4)
        try backend.convTranspose3d(up1, weight: weights.tensor(Self.root + ".output_upscaling.3.weight"),
                                    bias: weights.tensor(Self.root + ".output_upscaling.3.bias"), out: up2,
                                    ConvShape(batch: batch, inChannels: e / 4, outChannels: e / 8, inSize: f2, kernel: [2, 2, 2], stride: [2, 2, 2]))
        try backend.unary(.gelu, up2, out: up2)
        return up2
    }

    /// SAM's Attention module: project q, k, v to `width`, attend per head, project back to E;
    /// writes `out` (+ residual, which may be `out`). `sharedQueries` / `sharedKeys`: q / k and v hold one copy
    /// for every category, projected once.
    private func attention(_ name: String, q: Tensor, k: Tensor, v: Tensor, queries: Int, keys: Int, width: Int,
                           batch: Int, sharedQueries: Bool = false, sharedKeys: Bool = false, out: Tensor, residual: Tensor?,
                           on backend: Backend) throws {
        let heads = config.decoderHeads, headDim = width / heads
        let qp = try backend.linear(q, weights.linear(name + ".q_proj"), rows: (sharedQueries ? 1 : batch) * queries)
        let kp = try backend.linear(k, weights.linear(name + ".k_proj"), rows: (sharedKeys ? 1 : batch) * keys)
        let vp = try backend.linear(v, weights.linear(name + ".v_proj"), rows: (sharedKeys ? 1 : batch) * keys)
        func operand(_ tensor: Tensor, rows: Int, shared: Bool) -> AttentionOperand {
            AttentionOperand(tensor, rowStride: width, headStride: headDim, batchStride: shared ? 0 : rows * width)
        }
        let attended = try backend.empty(shape: [batch * queries, width])
        try backend.attention(
            q: operand(qp, rows: queries, shared: sharedQueries),
            k: operand(kp, rows: keys, shared: sharedKeys),
            v: operand(vp, rows: keys, shared: sharedKeys),
            out: .packed(attended, rows: queries, heads: heads, headDim: headDim),
            AttentionShape(batch: batch, heads: heads, queries: queries, keys: keys, headDim: headDim))
        try backend.linear(attended, weights.linear(name + ".out_proj"), rows: batch * queries, out: out, residual: residual)
    }
}
