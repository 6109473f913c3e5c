import Kernels

/// The 3D ViT: patch embedding (patches gathered into rows, then a Linear), position embeddings,
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
        // Patch embedding (MONAI's perceptron: patches flattened in (p0, p1, p2) order, then a Linear) as two permutes
        // that gather each patch into a row, and one GEMM that writes the tokens (a Conv3d with kernel = stride
        // computes the same, channels first, and needed a transpose after; the GEMM runs several times faster).
        let (f, p, s) = (c.featureSize, c.patchSize, c.spatialSize)
        let slabs = try workspace.tensor("patchSlabs", [batch * c.spatialVolume], backend)
        try backend.permute(volume, out: slabs, shape: [batch * f[0], p[0], f[1], p[1], s[2]], permutation: [0, 2, 1, 3, 4])
        let patchRows = try workspace.tensor("patchRows", [rows, c.patchVolume], backend)
        try backend.permute(slabs, out: patchRows, shape: [batch * f[0] * f[1], p[0] * p[1], f[2], p[2]], permutation: [0, 2, 1, 3])
        let x = try backend.empty(shape: [rows, e])
        try backend.linear(patchRows, weights.linear("image_encoder.patch_embedding.patch_embeddings.1"), rows: rows, out: x)
        try backend.binary(.add, x, weights.tensor("image_encoder.patch_embedding.position_embeddings"), out: x)

        let scratchType = weights.precision.imageEncoderStorage
        let scratch = PreNormBlock.Scratch(
            normed: try workspace.tensor("normed", [rows, e], dtype: scratchType, backend),
            qkv: try workspace.tensor("qkv", [rows, 3 * e], dtype: scratchType, backend),
            attended: try workspace.tensor("attended", [rows, e], dtype: scratchType, backend),
            hidden: try workspace.tensor("hidden", [rows, c.vitMLP], dtype: scratchType, backend))
        for i in 0..<c.vitLayers {
            let name = "image_encoder.blocks.\(i)"
            let block = PreNormBlock(norm1: weights.norm(name + ".norm1"), qkv: weights.linear(name + ".attn.qkv"),
                                     outProjection: weights.linear(name + ".attn.out_proj"), norm2: weights.norm(name + ".norm2"),
                                     fc1: weights.linear(name + ".mlp.linear1"), fc2: weights.linear(name + ".mlp.linear2"),
                                     activation: .gelu)
            try block.apply(x, batch: batch, length: n, heads: c.vitHeads, causal: false, scratch: scratch, on: backend)
        }
        try backend.layerNorm(x, weights.norm("image_encoder.norm"), rows: rows, out: x)
        return x
    }
}
