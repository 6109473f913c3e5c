import Kernels
import TestSupport
import XCTest

/// Row gathers and permutations: Vulkan against the CPU reference. Both only move values, so every
/// comparison is exact.
final class IndexingTests: XCTestCase {
    let cpu = CPUBackend()

    func testGatherRowsMatchesCPU() throws {
        let gpu = try VulkanTesting.backend()
        var random = SeededRandom(seed: 11)
        for (rows, rowSize) in [(1, 1), (37, 13), (5, 769), (101, 7)] {
            let table = random.floats(rows * rowSize)
            // Repeats, the first and the last row, in no particular order.
            let indices = [rows - 1, 0, rows / 2, rows - 1] + (0..<5).map { _ in Int(random.next() % UInt64(rows)) }
            for dtype in [DType.float32, .float16] {
                let expected = try gather(cpu, table, rows: rows, rowSize: rowSize, indices: indices, dtype: dtype)
                let actual = try gather(gpu, table, rows: rows, rowSize: rowSize, indices: indices, dtype: dtype)
                XCTAssertEqual(actual, expected, "gather \(rows)x\(rowSize) \(dtype): a copy is exact")
            }
        }
    }

    private func gather(_ backend: Backend, _ table: [Float], rows: Int, rowSize: Int, indices: [Int], dtype: DType) throws -> [Float] {
        let t = try backend.tensor(table, shape: [rows, rowSize], dtype: dtype)
        let out = try backend.empty(shape: [indices.count, rowSize])
        try backend.gatherRows(t, indices: indices, rowSize: rowSize, out: out)
        return try backend.read(out)
    }

    func testGatherRejectsIndicesOutOfRange() throws {
        let gpu = try VulkanTesting.backend()
        for backend in [cpu, gpu] as [Backend] {
            let table = try backend.tensor([Float](repeating: 1, count: 12), shape: [4, 3], dtype: .float32)
            let out = try backend.empty(shape: [1, 3])
            for bad in [-1, 4] {
                XCTAssertThrowsError(try backend.gatherRows(table, indices: [bad], rowSize: 3, out: out), "\(backend.kind) index \(bad)")
            }
            XCTAssertThrowsError(try backend.gatherRows(table, indices: [0, 1], rowSize: 3, out: out), "\(backend.kind) out too small")
        }
    }

    /// A table past one binding (like CLIP's fp32 token embedding) is read window by window, including a
    /// row that straddles two windows.
    func testGatherTableLargerThanOneBinding() throws {
        let gpu = try VulkanTesting.backend()
        let rowSize = 769
        let window = Int(gpu.device.info.maxStorageBufferRange) / 4 / 1024 * 1024
        let rows = window / rowSize * 3 / 2
        let straddling = window / rowSize
        let table = try gpu.empty(shape: [rows, rowSize])
        try gpu.fill(table, value: -1)
        let marked = [0, straddling - 1, straddling, straddling + 1, rows - 1]
        for row in marked {
            let values = (0..<rowSize).map { Float(row) + Float($0) / 1024 }
            try gpu.copy(gpu.tensor(values, shape: [rowSize], dtype: .float32), sourceOffset: 0, to: table,
                         destinationOffset: row * rowSize, count: rowSize)
        }
        let indices = [straddling, rows - 1, 0, straddling + 1, straddling - 1, straddling]
        let out = try gpu.empty(shape: [indices.count, rowSize])
        try gpu.gatherRows(table, indices: indices, rowSize: rowSize, out: out)
        let expected = indices.flatMap { row in (0..<rowSize).map { Float(row) + Float($0) / 1024 } }
        XCTAssertEqual(try gpu.read(out), expected)
    }

    func testPermuteMatchesCPU() throws {
        let gpu = try VulkanTesting.backend()
        var random = SeededRandom(seed: 12)
        // Prime sizes (not multiples of the 32x32 tile), size-1 axes that collapse away, and the 2D
        // transpose of the model's (tokens, embedding) layout.
        let shapes = [[3, 5], [67, 45], [2048, 768], [7, 11, 13], [3, 1, 37, 1], [3, 5, 7, 11], [33, 1, 65],
                      [3, 5, 7, 11, 2], [2, 1, 3, 1, 5]]
        for shape in shapes {
            let values = random.floats(shape.reduce(1, *))
            let all = permutations(of: Array(0..<shape.count))
            // Every permutation up to 4D; every 7th (and the reversal) for 5D to keep the test short.
            let chosen = shape.count < 5 ? all : all.enumerated().filter { $0.offset % 7 == 0 }.map(\.element) + [all.last!]
            for permutation in chosen {
                let expected = try permute(cpu, values, shape: shape, permutation: permutation)
                for sharedTile in [false, true] {
                    let actual = try permute(gpu, values, shape: shape, permutation: permutation, sharedTile: sharedTile)
                    XCTAssertEqual(actual, expected, "permute \(shape) by \(permutation), shared tile \(sharedTile): exact")
                }
            }
        }
    }

    private func permute(_ backend: Backend, _ values: [Float], shape: [Int], permutation: [Int], sharedTile: Bool? = nil) throws -> [Float] {
        let x = try backend.tensor(values, shape: shape, dtype: .float32)
        let out = try backend.empty(shape: permutation.map { shape[$0] })
        if let gpu = backend as? VulkanBackend, let sharedTile {
            try gpu.permute(x, out: out, shape: shape, permutation: permutation, sharedTile: sharedTile)
        } else {
            try backend.permute(x, out: out, shape: shape, permutation: permutation)
        }
        return try backend.read(out)
    }

    private func permutations(of axes: [Int]) -> [[Int]] {
        guard axes.count > 1 else { return [axes] }
        return axes.flatMap { first in permutations(of: axes.filter { $0 != first }).map { [first] + $0 } }
    }

    /// A CT volume of 300x512x512 fp32 (300 MB, past one 128 MiB binding) transposed (D,H,W) -> (W,H,D):
    /// markers at sampled positions in every window must land where the index maps say; the rest stays 0.
    func testPermuteLargerThanOneBinding() throws {
        let gpu = try VulkanTesting.backend()
        let (depth, height, width) = (300, 512, 512)
        let count = depth * height * width
        let x = try gpu.empty(shape: [depth, height, width])
        try gpu.fill(x, value: 0)
        var random = SeededRandom(seed: 13)
        let positions = [0, count - 1, count / 2, width - 1, (depth - 1) * height * width]
            + (0..<59).map { _ in Int(random.next() % UInt64(count)) }
        let markers = try gpu.tensor((1...positions.count).map { Float($0) }, shape: [positions.count], dtype: .float32)
        for (k, position) in positions.enumerated() {
            try gpu.copy(markers, sourceOffset: k, to: x, destinationOffset: position, count: 1)
        }
        let out = try gpu.empty(shape: [width, height, depth])
        for sharedTile in [false, true] {
            try gpu.fill(out, value: -1)
            try gpu.permute(x, out: out, shape: [depth, height, width], permutation: [2, 1, 0], sharedTile: sharedTile)
            let result = try gpu.read(out)
            var marked = Set<Int>()
            for (k, position) in positions.enumerated() {
                let (d, h, w) = (position / (height * width), position / width % height, position % width)
                let target = (w * height + h) * depth + d
                marked.insert(target)
                XCTAssertEqual(result[target], Float(k + 1), "marker \(k) from (\(d), \(h), \(w)), shared tile \(sharedTile)")
            }
            for _ in 0..<1000 {
                let i = Int(random.next() % UInt64(count))
                if !marked.contains(i) { XCTAssertEqual(result[i], 0, "unmarked output \(i), shared tile \(sharedTile)") }
            }
        }
    }
}
