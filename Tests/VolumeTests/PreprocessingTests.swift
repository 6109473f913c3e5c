import Foundation
import TestSupport
import Volume
import XCTest

final class PreprocessingTests: XCTestCase {
    /// The published preprocessing of example_ct_sm with the fixture's spatial size (16, 64, 64).
    func testMatchesOfficialFixture() throws {
        let ct = try NIfTI.read(Fixtures.data("ct/example_ct_sm.nii.gz"))
        let result = try Preprocessing.run(stored: ct.data, dims: ct.header.dims, spatialSize: [16, 64, 64])
        let (shape, expected) = try NPY.readFloat32(Fixtures.model("text").appendingPathComponent("preprocessed.npy"))
        XCTAssertEqual(result.shape, shape)
        XCTAssertEqual(result.shape, [30, 96, 121])
        // Tolerance 1e-5 relative: float rounding of the normalisation only.
        let error = relativeMaxError(result.data, expected)
        XCTAssertLessThan(error, 1e-5)
        print("preprocessing vs fixture: relative max error \(error)")

        // Every axis is at least the spatial size already, so there is no padding.
        XCTAssertEqual(result.paddedShape, [30, 101, 122])
        XCTAssertEqual(result.padBefore, [0, 0, 0])
        XCTAssertEqual(result.cropStart, [0, 0, 0])
        XCTAssertEqual(result.cropEnd, [30, 96, 121])
        assertCropBoxConsistent(result)
    }

    private func assertCropBoxConsistent(_ result: PreprocessedVolume, file: StaticString = #filePath, line: UInt = #line) {
        for axis in 0..<3 {
            XCTAssertEqual(result.cropEnd[axis] - result.cropStart[axis], result.shape[axis], file: file, line: line)
            XCTAssertGreaterThanOrEqual(result.cropStart[axis], 0, file: file, line: line)
            XCTAssertLessThanOrEqual(result.cropEnd[axis], result.paddedShape[axis], file: file, line: line)
        }
        XCTAssertEqual(result.data.count, result.shape.reduce(1, *), file: file, line: line)
    }

    /// The steps exactly as the spec lists them: full sort, materialised padding, then crop.
    private func reference(_ a: [Float], dims: [Int], spatialSize: [Int]) -> (shape: [Int], data: [Float], start: [Int]) {
        let values = a.map(Double.init)
        let threshold = values.reduce(0, +) / Double(values.count)
        let foreground = values.filter { $0 > threshold }.sorted()
        func percentile(_ p: Double) -> Double {
            let position = Double(foreground.count - 1) * (p / 100)
            let below = Int(position), fraction = position - Double(below)
            let above = min(below + 1, foreground.count - 1)
            return foreground[below] + (foreground[above] - foreground[below]) * fraction
        }
        let (low, high) = (percentile(0.05), percentile(99.95))
        let mean = foreground.reduce(0, +) / Double(foreground.count)
        let std = (foreground.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(foreground.count)).squareRoot()
        let normalised = values.map { (min(max($0, low), high) - mean) / max(std, 1e-8) }
        let (minimum, maximum) = (normalised.min() ?? 0, normalised.max() ?? 0)
        let scaled = normalised.map { ($0 - minimum) / max(maximum - minimum, 1e-8) }

        let shape = [dims[2], dims[1], dims[0]]
        let padded = zip(shape, spatialSize).map { max($0, $1) }
        let before = zip(padded, shape).map { ($0 - $1) / 2 }
        var volume = [Double](repeating: 0, count: padded.reduce(1, *))
        for k in 0..<shape[0] { for j in 0..<shape[1] { for i in 0..<shape[2] {
            volume[((k + before[0]) * padded[1] + j + before[1]) * padded[2] + i + before[2]] =
                scaled[(k * shape[1] + j) * shape[2] + i]
        } } }
        var lo = padded, hi = [0, 0, 0]
        for d in 0..<padded[0] { for h in 0..<padded[1] { for w in 0..<padded[2]
            where volume[(d * padded[1] + h) * padded[2] + w] > 0 {
            lo = [min(lo[0], d), min(lo[1], h), min(lo[2], w)]
            hi = [max(hi[0], d + 1), max(hi[1], h + 1), max(hi[2], w + 1)]
        } } }
        var crop: [Float] = []
        for d in lo[0]..<hi[0] { for h in lo[1]..<hi[1] { for w in lo[2]..<hi[2] {
            crop.append(Float(volume[(d * padded[1] + h) * padded[2] + w]))
        } } }
        return (zip(hi, lo).map { $0 - $1 }, crop, lo)
    }

    func testPaddingAndCropMatchStepByStepReference() throws {
        var random = SeededRandom(seed: 3)
        // Integer values with many repeats (as in CT), a dark border the crop removes, odd padding.
        let dims = [9, 6, 5]
        var stored = (0..<dims.reduce(1, *)).map { _ in (random.uniform(-50, 200)).rounded() }
        for k in 0..<dims[2] { for j in 0..<dims[1] { stored[(k * dims[1] + j) * dims[0]] = -1000 } }
        for i in 0..<dims[0] { for k in 0..<dims[2] { stored[(k * dims[1] + dims[1] - 1) * dims[0] + i] = -1000 } }
        let spatialSize = [8, 9, 12]
        let result = try Preprocessing.run(stored: stored, dims: dims, spatialSize: spatialSize)
        let expected = reference(stored, dims: dims, spatialSize: spatialSize)
        XCTAssertEqual(result.paddedShape, [8, 9, 12])
        XCTAssertEqual(result.padBefore, [1, 1, 1])
        XCTAssertEqual(result.shape, expected.shape)
        XCTAssertEqual(result.shape, [5, 5, 8])
        XCTAssertEqual(result.cropStart, expected.start)
        XCTAssertEqual(result.cropStart, [1, 1, 2])
        XCTAssertLessThan(relativeMaxError(result.data, expected.data), 1e-6)
        assertCropBoxConsistent(result)
    }

    func testPercentilesMatchSortedReferenceOnManyRandomVolumes() throws {
        var random = SeededRandom(seed: 11)
        for trial in 0..<20 {
            let dims = [Int(random.next() % 7) + 2, Int(random.next() % 7) + 2, Int(random.next() % 7) + 2]
            // Some trials quantise heavily, so selection meets long runs of equal values; every third has distinct
            // values in so narrow a range that they share one histogram bucket, so the selection inside it decides.
            let step: Float = trial % 2 == 0 ? 1 : 40
            let stored = (0..<dims.reduce(1, *)).map { _ in
                trial % 3 == 2 ? 1 + random.uniform(0, 1e-3) : (random.uniform(-500, 500) / step).rounded() * step
            }
            let result = try Preprocessing.run(stored: stored, dims: dims, spatialSize: [1, 1, 1])
            let expected = reference(stored, dims: dims, spatialSize: [1, 1, 1])
            XCTAssertEqual(result.shape, expected.shape)
            XCTAssertLessThan(relativeMaxError(result.data, expected.data), 1e-6, "trial \(trial) dims \(dims)")
        }
    }

    func testInvalidInputsThrow() {
        XCTAssertThrowsError(try Preprocessing.run(stored: [Float](repeating: 7, count: 8), dims: [2, 2, 2],
                                                   spatialSize: [2, 2, 2])) { error in
            XCTAssertTrue(error is PreprocessingError)
            XCTAssertTrue(String(describing: error).contains("constant"))
        }
        XCTAssertThrowsError(try Preprocessing.run(stored: [1, 2, 3], dims: [2, 2, 2], spatialSize: [2, 2, 2]))
        XCTAssertThrowsError(try Preprocessing.run(stored: [1, .nan, 3, 4], dims: [2, 2, 1], spatialSize: [1, 1, 1]))
        XCTAssertThrowsError(try Preprocessing.run(stored: [1, 2, 3, 4], dims: [2, 2, 1], spatialSize: [1, 1]))
    }
}
