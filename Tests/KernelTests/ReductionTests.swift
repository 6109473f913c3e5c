import Kernels
import TestSupport
import XCTest

/// Whole-tensor reductions and the bounding box: Vulkan against the CPU reference (which accumulates in
/// Double). Min, max and the box are exact; sum, mean and variance have fp32 rounding, bounded below.
final class ReductionTests: XCTestCase {
    let cpu = CPUBackend()
    /// Tree sums of fp32 partials: a few ulps (6e-8 each) over 3-4 levels; observed <= 6e-8 relative.
    let sumTolerance: Float = 1e-6
    /// Variance of data offset by +1000: values are shifted by x[0] before squaring, so the offset costs no
    /// digits; observed <= 2e-7 relative, and 1e-6 leaves margin for the fp32 means of shifted values.
    let varianceTolerance: Float = 1e-6

    func testReductionsMatchCPU() throws {
        let gpu = try VulkanTesting.backend()
        var random = SeededRandom(seed: 21)
        // Sizes around the 4096-item group and the 256-invocation tree, read as floats or (multiples of 4)
        // as vec4s; two passes from 4097 on (the larger-than-one-binding test below takes three).
        for count in [1, 7, 1023, 1025, 4096, 4097, 16388, 65537, 1_000_003, 1_000_004] {
            let centred = random.floats(count)
            let offset = centred.map { $0 + 1000 }
            for op in [ReduceOp.min, .max] {
                XCTAssertEqual(try reduce(gpu, op, centred), try reduce(cpu, op, centred), "\(op) of \(count): exact")
            }
            for op in [ReduceOp.sum, .mean] {
                let expected = try reduce(cpu, op, offset)
                XCTAssertLessThan(abs(try reduce(gpu, op, offset) - expected), sumTolerance * abs(expected), "\(op) of \(count)")
            }
            let expected = try reduce(cpu, .variance, offset)
            let actual = try reduce(gpu, .variance, offset)
            XCTAssertLessThanOrEqual(abs(actual - expected), varianceTolerance * expected, "variance of \(count): \(actual) vs \(expected)")
        }
    }

    func testVarianceOfConstantIsZero() throws {
        let gpu = try VulkanTesting.backend()
        XCTAssertEqual(try reduce(gpu, .variance, [Float](repeating: 1234.5, count: 10_007)), 0)
    }

    private func reduce(_ backend: Backend, _ op: ReduceOp, _ values: [Float]) throws -> Float {
        let x = try backend.tensor(values, shape: [values.count], dtype: .float32)
        let out = try backend.empty(shape: [1])
        try backend.reduce(op, x, out: out)
        return try backend.read(out)[0]
    }

    /// 1.5 bindings (about 50M values, 200 MB) offset by +1000 with spikes either side of the chunk edge;
    /// x[0] is itself a spike, so the variance's shift is an outlier there.
    func testReductionsLargerThanOneBinding() throws {
        let gpu = try VulkanTesting.backend()
        let limit = Int(gpu.device.info.maxStorageBufferRange) / 4
        let count = limit + limit / 2 + 332   // read as vec4s, with a ragged last group
        let base: Float = 1000.25
        let spikes: [(Int, Float)] = [(0, 3000), (limit - 1, -7.5), (limit, 1e5), (limit + 1, 512), (count - 1, -2000)]
        let x = try gpu.empty(shape: [count])
        try gpu.fill(x, value: base)
        for (index, value) in spikes {
            try gpu.copy(gpu.tensor([value], shape: [1], dtype: .float32), sourceOffset: 0, to: x, destinationOffset: index, count: 1)
        }
        let n = Double(count)
        let sum = Double(base) * (n - Double(spikes.count)) + spikes.reduce(0) { $0 + Double($1.1) }
        let mean = sum / n
        let squares = Double(count - spikes.count) * (Double(base) - mean) * (Double(base) - mean)
            + spikes.reduce(0) { $0 + (Double($1.1) - mean) * (Double($1.1) - mean) }
        let out = try gpu.empty(shape: [1])
        func run(_ op: ReduceOp) throws -> Double {
            try gpu.reduce(op, x, out: out)
            return Double(try gpu.read(out)[0])
        }
        XCTAssertEqual(try run(.min), -2000)
        XCTAssertEqual(try run(.max), 1e5)
        XCTAssertEqual(try run(.sum), sum, accuracy: Double(sumTolerance) * sum)
        XCTAssertEqual(try run(.mean), mean, accuracy: Double(sumTolerance) * mean)
        XCTAssertEqual(try run(.variance), squares / n, accuracy: Double(varianceTolerance) * squares / n)
    }

    func testBoundingBoxMatchesCPU() throws {
        let gpu = try VulkanTesting.backend()
        var random = SeededRandom(seed: 22)
        for size in [[1, 1, 1], [7, 13, 67], [5, 3, 130], [3, 9, 1]] {
            let (depth, height, width) = (size[0], size[1], size[2])
            let count = depth * height * width
            let background = [Float](repeating: -1, count: count)
            var volumes: [(String, [Float])] = [("empty", background), ("full", [Float](repeating: 1, count: count))]
            // A single foreground voxel at each corner.
            for corner in 0..<8 {
                let d = corner & 1 == 0 ? 0 : depth - 1, h = corner & 2 == 0 ? 0 : height - 1, w = corner & 4 == 0 ? 0 : width - 1
                var volume = background
                volume[(d * height + h) * width + w] = 0.5
                volumes.append(("corner \(corner)", volume))
            }
            // Random blobs: a few boxes of random extent with noisy values around the threshold.
            for blob in 0..<3 {
                var volume = background
                for _ in 0...blob {
                    let lo = size.map { Int(random.next() % UInt64($0)) }
                    let hi = zip(lo, size).map { $0 + Int(random.next() % UInt64($1 - $0)) }
                    for d in lo[0]...hi[0] { for h in lo[1]...hi[1] { for w in lo[2]...hi[2] {
                        volume[(d * height + h) * width + w] = random.uniform(-0.5, 1)
                    } } }
                }
                volumes.append(("blobs \(blob)", volume))
            }
            for (name, volume) in volumes {
                let expected = try box(cpu, volume, size)
                for subgroupReduce in [false, true] where !subgroupReduce || gpu.device.info.subgroupArithmetic {
                    let x = try gpu.tensor(volume, shape: size, dtype: .float32)
                    let out = try gpu.empty(shape: [6])
                    try gpu.boundingBox(x, size: size, threshold: 0, out: out, subgroupReduce: subgroupReduce)
                    XCTAssertEqual(try gpu.read(out), expected, "bbox \(size) \(name), subgroups \(subgroupReduce): exact")
                }
            }
        }
    }

    private func box(_ backend: Backend, _ values: [Float], _ size: [Int]) throws -> [Float] {
        let x = try backend.tensor(values, shape: size, dtype: .float32)
        let out = try backend.empty(shape: [6])
        try backend.boundingBox(x, size: size, threshold: 0, out: out)
        return try backend.read(out)
    }

    /// A 300x512x512 volume (300 MB) is scanned in chunks of depth slices; foreground only past the first.
    func testBoundingBoxLargerThanOneBinding() throws {
        let gpu = try VulkanTesting.backend()
        let size = [300, 512, 512]
        let x = try gpu.empty(shape: size)
        try gpu.fill(x, value: 0)
        let one = try gpu.tensor([1], shape: [1], dtype: .float32)
        for (d, h, w) in [(200, 17, 500), (299, 400, 3), (250, 0, 100)] {
            try gpu.copy(one, sourceOffset: 0, to: x, destinationOffset: (d * 512 + h) * 512 + w, count: 1)
        }
        let out = try gpu.empty(shape: [6])
        try gpu.boundingBox(x, size: size, threshold: 0, out: out)
        XCTAssertEqual(try gpu.read(out), [200, 0, 3, 299, 400, 500])
        try gpu.boundingBox(x, size: size, threshold: 1, out: out)
        XCTAssertEqual(try gpu.read(out), [-1, -1, -1, -1, -1, -1], "nothing is > 1")
    }
}
