import Kernels

/// The CLIP text tower (pre-norm, causal, EOS pooling) and SegVol's dim_align projection.
final class TextEncoder {
    private let config: SegVolConfig
    private let weights: ModelWeights
    private let tokenizer: CLIPTokenizer?
    private let activation: Activation
    private static let root = "text_encoder.clip_text_model.text_model"

    init(config: SegVolConfig, weights: ModelWeights, tokenizer: CLIPTokenizer?) {
        self.config = config
        self.weights = weights
        self.tokenizer = tokenizer
        activation = Activation(clipName: config.clipActivation) ?? .quickGelu
    }

    /// Token ids of `A computerized tomography of a {name}.` for each name.
    func tokens(_ names: [String]) throws -> [[Int32]] {
        guard let tokenizer else { throw ModelError("this model has no tokenizer files, so it cannot take text prompts") }
        return try names.map { try tokenizer.encode(CLIPTokenizer.prompt(forCategory: $0)) }
    }

    /// One row of E values per name. The names are padded with EOS to one length and run as one batch;
    /// the causal mask keeps padding out of the EOS rows.
    func encode(_ names: [String], on backend: Backend) throws -> Tensor {
        try encode(ids: try tokens(names), on: backend)
    }

    /// As `encode(_:on:)`, from token ids (BOS ... EOS) directly.
    func encode(ids: [[Int32]], on backend: Backend) throws -> Tensor {
        let batch = ids.count, length = ids.map(\.count).max() ?? 0
        try require(length <= config.clipPositions, "prompt longer than \(config.clipPositions) tokens")
        let h = config.clipHidden, rows = batch * length
        let padded = ids.flatMap { $0.map(Int.init) + Array(repeating: Int(CLIPTokenizer.eos), count: length - $0.count) }

        let x = try backend.empty(shape: [rows, h])
        try backend.gatherRows(weights.tensor(Self.root + ".embeddings.token_embedding.weight"), indices: padded, rowSize: h, out: x)
        let positions = try backend.empty(shape: [length, h])
        try backend.copy(weights.tensor(Self.root + ".embeddings.position_embedding.weight"), sourceOffset: 0,
                         to: positions, destinationOffset: 0, count: length * h)
        try backend.binary(.add, x, positions, out: x)

        let scratch = PreNormBlock.Scratch(
            normed: try backend.empty(shape: [rows, h]), qkv: try backend.empty(shape: [rows, 3 * h]),
            attended: try backend.empty(shape: [rows, h]), hidden: try backend.empty(shape: [rows, config.clipMLP]))
        for i in 0..<config.clipLayers {
            let layer = WeightManifest.clipLayer(i)
            let block = PreNormBlock(norm1: weights.norm(layer + ".layer_norm1"), qkv: weights.linear(layer + ".self_attn.qkv"),
                                     outProjection: weights.linear(layer + ".self_attn.out_proj"),
                                     norm2: weights.norm(layer + ".layer_norm2"), fc1: weights.linear(layer + ".mlp.fc1"),
                                     fc2: weights.linear(layer + ".mlp.fc2"), activation: activation)
            try block.apply(x, batch: batch, length: length, heads: config.clipHeads, causal: true, scratch: scratch, on: backend)
        }
        let normed = scratch.normed
        try backend.layerNorm(x, weights.norm(Self.root + ".final_layer_norm"), rows: rows, out: normed)

        // Pool at the first EOS of each sequence (HF CLIP takes argmax of the ids: the first EOS).
        let eosRows = ids.enumerated().map { b, sequence in
            b * length + (sequence.firstIndex(of: CLIPTokenizer.eos) ?? sequence.count - 1)
        }
        let pooled = try backend.empty(shape: [batch, h])
        try backend.gatherRows(normed, indices: eosRows, rowSize: h, out: pooled)
        return try backend.linear(pooled, weights.linear("text_encoder.dim_align"), rows: batch)
    }
}
