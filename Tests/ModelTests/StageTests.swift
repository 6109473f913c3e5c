import Foundation
import Kernels
import Model
import TestSupport
import Volume
import XCTest

/// Every model stage against what the published code computed, on both backends (fixtures README).
final class StageTests: XCTestCase {
    /// The fixtures README's tolerance for a float32 engine: 1e-4 of the reference's largest magnitude.
    static let tolerance: Float = 1e-4

    struct Fixture {
        let folder: URL
        let names: [String]
        let prompts: [String]
        let boxes: [String: [Float]]
        let tokenIDs: [String: [Int32]]

        init(_ name: String) throws {
            folder = Fixtures.model(name)
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("result.json"))) as! [String: Any]
            names = json["names"] as! [String]
            prompts = json["prompts"] as! [String]
            let categories = json["categories"] as! [String: [String: Any]]
            boxes = categories.compactMapValues { ($0["box_zoom_out"] as? [Double])?.map(Float.init) }
            tokenIDs = (json["token_ids"] as! [String: [Int]]).mapValues { $0.map(Int32.init) }
        }

        func prompt(_ name: String) -> Prompt {
            Prompt(text: prompts.contains("text") ? name : nil, box: prompts.contains("box") ? boxes[name] : nil)
        }

        func npy(_ file: String) throws -> [Float] {
            try NPY.readFloat32(folder.appendingPathComponent(file)).data
        }
    }

    func assertClose(_ actual: [Float], _ expected: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, "\(what): size", file: file, line: line)
        guard actual.count == expected.count else { return }
        let error = relativeMaxError(actual, expected)
        XCTAssertLessThanOrEqual(error, Self.tolerance, "\(what): max error \(error) of max |ref|", file: file, line: line)
    }

    func runStages(_ fixtureName: String, backend: Backend) throws {
        let fixture = try Fixture(fixtureName)
        let model = try SegVolModel(modelDirectory: fixture.folder, backend: backend)
        let config = model.config

        for (name, ids) in fixture.tokenIDs {
            XCTAssertEqual(try model.tokenIDs([name])[0], ids, "\(fixtureName): token ids of \(name)")
        }

        let image = try backend.tensor(fixture.npy("zoom_out_image.npy"), shape: [1, 1] + config.spatialSize, dtype: .float32)
        let tokens = try model.encodeImage(image)
        assertClose(try backend.read(tokens), try fixture.npy("stage_image_encoder.npy"), "\(fixtureName)/\(backend.kind) image encoder")

        let first = fixture.prompt(fixture.names[0])
        var text: Tensor?
        if first.text != nil {
            text = try model.encodeText([fixture.names[0]])
            assertClose(try backend.read(text!), try fixture.npy("stage_text_embedding.npy"), "\(fixtureName)/\(backend.kind) text embedding")
        }
        let sparse = try model.sparseEmbeddings([first], text: text)
        assertClose(try backend.read(sparse.tokens), try fixture.npy("stage_sparse_embeddings.npy"), "\(fixtureName)/\(backend.kind) sparse embeddings")
        assertClose(model.denseEmbedding(), try fixture.npy("stage_dense_embeddings.npy"), "\(fixtureName) dense embeddings")
        assertClose(model.densePositionalEncoding(), try fixture.npy("stage_dense_pe.npy"), "\(fixtureName) dense PE")

        let lowRes = try model.decode(image: tokens, prompts: [first], text: text)
        assertClose(try backend.read(lowRes), try fixture.npy("stage_low_res_masks.npy"), "\(fixtureName)/\(backend.kind) low-res masks")
    }

    func testStagesOnCPU() throws {
        for name in Fixtures.fixtureFolders { try runStages(name, backend: CPUBackend()) }
    }

    func testStagesOnVulkan() throws {
        let gpu = try VulkanTesting.backend()
        for name in Fixtures.fixtureFolders { try runStages(name, backend: gpu) }
    }

    /// Several categories in one decoder batch give what each gives alone.
    func testBatchedCategoriesMatchSingle() throws {
        let fixture = try Fixture("text-box")
        for backend in [CPUBackend()] + ((try? VulkanTesting.backend()).map { [$0] } ?? []) as [Backend] {
            let model = try SegVolModel(modelDirectory: fixture.folder, backend: backend)
            let image = try backend.tensor(fixture.npy("zoom_out_image.npy"), shape: [1, 1] + model.config.spatialSize, dtype: .float32)
            let tokens = try model.encodeImage(image)
            let prompts = fixture.names.map(fixture.prompt)
            let batched = try backend.read(model.segment(image: tokens, prompts: prompts))
            let voxels = model.config.spatialVolume
            for (i, prompt) in prompts.enumerated() {
                let single = try backend.read(model.segment(image: tokens, prompts: [prompt]))
                assertClose(Array(batched[i * voxels ..< (i + 1) * voxels]), single, "\(backend.kind) category \(i) batched vs alone")
            }
        }
    }
}
