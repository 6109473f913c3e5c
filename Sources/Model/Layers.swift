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

/// Scratch tensors kept between calls: the encoder reuses them block after block and window after
/// window; the recorder orders the reuse with barriers.
final class Workspace {
    private var tensors: [String: Tensor] = [:]

    func tensor(_ name: String, _ shape: [Int], _ backend: Backend) throws -> Tensor {
        if let existing = tensors[name], existing.shape == shape { return existing }
        let tensor = try backend.empty(shape: shape)
        tensors[name] = tensor
        return tensor
    }
}
