import Foundation
import Kernels
import Model
import TestSupport
import XCTest

/// Loading model folders: every problem is reported as one clear error, never a crash.
final class ModelLoadingTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("segvol-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// A copy of a fixture folder whose weights file is replaced by `weights` (written as `fileName`).
    func folder(from fixture: String, weights: Data?, fileName: String = "pytorch_model.bin") throws -> URL {
        let source = Fixtures.model(fixture)
        let target = scratch.appendingPathComponent(fixture)
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        for file in ["vocab.json", "tokenizer.json", "model-config.json"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: target.appendingPathComponent(file))
        }
        if let weights { try weights.write(to: target.appendingPathComponent(fileName)) }
        return target
    }

    func loadError(_ folder: URL) -> String {
        do {
            _ = try SegVolModel(modelDirectory: folder, backend: CPUBackend())
            return "loaded"
        } catch {
            return "\(error)"
        }
    }

    func testHalfPrecisionCheckpointLoads() throws {
        let model = try SegVolModel(modelDirectory: Fixtures.model("box-fp16"), backend: CPUBackend())
        XCTAssertEqual(model.config.embedDim, 64)
        XCTAssertTrue(model.weights.unusedKeys.contains("mask_decoder.iou_prediction_head.layers.0.weight"))
    }

    /// fp16 stores the image encoder's Linear weights (patch embedding included) as fp16; the text tower and the
    /// mask decoder, and every bias and norm, stay fp32 (see `Precision`).
    func testHalfPrecisionStoresTheImageEncoderInFP16() throws {
        let weights = try SegVolModel(modelDirectory: Fixtures.model("text"), backend: CPUBackend(), precision: .fp16).weights
        for name in ["image_encoder.patch_embedding.patch_embeddings.1", "image_encoder.blocks.1.attn.qkv", "image_encoder.blocks.0.mlp.linear2"] {
            XCTAssertEqual(weights.linear(name).weight.dtype, .float16, name)
        }
        for name in ["text_encoder.dim_align", "text_encoder.clip_text_model.text_model.encoder.layers.0.self_attn.qkv", "mask_decoder.transformer.layers.0.self_attn.q_proj"] {
            XCTAssertEqual(weights.linear(name).weight.dtype, .float32, name)
        }
        XCTAssertEqual(weights.linear("image_encoder.blocks.0.attn.out_proj").bias?.dtype, .float32)
        XCTAssertEqual(weights.norm("image_encoder.blocks.0.norm1").weight.dtype, .float32)
    }

    func testTruncatedCheckpoint() throws {
        let bytes = try Data(contentsOf: Fixtures.model("text").appendingPathComponent("pytorch_model.bin"))
        let message = loadError(try folder(from: "text", weights: bytes.prefix(bytes.count * 6 / 10)))
        XCTAssertTrue(message.contains("pytorch_model.bin"), message)
    }

    func testNotACheckpoint() throws {
        let message = loadError(try folder(from: "text", weights: Data("hello, I am not a model".utf8)))
        XCTAssertTrue(message.contains("not a PyTorch or safetensors checkpoint"), message)
    }

    func testMissingWeightsFileAndFolder() throws {
        XCTAssertTrue(loadError(try folder(from: "text", weights: nil)).contains("no pytorch_model.bin"))
        let message = loadError(scratch.appendingPathComponent("nowhere"))
        XCTAssertTrue(message.contains("does not exist") && message.contains("BAAI/SegVol"), message)
    }

    /// A safetensors file with one key left out and one with a wrong shape: both named in one error.
    func testMissingAndMisshapenKeysAreAllReported() throws {
        let checkpoint = try Checkpoint(contentsOf: Fixtures.model("text").appendingPathComponent("pytorch_model.bin"))
        var tensors: [(String, [Int], [Float])] = []
        for name in checkpoint.names where !name.hasSuffix("position_ids") {
            guard let tensor = checkpoint[name] else { continue }
            if name == "model.image_encoder.norm.weight" { continue }
            if name == "model.mask_decoder.iou_token.weight" {
                tensors.append((name, [2, 32], [Float](repeating: 0, count: 64)))
                continue
            }
            tensors.append((name, tensor.shape, try tensor.floats()))
        }
        let message = loadError(try folder(from: "text", weights: safetensors(tensors), fileName: "model.safetensors"))
        XCTAssertTrue(message.contains("missing image_encoder.norm.weight"), message)
        XCTAssertTrue(message.contains("model.mask_decoder.iou_token.weight has shape [2, 32], expected [1, 64]"), message)
        XCTAssertTrue(message.contains("2 problems"), message)
    }

    func testSafetensorsCopyLoadsLikeTheOriginal() throws {
        let checkpoint = try Checkpoint(contentsOf: Fixtures.model("text").appendingPathComponent("pytorch_model.bin"))
        let tensors = try checkpoint.names.filter { !$0.hasSuffix("position_ids") }.map { name -> (String, [Int], [Float]) in
            let tensor = checkpoint[name]!
            return (name, tensor.shape, try tensor.floats())
        }
        let folder = try folder(from: "text", weights: safetensors(tensors), fileName: "model.safetensors")
        let model = try SegVolModel(modelDirectory: folder, backend: CPUBackend())
        let original = try SegVolModel(modelDirectory: Fixtures.model("text"), backend: CPUBackend())
        XCTAssertEqual(try model.backend.read(model.encodeText(["liver"])), try original.backend.read(original.encodeText(["liver"])))
    }

    /// A minimal safetensors writer (F32 only) for the tests.
    func safetensors(_ tensors: [(String, [Int], [Float])]) -> Data {
        var header: [String: Any] = [:]
        var body = Data()
        for (name, shape, values) in tensors {
            let begin = body.count
            values.withUnsafeBytes { body.append(contentsOf: $0) }
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [begin, body.count]]
        }
        var json = try! JSONSerialization.data(withJSONObject: header)
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        return data + json + body
    }
}
