import Kernels
import TestSupport
import XCTest

/// Element-wise ops and data movement: Vulkan against the CPU reference on seeded random inputs.
final class ElementwiseTests: XCTestCase {
    let cpu = CPUBackend()

    func testBinaryBroadcastAwkwardSizes() throws {
        let gpu = try VulkanTesting.backend()
        var random = SeededRandom(seed: 1)
        // Sizes that are not multiples of the work-group size; b broadcast over a trailing block, then each of its
        // elements repeated over `inner` (a per-slice or per-row factor of a 3D box).
        for (count, period, inner) in [(1, 1, 1), (257, 257, 1), (4099 * 3, 4099, 1), (7 * 13 * 17, 17, 1),
                                       (7 * 13 * 17, 13, 17), (7 * 13 * 17, 7, 13 * 17), (5 * 3 * 4099, 3, 4099)] {
            let a = random.floats(count), b = random.floats(period)
            for op in [BinaryOp.add, .multiply] {
                let expected = try run(cpu, a, b, op, inner: inner)
                let actual = try run(gpu, a, b, op, inner: inner)
                XCTAssertEqual(actual, expected, "binary \(op) \(count)/\(period)x\(inner): exact fp32 arithmetic")
            }
        }
        // The reference itself, on the smallest repeated case: b = [10, 20] over blocks of 3.
        XCTAssertEqual(try run(cpu, [Float](repeating: 1, count: 12), [10, 20], .multiply, inner: 3),
                       [10, 10, 10, 20, 20, 20, 10, 10, 10, 20, 20, 20])
    }

    func testBinaryRejectsABroadcastThatDoesNotTile() throws {
        let gpu = try VulkanTesting.backend()
        for backend in [cpu, gpu] as [Backend] {
            let a = try backend.empty(shape: [12]), b = try backend.empty(shape: [5])
            XCTAssertThrowsError(try backend.binary(.add, a, b, out: a, inner: 1))
            XCTAssertThrowsError(try backend.binary(.add, a, try backend.empty(shape: [2]), out: a, inner: 5))
        }
    }

    private func run(_ backend: Backend, _ a: [Float], _ b: [Float], _ op: BinaryOp, inner: Int) throws -> [Float] {
        let ta = try backend.tensor(a, shape: [a.count], dtype: .float32)
        let tb = try backend.tensor(b, shape: [b.count], dtype: .float32)
        let out = try backend.empty(shape: [a.count])
        try backend.binary(op, ta, tb, out: out, inner: inner)
        return try backend.read(out)
    }

    func testUnaryOps() throws {
        let gpu = try VulkanTesting.backend()
        var random = SeededRandom(seed: 2)
        let ops: [UnaryOp] = [.sigmoid, .relu, .gelu, .quickGelu, .affine(scale: 0.5, shift: -2), .clamp(lo: -1, hi: 3)]
        // Scalar loads for a count that is not whole vec4s, vec4 texels for one that is.
        for count in [10_007, 10_008] {
            let values = random.floats(count, -8, 8)
            for op in ops {
                let expected = try cpu.read(apply(cpu, op, values))
                let actual = try gpu.read(apply(gpu, op, values))
                // Transcendentals differ in the last bits between Swift's libm and the shader compiler's.
                XCTAssertLessThan(relativeMaxError(actual, expected), 2e-6, "unary \(op) \(count): tolerance 2e-6 of max |ref|")
            }
        }
    }

    private func apply(_ backend: Backend, _ op: UnaryOp, _ values: [Float]) throws -> Tensor {
        let x = try backend.tensor(values, shape: [values.count], dtype: .float32)
        let out = try backend.empty(shape: [values.count])
        try backend.unary(op, x, out: out)
        return out
    }

    func testCopyFillAndInPlaceChain() throws {
        let gpu = try VulkanTesting.backend()
        var random = SeededRandom(seed: 3)
        let a = random.floats(1000)
        for backend in [cpu, gpu] as [Backend] {
            let x = try backend.tensor(a, shape: [1000], dtype: .float32)
            let y = try backend.empty(shape: [1500])
            try backend.fill(y, value: 7)
            try backend.copy(x, sourceOffset: 100, to: y, destinationOffset: 3, count: 500)
            // In place: y = y * y, then y = y + y, recorded back to back (needs barriers between them).
            try backend.binary(.multiply, y, y, out: y)
            try backend.binary(.add, y, y, out: y)
            let result = try backend.read(y)
            XCTAssertEqual(result[0], 98)
            XCTAssertEqual(result[3], 2 * a[100] * a[100])
            XCTAssertEqual(result[502], 2 * a[599] * a[599])
            XCTAssertEqual(result[503], 98)
            XCTAssertEqual(result[1499], 98)
        }
    }

    func testHalfStorageRoundsLikeCPU() throws {
        let gpu = try VulkanTesting.backend()
        var random = SeededRandom(seed: 4)
        let values = random.floats(333, -100, 100)
        let expected = try cpu.read(cpu.tensor(values, shape: [333], dtype: .float16))
        let actual = try gpu.read(gpu.tensor(values, shape: [333], dtype: .float16))
        XCTAssertEqual(actual, expected, "fp16 storage rounds to nearest even on both backends")
    }

    /// A tensor larger than one binding (128 MiB on lavapipe) is processed in chunks, not refused.
    func testTensorLargerThanOneBinding() throws {
        let gpu = try VulkanTesting.backend()
        let limit = Int(gpu.device.info.maxStorageBufferRange) / 4
        let count = limit + limit / 2 + 333   // 1.5 bindings and a ragged tail
        let b: [Float] = [1, 2, 3]
        let a = (0..<count).map { Float($0 % 1000) }
        let ta = try gpu.tensor(a, shape: [count], dtype: .float32)
        let tb = try gpu.tensor(b, shape: [3], dtype: .float32)
        let out = try gpu.empty(shape: [count])
        try gpu.binary(.add, ta, tb, out: out)
        try gpu.unary(.affine(scale: 2, shift: 0), out, out: out)
        var result = try gpu.read(out)
        for i in [0, 1, 2, limit - 1, limit, limit + 1, count - 2, count - 1] {
            XCTAssertEqual(result[i], 2 * (Float(i % 1000) + b[i % 3]), "element \(i)")
        }
        // b's elements repeated over 7 elements each: the chunks past the first start inside a repeat.
        try gpu.binary(.add, ta, tb, out: out, inner: 7)
        result = try gpu.read(out)
        for i in [0, 6, 7, 20, 21, limit - 1, limit, limit + 1, count - 2, count - 1] {
            XCTAssertEqual(result[i], Float(i % 1000) + b[(i / 7) % 3], "element \(i), inner 7")
        }
    }
}
