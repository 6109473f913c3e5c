import Kernels
import TestSupport
import XCTest

/// copyBox (window extraction and write-back) against the CPU reference.
final class CopyBoxTests: XCTestCase {
    func testBoxesInsideOutsideAndAccumulating() throws {
        let gpu = try VulkanTesting.backend()
        let cpu = CPUBackend()
        var random = SeededRandom(seed: 11)
        let srcSize = [7, 13, 11], dstSize = [5, 9, 17]
        let src = random.floats(srcSize.reduce(1, *)), dst = random.floats(dstSize.reduce(1, *))
        // Inside, straddling every border (negative origins read zeros), and entirely outside.
        let cases: [([Int], [Int], [Int])] = [
            ([1, 2, 3], [0, 1, 2], [4, 5, 6]),
            ([-2, -3, 5], [-1, 4, 10], [6, 8, 9]),
            ([5, 10, 8], [3, 6, 14], [5, 5, 5]),
            ([20, 0, 0], [0, 0, 0], [2, 2, 2]),
        ]
        for (srcOrigin, dstOrigin, extent) in cases {
            for accumulate in [false, true] {
                var results: [[Float]] = []
                for backend in [cpu, gpu] as [Backend] {
                    let s = try backend.tensor(src, shape: srcSize, dtype: .float32)
                    let d = try backend.tensor(dst, shape: dstSize, dtype: .float32)
                    try backend.copyBox(s, size: srcSize, origin: srcOrigin, to: d, size: dstSize, origin: dstOrigin,
                                        extent: extent, accumulate: accumulate)
                    results.append(try backend.read(d))
                }
                XCTAssertEqual(results[1], results[0], "box \(srcOrigin)->\(dstOrigin) \(extent) accumulate \(accumulate): exact")
            }
        }
    }

    /// A source larger than one binding (128 MiB on lavapipe): the box is read through depth-slice bindings.
    func testSourceLargerThanOneBinding() throws {
        let gpu = try VulkanTesting.backend()
        let plane = 512 * 512
        let depth = Int(gpu.device.info.maxStorageBufferRange) / 4 / plane + 9
        let size = [depth, 512, 512]
        let values = (0..<depth * plane).map { Float($0 % 9973) }
        let source = try gpu.tensor(values, shape: size, dtype: .float32)
        let extent = [20, 3, 5], origin = [depth - 15, 100, 507]
        let out = try gpu.empty(shape: extent)
        try gpu.copyBox(source, size: size, origin: origin, to: out, size: extent, origin: [0, 0, 0], extent: extent, accumulate: false)
        let result = try gpu.read(out)
        for d in 0..<20 { for h in 0..<3 { for w in 0..<5 {
            let from = [origin[0] + d, origin[1] + h, origin[2] + w]
            let expected = from[0] < depth && from[2] < 512 ? values[(from[0] * 512 + from[1]) * 512 + from[2]] : 0
            XCTAssertEqual(result[(d * 3 + h) * 5 + w], expected, "voxel \(from)")
        } } }
    }
}
