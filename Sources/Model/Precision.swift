import Kernels

/// How the model stores numbers. `fp32`: everything. `fp16`: the image encoder, which does nearly all of the work,
/// runs the usual mixed-precision recipe: its Linear weights (patch embedding included) and its blocks' scratch
/// activations are fp16, while its residual stream, LayerNorm statistics, softmax and every sum stay fp32.
/// The text tower and the mask decoder stay fp32: they make the per-category vectors that every voxel's logit is
/// a dot product with, so their rounding shifts all logits at once, for a few percent of the work (measured on
/// the fixture models: fp16 there too gave text-box masks Dice 0.96 to 0.99 against fp32; the image encoder
/// alone in fp16, ≥ 0.998 on every fixture and both shared CTs).
/// On a backend without fp16 storage, `fp16` runs as `fp32`.
public enum Precision: String, CaseIterable, Sendable {
    case fp32, fp16

    /// Storage type of the image encoder's Linear weights and of its blocks' scratch activations.
    var imageEncoderStorage: DType { self == .fp16 ? .float16 : .float32 }
}
