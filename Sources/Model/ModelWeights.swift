import Foundation
import Kernels

/// The checkpoint's tensors the graph uses, checked against the configuration and uploaded once;
/// they stay resident on the backend for the life of the model.
public final class ModelWeights {
    public let config: SegVolConfig
    /// fp16 stores the image encoder's Linear weights as fp16 where the backend supports it (see `Precision`).
    public let precision: Precision
    public let checkpointURL: URL
    /// Checkpoint keys no module uses (listed with --verbose).
    public let unusedKeys: [String]
    private var tensors: [String: Tensor] = [:]
    private var hostValues: [String: [Float]] = [:]

    /// Reads, checks and uploads. Every missing or misshapen tensor is reported in one error.
    public convenience init(checkpoint: Checkpoint, config: SegVolConfig, backend: Backend, precision: Precision = .fp32) throws {
        let manifest = WeightManifest(config: config)
        // Published keys start with "model."; accept bare names too.
        var byName: [String: String] = [:]
        for key in checkpoint.names {
            byName[key.hasPrefix("model.") ? String(key.dropFirst("model.".count)) : key] = key
        }
        var problems: [String] = []
        for entry in manifest.entries {
            guard let key = byName[entry.name], let tensor = checkpoint[key] else {
                problems.append("missing \(entry.name) \(entry.shape)")
                continue
            }
            if tensor.shape != entry.shape {
                problems.append("\(key) has shape \(tensor.shape), expected \(entry.shape)")
            } else if tensor.dtype == .int64 {
                problems.append("\(key) is int64, expected floating point")
            }
        }
        guard problems.isEmpty else {
            let shown = problems.prefix(20).joined(separator: "\n  ")
            let more = problems.count > 20 ? "\n  ... and \(problems.count - 20) more" : ""
            throw ModelError("\(checkpoint.url.path) does not match the model configuration (\(problems.count) problems):\n  \(shown)\(more)")
        }
        let used = Set(manifest.entries.map(\.name))
        try self.init(config: config, source: checkpoint.url, unusedKeys: byName.keys.filter { !used.contains($0) }.sorted(),
                      backend: backend, precision: precision) { entry in
            guard let key = byName[entry.name], let tensor = checkpoint[key] else { throw ModelError("missing \(entry.name)") }
            return try tensor.floats()
        }
    }

    /// Uploads each manifest entry from `values`, one at a time so the host never holds all of them.
    init(config: SegVolConfig, source: URL, unusedKeys: [String], backend: Backend, precision: Precision,
         values: (WeightManifest.Entry) throws -> [Float]) throws {
        self.config = config
        self.precision = precision
        checkpointURL = source
        self.unusedKeys = unusedKeys
        for entry in WeightManifest(config: config).entries {
            let data = try values(entry)
            if entry.keepOnHost { hostValues[entry.name] = data }
            if entry.upload {
                let dtype: DType = entry.halfUnderFP16 ? precision.imageEncoderStorage : .float32
                tensors[entry.name] = try backend.tensor(data, shape: entry.shape, dtype: dtype)
            }
        }
        try fuseProjections(backend: backend)
    }

    /// CLIP's separate q, k, v projections become one (3H, H) matrix: one GEMM instead of three.
    private func fuseProjections(backend: Backend) throws {
        for layer in 0..<config.clipLayers {
            let prefix = WeightManifest.clipLayer(layer) + ".self_attn."
            var weight: [Float] = [], bias: [Float] = []
            for part in ["q", "k", "v"] {
                weight += hostValues.removeValue(forKey: prefix + part + "_proj.weight") ?? []
                bias += hostValues.removeValue(forKey: prefix + part + "_proj.bias") ?? []
            }
            let h = config.clipHidden
            tensors[prefix + "qkv.weight"] = try backend.tensor(weight, shape: [3 * h, h], dtype: .float32)
            tensors[prefix + "qkv.bias"] = try backend.tensor(bias, shape: [3 * h], dtype: .float32)
        }
    }

    /// A resident weight by its name without the "model." prefix (validated at load).
    public func tensor(_ name: String) -> Tensor {
        guard let tensor = tensors[name] else { preconditionFailure("weight \(name) was not loaded") }
        return tensor
    }

    /// Host copies of the small weights the prompt encoder computes with on the CPU.
    public func host(_ name: String) -> [Float] {
        guard let values = hostValues[name] else { preconditionFailure("weight \(name) has no host copy") }
        return values
    }

    public func linear(_ name: String) -> Linear {
        Linear(weight: tensor(name + ".weight"), bias: tensors[name + ".bias"])
    }

    public func norm(_ name: String) -> Norm {
        Norm(weight: tensor(name + ".weight"), bias: tensor(name + ".bias"))
    }
}

/// A Linear layer: weight (out, in), optional bias (out).
public struct Linear {
    public let weight: Tensor
    public let bias: Tensor?
    public var outFeatures: Int { weight.shape[0] }
    public var inFeatures: Int { weight.shape[1] }
}

/// LayerNorm affine parameters.
public struct Norm {
    public let weight: Tensor
    public let bias: Tensor
}

/// Every tensor the graph reads, with the shape the configuration implies.
struct WeightManifest {
    struct Entry {
        let name: String
        let shape: [Int]
        var upload = true
        var keepOnHost = false
        /// Stored as fp16 under `Precision.fp16`: the image encoder's Linear weights.
        var halfUnderFP16 = false
    }

    private(set) var entries: [Entry] = []

    static func clipLayer(_ i: Int) -> String { "text_encoder.clip_text_model.text_model.encoder.layers.\(i)" }

    init(config c: SegVolConfig) {
        let e = c.embedDim, h = c.clipHidden, inner = c.embedDim / c.attentionDownsample
        func linear(_ name: String, _ out: Int, _ input: Int, bias: Bool = true) {
            entries.append(Entry(name: name + ".weight", shape: [out, input], halfUnderFP16: name.hasPrefix("image_encoder.")))
            if bias { entries.append(Entry(name: name + ".bias", shape: [out])) }
        }
        func norm(_ name: String, _ shape: [Int]) {
            entries.append(Entry(name: name + ".weight", shape: shape))
            entries.append(Entry(name: name + ".bias", shape: shape))
        }
        func host(_ name: String, _ shape: [Int], upload: Bool = false) {
            entries.append(Entry(name: name, shape: shape, upload: upload, keepOnHost: true))
        }

        // Image encoder (MONAI ViT, perceptron patch embedding).
        linear("image_encoder.patch_embedding.patch_embeddings.1", e, c.patchVolume)
        entries.append(Entry(name: "image_encoder.patch_embedding.position_embeddings", shape: [1, c.tokenCount, e]))
        for i in 0..<c.vitLayers {
            let block = "image_encoder.blocks.\(i)"
            norm(block + ".norm1", [e])
            linear(block + ".attn.qkv", 3 * e, e, bias: false)
            linear(block + ".attn.out_proj", e, e)
            norm(block + ".norm2", [e])
            linear(block + ".mlp.linear1", c.vitMLP, e)
            linear(block + ".mlp.linear2", e, c.vitMLP)
        }
        norm("image_encoder.norm", [e])

        // CLIP text tower; q/k/v stay on the host until they are fused.
        let text = "text_encoder.clip_text_model.text_model"
        entries.append(Entry(name: text + ".embeddings.token_embedding.weight", shape: [c.clipVocabulary, h]))
        entries.append(Entry(name: text + ".embeddings.position_embedding.weight", shape: [c.clipPositions, h]))
        for i in 0..<c.clipLayers {
            let layer = WeightManifest.clipLayer(i)
            norm(layer + ".layer_norm1", [h])
            for part in ["q", "k", "v"] {
                host(layer + ".self_attn.\(part)_proj.weight", [h, h])
                host(layer + ".self_attn.\(part)_proj.bias", [h])
            }
            linear(layer + ".self_attn.out_proj", h, h)
            norm(layer + ".layer_norm2", [h])
            linear(layer + ".mlp.fc1", c.clipMLP, h)
            linear(layer + ".mlp.fc2", h, c.clipMLP)
        }
        norm(text + ".final_layer_norm", [h])
        linear("text_encoder.dim_align", e, h)

        // Prompt encoder: computed on the host from these small tensors.
        host("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", [3, e / 2])
        for i in 0..<4 { host("prompt_encoder.point_embeddings.\(i).weight", [1, e]) }
        host("prompt_encoder.not_a_point_embed.weight", [1, e])
        host("prompt_encoder.no_mask_embed.weight", [1, e], upload: true)

        // Mask decoder.
        let decoder = "mask_decoder"
        entries.append(Entry(name: decoder + ".iou_token.weight", shape: [1, e]))
        entries.append(Entry(name: decoder + ".mask_tokens.weight", shape: [4, e]))
        func attention(_ name: String, _ width: Int) {
            linear(name + ".q_proj", width, e)
            linear(name + ".k_proj", width, e)
            linear(name + ".v_proj", width, e)
            linear(name + ".out_proj", e, width)
        }
        for i in 0..<c.decoderDepth {
            let layer = decoder + ".transformer.layers.\(i)"
            attention(layer + ".self_attn", e)
            attention(layer + ".cross_attn_token_to_image", inner)
            attention(layer + ".cross_attn_image_to_token", inner)
            linear(layer + ".mlp.lin1", c.decoderMLP, e)
            linear(layer + ".mlp.lin2", e, c.decoderMLP)
            for n in 1...4 { norm(layer + ".norm\(n)", [e]) }
        }
        attention(decoder + ".transformer.final_attn_token_to_image", inner)
        norm(decoder + ".transformer.norm_final_attn", [e])
        let f2 = c.featureSize.map { $0 * 2 }
        entries.append(Entry(name: decoder + ".output_upscaling.0.weight", shape: [e, e / 4, 2, 2, 2]))
        entries.append(Entry(name: decoder + ".output_upscaling.0.bias", shape: [e / 4]))
        norm(decoder + ".output_upscaling.1", [e / 4] + f2)
        entries.append(Entry(name: decoder + ".output_upscaling.3.weight", shape: [e / 4, e / 8, 2, 2, 2]))
        entries.append(Entry(name: decoder + ".output_upscaling.3.bias", shape: [e / 8]))
        // Single-mask output: only the first mask token's hypernetwork is used.
        linear(decoder + ".output_hypernetworks_mlps.0.layers.0", e, e)
        linear(decoder + ".output_hypernetworks_mlps.0.layers.1", e, e)
        linear(decoder + ".output_hypernetworks_mlps.0.layers.2", e / 8, e)
        linear(decoder + ".txt_align_upscaled_embedding", e / 8, e)
    }
}

extension ModelWeights {
    /// Seeded random weights of the configured sizes (benchmarks: no download needed). Linear and
    /// embedding weights are N(0, 0.02)-like, LayerNorms are identity, so activations stay in range.
    public convenience init(randomWithSeed seed: UInt64, config: SegVolConfig, backend: Backend, precision: Precision = .fp32) throws {
        var random = RandomWeights(seed: seed)
        try self.init(config: config, source: URL(fileURLWithPath: "random-seed-\(seed)"), unusedKeys: [], backend: backend,
                      precision: precision) { random.values(for: $0) }
    }

    /// Writes the same seeded random weights as a `model.safetensors` checkpoint (benchmarks that run the whole
    /// command line need a model folder).
    public static func writeRandomCheckpoint(seed: UInt64, config: SegVolConfig, to url: URL) throws {
        let entries = WeightManifest(config: config).entries
        var random = RandomWeights(seed: seed)
        try SafeTensors.write(entries.map { ($0.name, $0.shape) }, to: url) { random.values(for: entries[$0]) }
    }
}

/// The values of seeded random weights, one manifest entry after another.
struct RandomWeights {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func values(for entry: WeightManifest.Entry) -> [Float] {
        let count = entry.shape.reduce(1, *)
        let isNormWeight = entry.name.contains("norm") && entry.name.hasSuffix(".weight") || entry.name.contains("output_upscaling.1.weight")
        if isNormWeight { return Array(repeating: 1, count: count) }
        if entry.name.hasSuffix(".bias") { return Array(repeating: 0, count: count) }
        return (0..<count).map { _ in next() }
    }

    /// SplitMix64, mapped to a uniform in [-0.035, 0.035) (std 0.02).
    private mutating func next() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return (Float(z >> 40) / Float(1 << 24) - 0.5) * 0.0693
    }
}
