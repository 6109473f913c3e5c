import Foundation
import Kernels
import Model
import TestSupport
import Volume
import XCTest

/// The zoom-in pass shares window embeddings between categories without changing any result.
final class ZoomPipelineTests: XCTestCase {
    let names = ["liver", "spleen", "aorta"]

    func run(_ prompts: [String], grid: ZoomPipeline.WindowGrid, on backend: Backend)
        throws -> (results: [ZoomPipeline.CategoryResult], statistics: ZoomPipeline.Statistics, textEncoderRuns: Int) {
        let model = try SegVolModel(modelDirectory: Fixtures.model("text"), backend: backend)
        let image = try NIfTI.read(Fixtures.data("ct/example_ct_sm.nii.gz"))
        let volume = try Preprocessing.run(stored: image.data, dims: image.header.dims, spatialSize: model.config.spatialSize)
        let pipeline = ZoomPipeline(model: model)
        pipeline.windowGrid = grid
        let results = try pipeline.run(volume, prompts: prompts.map { Prompt(text: $0) })
        return (results, pipeline.statistics, model.textEncoderRuns)
    }

    /// Several categories in one run give, bit for bit, what each gives alone; windows that coincide (with the
    /// fixture model every category's ROI is the whole crop) are encoded once.
    func testSharedEmbeddingsLeaveEveryCategoryUnchanged() throws {
        let backend = try VulkanTesting.backend()
        let together = try run(names, grid: .exact, on: backend)
        for (c, name) in names.enumerated() {
            let alone = try run([name], grid: .exact, on: backend)
            XCTAssertEqual(together.results[c].windows, alone.results[0].windows, name)
            XCTAssertTrue(together.results[c].logits == alone.results[0].logits, "\(name): logits differ from the category run alone")
        }
        let windows = together.results.map(\.windows)
        XCTAssertGreaterThan(windows[0], 0, "the fixture's ROI needs zoom-in windows")
        XCTAssertEqual(together.statistics.windowsDecoded, windows.reduce(0, +))
        XCTAssertEqual(together.statistics.windowsEncoded, windows[0], "coinciding windows are encoded once")
        XCTAssertEqual(together.textEncoderRuns, 1, "the zoom-in windows reuse the zoom-out pass's text embeddings")
    }

    /// Where the categories' regions coincide the shared grid is each category's own grid, so it must give exactly
    /// the exact mode's logits.
    func testSharedGridEqualsExactWhereTheRegionsCoincide() throws {
        let backend = try VulkanTesting.backend()
        let exact = try run(names, grid: .exact, on: backend)
        let shared = try run(names, grid: .shared, on: backend)
        for c in names.indices {
            XCTAssertEqual(shared.results[c].windows, exact.results[c].windows, names[c])
            XCTAssertTrue(shared.results[c].logits == exact.results[c].logits, "\(names[c]): shared grid differs from exact")
        }
        XCTAssertEqual(shared.statistics.windowsEncoded, exact.results[0].windows)
        XCTAssertEqual(shared.textEncoderRuns, 1, "the shared grid's windows reuse the zoom-out pass's text embeddings")
    }
}
