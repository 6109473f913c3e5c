import Foundation
import Kernels

/// Model sizes. Every size in the graph comes from here; the published model's values are the defaults.
public struct SegVolConfig: Codable, Equatable, Sendable {
    public var spatialSize: [Int] = [32, 256, 256]
    public var patchSize: [Int] = [4, 16, 16]
    public var embedDim = 768
    public var vitLayers = 12
    public var vitHeads = 12
    public var vitMLP = 3072
    public var decoderDepth = 2
    public var decoderHeads = 8
    public var decoderMLP = 2048
    public var clipHidden = 512
    public var clipLayers = 12
    public var clipHeads = 8
    public var clipMLP = 2048
    public var clipActivation = "quick_gelu"
    public var clipVocabulary = 49408
    public var clipPositions = 77
    /// The decoder's cross attentions project to embedDim / this ("downsample 2").
    public var attentionDownsample = 2

    enum CodingKeys: String, CodingKey {
        case spatialSize = "spatial_size", patchSize = "patch_size", embedDim = "embed_dim"
        case vitLayers = "vit_layers", vitHeads = "vit_heads", vitMLP = "vit_mlp"
        case decoderDepth = "dec_depth", decoderHeads = "dec_heads", decoderMLP = "dec_mlp"
        case clipHidden = "clip_hidden", clipLayers = "clip_layers", clipHeads = "clip_heads", clipMLP = "clip_mlp"
        case clipActivation = "clip_act", clipVocabulary = "clip_vocab", clipPositions = "clip_positions"
        case attentionDownsample = "attention_downsample"
    }

    public init() {}

    /// Missing keys keep the published values.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SegVolConfig()
        spatialSize = try c.decodeIfPresent([Int].self, forKey: .spatialSize) ?? d.spatialSize
        patchSize = try c.decodeIfPresent([Int].self, forKey: .patchSize) ?? d.patchSize
        embedDim = try c.decodeIfPresent(Int.self, forKey: .embedDim) ?? d.embedDim
        vitLayers = try c.decodeIfPresent(Int.self, forKey: .vitLayers) ?? d.vitLayers
        vitHeads = try c.decodeIfPresent(Int.self, forKey: .vitHeads) ?? d.vitHeads
        vitMLP = try c.decodeIfPresent(Int.self, forKey: .vitMLP) ?? d.vitMLP
        decoderDepth = try c.decodeIfPresent(Int.self, forKey: .decoderDepth) ?? d.decoderDepth
        decoderHeads = try c.decodeIfPresent(Int.self, forKey: .decoderHeads) ?? d.decoderHeads
        decoderMLP = try c.decodeIfPresent(Int.self, forKey: .decoderMLP) ?? d.decoderMLP
        clipHidden = try c.decodeIfPresent(Int.self, forKey: .clipHidden) ?? d.clipHidden
        clipLayers = try c.decodeIfPresent(Int.self, forKey: .clipLayers) ?? d.clipLayers
        clipHeads = try c.decodeIfPresent(Int.self, forKey: .clipHeads) ?? d.clipHeads
        clipMLP = try c.decodeIfPresent(Int.self, forKey: .clipMLP) ?? d.clipMLP
        clipActivation = try c.decodeIfPresent(String.self, forKey: .clipActivation) ?? d.clipActivation
        clipVocabulary = try c.decodeIfPresent(Int.self, forKey: .clipVocabulary) ?? d.clipVocabulary
        clipPositions = try c.decodeIfPresent(Int.self, forKey: .clipPositions) ?? d.clipPositions
        attentionDownsample = try c.decodeIfPresent(Int.self, forKey: .attentionDownsample) ?? d.attentionDownsample
    }

    /// `model-config.json` in the folder if present, else the published sizes.
    public static func load(modelDirectory: URL) throws -> SegVolConfig {
        let url = modelDirectory.appendingPathComponent("model-config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return SegVolConfig() }
        let config: SegVolConfig
        do {
            config = try JSONDecoder().decode(SegVolConfig.self, from: Data(contentsOf: url))
        } catch {
            throw ModelError("\(url.path): not a valid model configuration (\(error))")
        }
        try config.validate(source: url.path)
        return config
    }

    func validate(source: String) throws {
        var problems: [String] = []
        if spatialSize.count != 3 || patchSize.count != 3 { problems.append("spatial_size and patch_size need 3 values") }
        else if zip(spatialSize, patchSize).contains(where: { $1 <= 0 || $0 % $1 != 0 }) {
            problems.append("spatial_size \(spatialSize) is not a multiple of patch_size \(patchSize)")
        }
        if embedDim % vitHeads != 0 { problems.append("embed_dim \(embedDim) is not a multiple of vit_heads \(vitHeads)") }
        if (embedDim / attentionDownsample) % decoderHeads != 0 || embedDim % decoderHeads != 0 {
            problems.append("the decoder widths are not multiples of dec_heads \(decoderHeads)")
        }
        if embedDim % 8 != 0 { problems.append("embed_dim \(embedDim) is not a multiple of 8") }
        if clipHidden % clipHeads != 0 { problems.append("clip_hidden \(clipHidden) is not a multiple of clip_heads \(clipHeads)") }
        if Activation(clipName: clipActivation) == nil { problems.append("clip_act \(clipActivation) is not one of quick_gelu, gelu, relu") }
        if !problems.isEmpty { throw ModelError("\(source): " + problems.joined(separator: "; ")) }
    }

    /// F = S / P, the feature grid.
    public var featureSize: [Int] { zip(spatialSize, patchSize).map { $0 / $1 } }
    public var tokenCount: Int { featureSize.reduce(1, *) }
    public var patchVolume: Int { patchSize.reduce(1, *) }
    public var spatialVolume: Int { spatialSize.reduce(1, *) }
    /// The decoder's low-resolution mask grid, 4F.
    public var lowResSize: [Int] { featureSize.map { $0 * 4 } }
}

/// A problem with a model folder or a request to the model, worded for the user.
public struct ModelError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Activation {
    /// The activation named in a CLIP config (`hidden_act`).
    init?(clipName: String) {
        switch clipName {
        case "quick_gelu": self = .quickGelu
        case "gelu": self = .gelu
        case "relu": self = .relu
        default: return nil
        }
    }
}
