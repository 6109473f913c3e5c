import Foundation
import Kernels

/// The whole SegVol model on one backend: weights resident, one graph for the CPU reference and the GPU.
public final class SegVolModel {
    public let config: SegVolConfig
    public let backend: Backend
    public let weights: ModelWeights
    public let tokenizer: CLIPTokenizer?
    private let imageEncoder: ImageEncoder
    private let textEncoder: TextEncoder
    private let promptEncoder: PromptEncoder
    private let maskDecoder: MaskDecoder
    /// Constant decoder inputs, uploaded once: dense PE (N, E) and the no-mask embedding (E).
    private let densePE: Tensor
    private let noMask: Tensor
    /// Batches run through the text tower so far (each is a 12-layer CLIP forward; the pipeline runs one per case).
    public private(set) var textEncoderRuns = 0

    /// Loads a model folder: `pytorch_model.bin` (or `model.safetensors`), the CLIP tokenizer files and
    /// optionally `model-config.json`. `precision` fp16 stores the image encoder's weights and activations as fp16.
    public convenience init(modelDirectory: URL, backend: Backend, precision: Precision = .fp32) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: modelDirectory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelError("model folder \(modelDirectory.path) does not exist; download the published SegVol model (BAAI/SegVol on Hugging Face: pytorch_model.bin, vocab.json, merges or tokenizer.json) into a folder and pass it with --model")
        }
        let candidates = ["pytorch_model.bin", "model.safetensors"].map { modelDirectory.appendingPathComponent($0) }
        guard let weightsFile = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw ModelError("\(modelDirectory.path) holds no pytorch_model.bin or model.safetensors")
        }
        let config = try SegVolConfig.load(modelDirectory: modelDirectory)
        let tokenizer: CLIPTokenizer
        do {
            tokenizer = try CLIPTokenizer(modelDirectory: modelDirectory)
        } catch {
            throw ModelError("\(modelDirectory.path): \(error)")
        }
        let checkpoint = try Checkpoint(contentsOf: weightsFile)
        let weights = try ModelWeights(checkpoint: checkpoint, config: config, backend: backend, precision: precision)
        try self.init(config: config, weights: weights, tokenizer: tokenizer, backend: backend)
    }

    public init(config: SegVolConfig, weights: ModelWeights, tokenizer: CLIPTokenizer?, backend: Backend) throws {
        self.config = config
        self.backend = backend
        self.weights = weights
        self.tokenizer = tokenizer
        imageEncoder = ImageEncoder(config: config, weights: weights)
        textEncoder = TextEncoder(config: config, weights: weights, tokenizer: tokenizer)
        promptEncoder = PromptEncoder(config: config, weights: weights)
        maskDecoder = MaskDecoder(config: config, weights: weights)
        densePE = try backend.tensor(promptEncoder.densePE(), shape: [config.tokenCount, config.embedDim], dtype: .float32)
        noMask = weights.tensor("prompt_encoder.no_mask_embed.weight")
    }

    // MARK: Stages (public for tests and benchmarks)

    /// Image tokens (batch·N, E) after the final LayerNorm, for `volume` (batch, 1, D, H, W).
    public func encodeImage(_ volume: Tensor, batch: Int = 1) throws -> Tensor {
        try imageEncoder.encode(volume, batch: batch, on: backend)
    }

    /// Text embeddings (names, E) after dim_align.
    public func encodeText(_ names: [String]) throws -> Tensor {
        textEncoderRuns += 1
        return try textEncoder.encode(names, on: backend)
    }

    /// The given rows of text embeddings (names, E), in that order, as a (rows, E) tensor; recorded without a wait.
    public func textRows(_ text: Tensor, _ rows: [Int]) throws -> Tensor {
        let e = config.embedDim
        try require(text.shape.count == 2 && text.shape[1] == e && rows.allSatisfy { (0..<text.shape[0]).contains($0) },
                    "textRows: rows \(rows) not all in \(text.shape)")
        let selected = try backend.empty(shape: [rows.count, e])
        for (j, row) in rows.enumerated() {
            try backend.copy(text, sourceOffset: row * e, to: selected, destinationOffset: j * e, count: e)
        }
        return selected
    }

    /// Text embeddings from token ids (BOS ... EOS), for models without tokenizer files (benchmarks).
    public func encodeText(tokenIDs: [[Int32]]) throws -> Tensor {
        textEncoderRuns += 1
        return try textEncoder.encode(ids: tokenIDs, on: backend)
    }

    /// CLIP token ids of each name's prompt sentence.
    public func tokenIDs(_ names: [String]) throws -> [[Int32]] { try textEncoder.tokens(names) }

    /// Dense positional encoding in the published layout (E, F0, F1, F2).
    public func densePositionalEncoding() -> [Float] {
        let pe = promptEncoder.densePE(), n = config.tokenCount, e = config.embedDim
        return (0..<e * n).map { i in pe[(i % n) * e + i / n] }
    }

    /// The dense prompt embedding (E, F0, F1, F2): no_mask_embed broadcast over the grid.
    public func denseEmbedding() -> [Float] {
        promptEncoder.noMask.flatMap { Array(repeating: $0, count: config.tokenCount) }
    }

    /// Sparse prompt tokens (prompts, S, E) in the published order: points, box corners, text.
    /// All prompts must share one signature; `text` holds one row per prompt when they have text.
    public func sparseEmbeddings(_ prompts: [Prompt], text: Tensor?) throws -> (tokens: Tensor, count: Int) {
        guard let first = prompts.first else { throw ModelError("no prompts") }
        try require(prompts.allSatisfy { $0.signature == first.signature }, "prompts of one decoder batch must have the same kinds")
        let e = config.embedDim
        let hostRows = prompts.map(promptEncoder.sparseRows)
        let count = hostRows[0].count + (first.text != nil ? 1 : 0)
        try require(count > 0, "a prompt needs text, a box or points")
        var values = [Float](repeating: 0, count: prompts.count * count * e)
        for (b, rows) in hostRows.enumerated() {
            for (r, row) in rows.enumerated() {
                values.replaceSubrange((b * count + r) * e ..< (b * count + r + 1) * e, with: row)
            }
        }
        let tokens = try backend.tensor(values, shape: [prompts.count, count, e], dtype: .float32)
        if first.text != nil, let text {
            for b in 0..<prompts.count {
                try backend.copy(text, sourceOffset: b * e, to: tokens, destinationOffset: ((b + 1) * count - 1) * e, count: e)
            }
        }
        return (tokens, count)
    }

    /// Decoder logits (prompts, 1, 4F) for prompts of one signature over one image's tokens (N, E). `tokens`, when
    /// given, makes the prompt encoder's tokens (box corners, points, text token) in place of `prompts` and `text`;
    /// the text-similarity term always uses `text` (ZoomPipeline.PromptTokens.first).
    public func decode(image: Tensor, prompts: [Prompt], text: Tensor?,
                       tokens: (prompts: [Prompt], text: Tensor?)? = nil) throws -> Tensor {
        let source = tokens ?? (prompts, text)
        try require(source.prompts.count == prompts.count, "decode: \(source.prompts.count) token prompts for \(prompts.count) prompts")
        let (sparse, count) = try sparseEmbeddings(source.prompts, text: source.text)
        return try maskDecoder.decode(image: image, densePE: densePE, noMask: noMask, sparse: sparse, sparseCount: count,
                                      text: prompts[0].text != nil ? text : nil, batch: prompts.count, on: backend)
    }

    // MARK: Forward

    /// Logits at the spatial size, (prompts, D, H, W), for one image's tokens: categories with the same prompt
    /// kinds share a decoder batch; text for all categories is encoded in one batch, or taken from `text` (the
    /// `encodeText` rows of the prompts that have text, in order). `tokenPrompts`, when given (one per prompt), make
    /// the prompt encoder's tokens in place of `prompts` (see `decode`).
    public func segment(image: Tensor, prompts: [Prompt], tokenPrompts: [Prompt]? = nil, text: Tensor? = nil) throws -> Tensor {
        try require(!prompts.isEmpty && prompts.allSatisfy { !$0.isEmpty }, "every category needs a text, box or point prompt")
        let names = prompts.compactMap(\.text)
        if let text {
            try require(text.shape == [names.count, config.embedDim], "segment: text embeddings \(text.shape) for \(names.count) names")
        }
        let allText = names.isEmpty ? nil : try text ?? encodeText(names)
        var textRow: [Int: Int] = [:]
        for (i, p) in prompts.enumerated() where p.text != nil { textRow[i] = textRow.count }

        let s = config.spatialSize, voxels = config.spatialVolume
        let logits = try backend.empty(shape: [prompts.count] + s)
        var groups: [Prompt.Signature: [Int]] = [:]
        for (i, p) in prompts.enumerated() { groups[p.signature, default: []].append(i) }
        for members in groups.values.sorted(by: { $0[0] < $1[0] }) {
            var text: Tensor?
            if let allText, prompts[members[0]].text != nil {
                text = try textRows(allText, members.map { textRow[$0]! })
            }
            var tokens: (prompts: [Prompt], text: Tensor?)?
            if let tokenPrompts {
                try require(tokenPrompts.count == prompts.count, "segment: \(tokenPrompts.count) token prompts for \(prompts.count) prompts")
                let sources = members.map { tokenPrompts[$0] }
                let names = sources.compactMap(\.text)
                tokens = (sources, names.count == sources.count ? try encodeText(names) : nil)
            }
            let lowRes = try decode(image: image, prompts: members.map { prompts[$0] }, text: text, tokens: tokens)
            let resized = try backend.empty(shape: [members.count] + s)
            try backend.resize3d(lowRes, out: resized, channels: members.count, inSize: config.lowResSize, outSize: s,
                                 mode: .trilinear(alignCorners: false))
            for (j, i) in members.enumerated() {
                try backend.copy(resized, sourceOffset: j * voxels, to: logits, destinationOffset: i * voxels, count: voxels)
            }
        }
        return logits
    }

    /// One zoom-out forward: image encoder, then `segment`.
    public func forward(volume: Tensor, prompts: [Prompt]) throws -> Tensor {
        try segment(image: try encodeImage(volume), prompts: prompts)
    }
}
