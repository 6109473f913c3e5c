import Kernels

/// The 3D ViT: patch embedding (a Conv3d with kernel = stride = patch), position embeddings,
/// pre-norm blocks with fused-softmax attention over all tokens, final LayerNorm.
final class ImageEncoder {
    private let config: SegVolConfig
    private let weights: ModelWeights
    private let workspace = Workspace()

    init(config: SegVolConfig, weights: ModelWeights) {
        self.config = config
        self.weights = weights
    }

    /// `volume` is (batch, 1, D, H, W) at the spatial size; returns tokens (batch·N, E), N in row-major order over F.
    func encode(_ volume: Tensor, batch: Int, on backend: Backend) throws -> Tensor {
        let c = config, e = c.embedDim, n = c.tokenCount, rows = batch * n
        try require(volume.count == batch * c.spatialVolume, "image encoder: input of \(volume.count) values, expected \(batch) x \(c.spatialSize)")
        let patch = weights.linear("image_encoder.patch_embedding.patch_embeddings.1")
        let patches = try workspace.tensor("patches", [batch, e, n], backend)
        try backend.conv3d(volume, weight: patch.weight.reshaped([e, 1] + c.patchSize), bias: patch.bias, out: patches,
                           ConvShape(batch: batch, inChannels: 1, outChannels: e, inSize: c.spatialSize,
                                     kernel: c.patchSize, stride: c.patchSize))
        let x = try backend.empty(shape: [rows, e])
        try backend.permute(patches, out: x, shape: [batch, e, n], permutation: [0, 2, 1])
        try backend.binary(.add, x, weights.tensor("image_encoder.patch_embedding.position_embeddings"), out: x)

        let normed = try workspace.tensor("normed", [rows, e], backend)
        let qkv = try workspace.tensor("qkv", [rows, 3 * e], backend)
        let attended = try workspace.tensor("attended", [rows, e], backend)
        let hidden = try workspace.tensor("hidden", [rows, c.vitMLP], backend)
        let heads = c.vitHeads, headDim = e / heads
        let shape = AttentionShape(batch: batch, heads: heads, queries: n, keys: n, headDim: headDim)
        for i in 0..<c.vitLayers {
            let block = "image_encoder.blocks.\(i)"
            try backend.layerNorm(x, weights.norm(block + ".norm1"), rows: rows, out: normed)
            try backend.linear(normed, weights.linear(block + ".attn.qkv"), rows: rows, out: qkv)
            // qkv rows are [q | k | v], each split into heads of headDim contiguous channels.
            try backend.attention(
                q: .packed(qkv, rows: n, heads: heads, headDim: headDim, offset: 0, rowStride: 3 * e),
                k: .packed(qkv, rows: n, heads: heads, headDim: headDim, offset: e, rowStride: 3 * e),
                v: .packed(qkv, rows: n, heads: heads, headDim: headDim, offset: 2 * e, rowStride: 3 * e),
                out: .packed(attended, rows: n, heads: heads, headDim: headDim), shape)
            try backend.linear(attended, weights.linear(block + ".attn.out_proj"), rows: rows, out: x, residual: x)
            try backend.layerNorm(x, weights.norm(block + ".norm2"), rows: rows, out: normed)
            try backend.linear(normed, weights.linear(block + ".mlp.linear1"), rows: rows, out: hidden, activation: .gelu)
            try backend.linear(hidden, weights.linear(block + ".mlp.linear2"), rows: rows, out: x, residual: x)
        }
        try backend.layerNorm(x, weights.norm("image_encoder.norm"), rows: rows, out: x)
        return x
    }
}
