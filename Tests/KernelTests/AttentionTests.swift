import Kernels
import TestSupport
import XCTest

/// Attention: every shader variant against the CPU reference on strided views with awkward sizes, with fp32 and
/// fp16 storage of Q, K, V and out.
final class AttentionTests: XCTestCase {
    let cpu = CPUBackend()
    // Online softmax (exp2, rescaled partial sums) and a different summation order than the reference:
    // observed errors up to 2e-6 of max |ref| (7 queries x 2053 keys); 1e-5 leaves room without hiding
    // indexing bugs (a wrong key or value row gives errors of order 1).
    let tolerance: Float = 1e-5

    /// Storage of (Q, K, V) and of out: fp32, the transformer blocks' fp16 everything, and each half alone.
    static let storages: [(qkv: DType, out: DType)] = [(.float32, .float32), (.float16, .float16), (.float16, .float32),
                                                       (.float32, .float16)]

    /// fp16 inputs are stored identically for both backends (no added error); an fp16 out is rounded once by each.
    func tolerance(out: DType) -> Float { tolerance + (out == .float16 ? halfRoundingTolerance : 0) }

    /// One test case: sizes plus how Q, K, V and out are laid out.
    struct Case {
        var batch: Int, heads: Int, queries: Int, keys: Int, headDim: Int
        var causal = false
        /// Q, K and V as slices of one packed qkv tensor (rows of [q | k | v], 3E wide).
        var packedQKV = false
        /// Where the output view starts inside a larger output tensor.
        var outOffset = 0
        /// One K and one V for every batch item (batch stride 0), as in the mask decoder's first layer.
        var sharedKeys = false
    }

    let cases: [Case] = [
        Case(batch: 2, heads: 3, queries: 1, keys: 1, headDim: 16),
        Case(batch: 1, heads: 3, queries: 7, keys: 2053, headDim: 48),
        Case(batch: 2, heads: 3, queries: 129, keys: 5, headDim: 24, outOffset: 5),
        Case(batch: 1, heads: 8, queries: 77, keys: 77, headDim: 64, causal: true, packedQKV: true),
        Case(batch: 2, heads: 3, queries: 150, keys: 150, headDim: 16, packedQKV: true, outOffset: 3),
        Case(batch: 1, heads: 2, queries: 33, keys: 70, headDim: 128),
        Case(batch: 1, heads: 2, queries: 200, keys: 200, headDim: 8, causal: true),
        Case(batch: 1, heads: 1, queries: 13, keys: 1, headDim: 37),
        Case(batch: 3, heads: 2, queries: 7, keys: 131, headDim: 24, sharedKeys: true),
        Case(batch: 2, heads: 2, queries: 45, keys: 9, headDim: 20, outOffset: 2, sharedKeys: true),
    ]


    func testSharedTileVariant() throws { try checkAll(.sharedTiles) }

    func testBlockedVariant() throws { try checkAll(.blocked) }

    /// Chunks of 16 query rows: every case but the smallest runs as several chunks (offsets, causal ends).
    func testBlockedVariantInChunks() throws {
        AttentionKernel.blockedChunkRows = 16
        defer { AttentionKernel.blockedChunkRows = nil }
        try checkAll(.blocked)
    }

    private func checkAll(_ variant: AttentionKernel.Variant) throws {
        let gpu = try VulkanTesting.backend()
        AttentionKernel.forcedVariant = variant
        defer { AttentionKernel.forcedVariant = nil }
        let storages = gpu.supportsHalf ? Self.storages : [(.float32, .float32)]
        if !gpu.supportsHalf { print("AttentionTests: \(gpu.deviceName) has no fp16 storage; fp16 builds not run") }
        for (index, testCase) in cases.enumerated() {
            for storage in storages {
                var random = SeededRandom(seed: UInt64(100 + index))
                let expected = try run(cpu, testCase, storage, &random)
                random = SeededRandom(seed: UInt64(100 + index))
                let actual = try run(gpu, testCase, storage, &random)
                let error = relativeMaxError(actual, expected)
                XCTAssertLessThan(error, tolerance(out: storage.out), "\(variant) \(testCase) \(storage): error \(error)")
            }
        }
    }

    /// The blocked scores step in steps of eight along the head dim (fp16 Q and K: eight halves per texel; fp32: two
    /// texels per operand) gives, bit for bit, what steps of four give (the same sums in the same order), in every
    /// case (offsets, packed qkv, shared keys, chunks); head dims that are not multiples of 8 keep steps of four.
    /// The pipeline names say which build ran.
    func testScoresStepsOfEightEqualStepsOfFour() throws {
        let gpu = try VulkanTesting.backend()
        AttentionKernel.forcedVariant = .blocked
        AttentionKernel.blockedChunkRows = 16
        defer { AttentionKernel.forcedVariant = nil; AttentionKernel.blockedChunkRows = nil; AttentionKernel.forcesStepsOfFour = false }
        let storages: [DType] = gpu.supportsHalf ? [.float32, .float16] : [.float32]
        if !gpu.supportsHalf { print("AttentionTests: \(gpu.deviceName) has no fp16 storage; fp16 builds not run") }
        for (index, testCase) in cases.enumerated() {
            for qkv in storages {
                // The define of steps of eight: one texel of eight halves, or two texels.
                let define = qkv == .float16 ? "PACK81" : "K81"
                var outputs: [[Float]] = [], eightSteps: [Bool] = []
                for stepsOfFour in [false, true] {
                    AttentionKernel.forcesStepsOfFour = stepsOfFour
                    var random = SeededRandom(seed: UInt64(100 + index))
                    var output: Tensor?
                    let labels = try gpu.dispatchLabels { output = try record(gpu, testCase, (qkv, .float32), &random) }
                    outputs.append(try gpu.read(try XCTUnwrap(output)))
                    eightSteps.append(labels.contains { $0.hasPrefix("attention_scores") && $0.contains(define) })
                }
                XCTAssertEqual(eightSteps, [testCase.headDim % 8 == 0, false], "\(testCase) \(qkv)")
                XCTAssertTrue(outputs[0] == outputs[1], "\(testCase) \(qkv): steps of eight differ from steps of four")
            }
        }
    }

    /// Builds the inputs from `random`, runs attention and returns the whole output tensor.
    private func run(_ backend: Backend, _ c: Case, _ storage: (qkv: DType, out: DType), _ random: inout SeededRandom) throws -> [Float] {
        try backend.read(try record(backend, c, storage, &random))
    }

    /// Builds the inputs from `random` and records attention; returns the whole output tensor, not yet read.
    private func record(_ backend: Backend, _ c: Case, _ storage: (qkv: DType, out: DType), _ random: inout SeededRandom) throws -> Tensor {
        let shape = AttentionShape(batch: c.batch, heads: c.heads, queries: c.queries, keys: c.keys, headDim: c.headDim,
                                   causal: c.causal)
        let width = c.heads * c.headDim
        let q, k, v: AttentionOperand
        if c.packedQKV {
            let qkv = try backend.tensor(random.floats(c.batch * c.queries * 3 * width, -2, 2),
                                         shape: [c.batch, c.queries, 3 * width], dtype: storage.qkv)
            q = .packed(qkv, rows: c.queries, heads: c.heads, headDim: c.headDim, offset: 0, rowStride: 3 * width)
            k = .packed(qkv, rows: c.queries, heads: c.heads, headDim: c.headDim, offset: width, rowStride: 3 * width)
            v = .packed(qkv, rows: c.queries, heads: c.heads, headDim: c.headDim, offset: 2 * width, rowStride: 3 * width)
        } else {
            // Head-major (batch, heads, rows, headDim) inputs, the other common layout.
            func headMajor(_ rows: Int, shared: Bool = false) throws -> AttentionOperand {
                let batches = shared ? 1 : c.batch
                let t = try backend.tensor(random.floats(batches * c.heads * rows * c.headDim, -2, 2),
                                           shape: [batches, c.heads, rows, c.headDim], dtype: storage.qkv)
                return AttentionOperand(t, rowStride: c.headDim, headStride: rows * c.headDim,
                                        batchStride: shared ? 0 : c.heads * rows * c.headDim)
            }
            q = try headMajor(c.queries)
            k = try headMajor(c.keys, shared: c.sharedKeys)
            v = try headMajor(c.keys, shared: c.sharedKeys)
        }
        let count = c.outOffset + c.batch * c.queries * width
        let outTensor = try backend.tensor([Float](repeating: 0, count: count), shape: [count], dtype: storage.out)
        let out = AttentionOperand.packed(outTensor, rows: c.queries, heads: c.heads, headDim: c.headDim, offset: c.outOffset)
        try backend.attention(q: q, k: k, v: v, out: out, shape)
        return outTensor
    }

    func testRejectsViewsPastTheTensor() throws {
        let gpu = try VulkanTesting.backend()
        for backend in [cpu, gpu] as [Backend] {
            let t = try backend.tensor([Float](repeating: 0, count: 64), shape: [64], dtype: .float32)
            let view = AttentionOperand.packed(t, rows: 4, heads: 2, headDim: 8, offset: 1)
            let shape = AttentionShape(batch: 1, heads: 2, queries: 4, keys: 4, headDim: 8)
            XCTAssertThrowsError(try backend.attention(q: view, k: view, v: view, out: view, shape))
            let half = try backend.tensor([Float](repeating: 0, count: 64), shape: [64], dtype: .float16)
            let whole = AttentionOperand.packed(t, rows: 4, heads: 2, headDim: 8)
            XCTAssertThrowsError(try backend.attention(q: whole, k: .packed(half, rows: 4, heads: 2, headDim: 8), v: whole, out: whole,
                                                       shape), "q, k and v share one dtype")
        }
    }
}
