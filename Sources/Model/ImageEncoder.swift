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
