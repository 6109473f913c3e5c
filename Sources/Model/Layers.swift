import Kernels

/// The few compound steps the SegVol graph repeats, written once over the op interface.
extension Backend {
    /// out = act(x·Wᵀ + b) (+ residual) over `rows` rows; residual may be `out` (x += f(x)).
    func linear(_ x: Tensor, _ layer: Linear, rows: Int, out: Tensor, activation: Activation = .none,
                residual: Tensor? = nil) throws {
        try gemm(x, layer.weight, bias: layer.bias, residual: residual, out: out,
                 GemmShape(m: rows, n: layer.outFeatures, k: layer.inFeatures, activation: activation))
    }

    /// A new tensor with `linear` applied.
    func linear(_ x: Tensor, _ layer: Linear, rows: Int, activation: Activation = .none) throws -> Tensor {
        let out = try empty(shape: [rows, layer.outFeatures])
        try linear(x, layer, rows: rows, out: out, activation: activation)
        return out
    }

    /// LayerNorm over the last dimension with PyTorch's default eps.
    func layerNorm(_ x: Tensor, _ norm: Norm, rows: Int, out: Tensor) throws {
        try layerNorm(x, weight: norm.weight, bias: norm.bias, out: out, rows: rows, dim: norm.weight.count, eps: 1e-5)
    }

    /// a + b as a new tensor (b broadcast over a's leading dimensions).
    func adding(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        let out = try empty(shape: a.shape)
        try binary(.add, a, b, out: out)
        return out
    }
}

/// The pre-norm transformer block both the ViT and the CLIP tower use:
/// x += out_proj(attention(split(qkv(LN1(x))))); x += fc2(act(fc1(LN2(x)))).
/// `qkv` projects to [q | k | v] rows, each split into heads of contiguous channels.
/// Mixed precision (the image encoder under `Precision.fp16`): the scratch tensors may be fp16 while the residual
/// stream `x` stays fp32; LayerNorm reads fp32 x, and the GEMMs and attention sum in fp32, so only stores round.
struct PreNormBlock {
    let norm1: Norm, qkv: Linear, outProjection: Linear, norm2: Norm, fc1: Linear, fc2: Linear
    let activation: Activation

    /// Scratch tensors of one block size, shared by every block of a tower.
    struct Scratch {
        let normed: Tensor, qkv: Tensor, attended: Tensor, hidden: Tensor
    }

    /// Updates `x` (batch·length rows of width E) in place.
    func apply(_ x: Tensor, batch: Int, length: Int, heads: Int, causal: Bool, scratch: Scratch, on backend: Backend) throws {
        let rows = batch * length, width = x.count / rows, headDim = width / heads
        try backend.layerNorm(x, norm1, rows: rows, out: scratch.normed)
        try backend.linear(scratch.normed, qkv, rows: rows, out: scratch.qkv)
        try backend.attention(
            q: .packed(scratch.qkv, rows: length, heads: heads, headDim: headDim, offset: 0, rowStride: 3 * width),
            k: .packed(scratch.qkv, rows: length, heads: heads, headDim: headDim, offset: width, rowStride: 3 * width),
            v: .packed(scratch.qkv, rows: length, heads: heads, headDim: headDim, offset: 2 * width, rowStride: 3 * width),
            out: .packed(scratch.attended, rows: length, heads: heads, headDim: headDim),
            AttentionShape(batch: batch, heads: heads, queries: length, keys: length, headDim: headDim, causal: causal))
        try backend.linear(scratch.attended, outProjection, rows: rows, out: x, residual: x)
        try backend.layerNorm(x, norm2, rows: rows, out: scratch.normed)
        try backend.linear(scratch.normed, fc1, rows: rows, out: scratch.hidden, activation: activation)
        try backend.linear(scratch.hidden, fc2, rows: rows, out: x, residual: x)
    }
}

/// Scratch tensors kept between calls: the encoder reuses them block after block and window after
/// window; the recorder orders the reuse with barriers.
final class Workspace {
    private var tensors: [String: Tensor] = [:]

    func tensor(_ name: String, _ shape: [Int], dtype: DType = .float32, _ backend: Backend) throws -> Tensor {
        if let existing = tensors[name], existing.shape == shape { return existing }
        let tensor = try backend.empty(shape: shape, dtype: dtype)
        tensors[name] = tensor
        return tensor
    }
}
