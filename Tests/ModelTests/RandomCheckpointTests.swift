import Foundation
import Kernels
import Model
import TestSupport
import XCTest

/// The random checkpoint `bench pipeline` writes loads as the same weights the in-memory random model has.
final class RandomCheckpointTests: XCTestCase {
    func testWrittenCheckpointLoadsAsTheSameWeights() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("segvol-random-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        let config = try SegVolConfig.load(modelDirectory: Fixtures.model("text"))
        try ModelWeights.writeRandomCheckpoint(seed: 7, config: config, to: file)

        let backend = CPUBackend()
        let loaded = try ModelWeights(checkpoint: Checkpoint(contentsOf: file), config: config, backend: backend)
        let generated = try ModelWeights(randomWithSeed: 7, config: config, backend: backend)
        XCTAssertEqual(loaded.unusedKeys, [])
        for name in ["image_encoder.patch_embedding.patch_embeddings.1.weight", "image_encoder.blocks.1.mlp.linear2.weight",
                     "text_encoder.clip_text_model.text_model.encoder.layers.1.self_attn.qkv.weight",
                     "mask_decoder.output_hypernetworks_mlps.0.layers.2.weight", "image_encoder.norm.weight"] {
            XCTAssertEqual(try backend.read(loaded.tensor(name)), try backend.read(generated.tensor(name)), name)
        }
        let gaussian = "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"
        XCTAssertEqual(loaded.host(gaussian), generated.host(gaussian))
    }
}
