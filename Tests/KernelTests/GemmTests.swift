@testable import Kernels
import TestSupport
import VulkanRuntime
import XCTest

/// GEMM: every variant the device runs against the CPU reference on seeded random inputs with sizes
/// that are not multiples of the register blocks (16x8), the tiles (64) or of 4 (vec4 loads), with fp32
/// and fp16 storage of A, B and C.
final class GemmTests: XCTestCase {
    let cpu = CPUBackend()

    /// fp32 accumulation in another order: about sqrt(k)·2^-24 of max |ref| for k ≤ 1024.
    static let fp32Tolerance: Float = 1e-5
    /// The same bound for k up to 9000: sqrt(9000 / 1024) ≈ 3 times larger.
    static let longKTolerance: Float = 3e-5
    /// Cooperative matrices round A and B to fp16 (2^-11 relative each) before multiplying.
    static let fp16InputTolerance: Float = 1e-2

    /// Storage types of A, B and C (the residual has C's): each fp16 build alone, the transformer blocks'
    /// (fp16 A and weights into fp32 C, fp16 everything), and fp32.
    struct Storage: CustomStringConvertible {
        var a = DType.float32, b = DType.float32, c = DType.float32
        var description: String { [a, b, c].map { $0 == .float16 ? "h" : "f" }.joined() }
    }

    static let storages = [
        Storage(), Storage(b: .float16), Storage(a: .float16), Storage(c: .float16),
        Storage(a: .float16, b: .float16), Storage(a: .float16, b: .float16, c: .float16),
    ]

    /// Inputs are stored identically for both backends, so fp16 A or B adds no error; an fp16 C is rounded once by
    /// each (halfRoundingTolerance).
    static func tolerance(_ variant: GemmVariant, _ storage: Storage) -> Float {
        (variant == .cooperativeMatrix ? fp16InputTolerance : fp32Tolerance) + (storage.c == .float16 ? halfRoundingTolerance : 0)
    }

    struct Case {
        var shape: GemmShape
        var bias = false
        var residual = false
        /// The residual is `out` itself (in-place x += f(x)).
        var inPlace = false
    }

    static let cases: [Case] = [
        Case(shape: GemmShape(m: 37, n: 53, k: 29, activation: .gelu), bias: true),
        Case(shape: GemmShape(m: 1, n: 97, k: 128)),
        Case(shape: GemmShape(m: 130, n: 67, k: 64, activation: .relu), bias: true, residual: true),
        Case(shape: GemmShape(m: 70, n: 132, k: 100, activation: .quickGelu), bias: true),
        // One B for every batch item, then one per item.
        Case(shape: GemmShape(m: 19, n: 41, k: 36, batch: 3, strideB: 0), bias: true),
        Case(shape: GemmShape(m: 19, n: 41, k: 37, batch: 3), residual: true),
        // B as K x N: n % 4 != 0 (scalar loads), then n and k multiples of 4 (vec4 loads), odd k.
        Case(shape: GemmShape(m: 23, n: 45, k: 20, batch: 2, bLayout: .kn), bias: true),
        Case(shape: GemmShape(m: 33, n: 68, k: 28, bLayout: .kn, activation: .gelu), bias: true, residual: true),
        Case(shape: GemmShape(m: 17, n: 20, k: 13, batch: 2, bLayout: .kn, strideB: 0)),
        // Padded batch strides (not multiples of 4) and strideC > m·n.
        Case(shape: GemmShape(m: 9, n: 24, k: 32, batch: 2, strideA: 9 * 32 + 3, strideB: 24 * 32 + 1, strideC: 9 * 24 + 5),
             bias: true),
        // In place: out += gelu(A·Bᵀ + bias).
        Case(shape: GemmShape(m: 45, n: 70, k: 32, activation: .gelu), bias: true, residual: true, inPlace: true),
        Case(shape: GemmShape(m: 16, n: 8, k: 4, batch: 2), residual: true, inPlace: true),
        // The register kernel's straight-line epilogue (n and k multiples of 4, no activation but ReLU) on
        // sizes that are not multiples of its 32x16 block: bias, residual, ReLU, in place, batched, B as K x N.
        Case(shape: GemmShape(m: 45, n: 52, k: 36, activation: .relu), bias: true, residual: true),
        Case(shape: GemmShape(m: 33, n: 20, k: 64, batch: 2), bias: true, residual: true, inPlace: true),
        Case(shape: GemmShape(m: 50, n: 36, k: 24, bLayout: .kn), bias: true, residual: true),
        Case(shape: GemmShape(m: 7, n: 44, k: 48, batch: 3, bLayout: .kn, activation: .relu), bias: true),
        // GELU and quick_gelu after the straight-line GEMM as an in-place pass (fp32 C holding exactly the chunk):
        // batched with B as K x N and a bias, then without a bias; then padded batch strides of C, which keep the
        // rolled epilogue.
        Case(shape: GemmShape(m: 45, n: 36, k: 24, batch: 3, bLayout: .kn, activation: .gelu), bias: true),
        Case(shape: GemmShape(m: 41, n: 28, k: 44, activation: .quickGelu)),
        Case(shape: GemmShape(m: 9, n: 24, k: 32, batch: 2, activation: .gelu, strideC: 9 * 24 + 4), bias: true),
    ]

    func testVariantSelection() throws {
        let gpu = try VulkanTesting.backend()
        var info = gpu.device.info
        let shape = GemmShape(m: 2048, n: 768, k: 768)
        info.kind = .cpu
        XCTAssertEqual(GemmKernel.variant(for: shape, info: info, bDType: .float32), .registerBlocked)
        XCTAssertEqual(GemmKernel.variant(for: shape, info: info, bDType: .float16), .registerBlocked)
        info.kind = .discrete
        info.extensions.remove("VK_NV_cooperative_matrix")
        XCTAssertEqual(GemmKernel.variant(for: shape, info: info, bDType: .float16), .tiled)
        info.extensions.insert("VK_NV_cooperative_matrix")
        info.subgroupSize = 32
        info.shaderFloat16 = true
        info.storageBuffer16BitAccess = true
        info.maxComputeSharedMemorySize = 49152
        XCTAssertEqual(GemmKernel.variant(for: shape, info: info, bDType: .float16), .cooperativeMatrix)
        XCTAssertEqual(GemmKernel.variant(for: shape, info: info, bDType: .float32), .tiled,
                       "fp32 weights keep fp32 inputs")
        info.subgroupSize = 64
        XCTAssertEqual(GemmKernel.variant(for: shape, info: info, bDType: .float16), .tiled,
                       "the cooperative shader assumes 32-wide subgroups")
    }

    func testRegisterBlockedMatchesReference() throws {
        try checkVariant(.registerBlocked)
    }

    func testTiledMatchesReference() throws {
        try checkVariant(.tiled)
    }

    func testCooperativeMatrixMatchesReference() throws {
        try checkVariant(.cooperativeMatrix)
    }

    /// Every case again with bindings of 1000 elements: split by batch items, rows, columns (.nk B) and k (.kn B:
    /// fp32 partial sums in scratch, the last k chunk adds them before the activation and residual).
    func testSplitIntoChunksMatchesReference() throws {
        GemmKernel.bindingElementsOverride = 1000
        defer { GemmKernel.bindingElementsOverride = nil }
        let gpu = try VulkanTesting.backend()
        for variant in GemmVariant.allCases where GemmKernel.isSupported(variant, info: gpu.device.info) {
            try checkVariant(variant)
        }
    }

    /// The plan covers every (batch, row, column, k) exactly once with windows that fit, for equal limits and for
    /// operands whose limits differ (fp16 operands fit twice the elements of fp32 ones).
    func testChunkPlanCoversEveryProductOnce() throws {
        for testCase in Self.cases {
            let s = testCase.shape
            for (limitA, limitB, limitC) in [(300, 300, 300), (1000, 1000, 1000), (5000, 5000, 5000), (1000, 500, 2000), (2000, 1000, 500)] {
                let plan = try GemmChunkPlan(s, limitA: limitA, limitB: limitB, limitC: limitC)
                let limits = "\(s) limits \(limitA) \(limitB) \(limitC)"
                var seen = [Int](repeating: 0, count: s.batch * s.m * s.n * s.k)
                for chunk in plan.chunks {
                    XCTAssertLessThanOrEqual(chunk.aRange(s).count, limitA, limits)
                    XCTAssertLessThanOrEqual(chunk.bRange(s).count, limitB, limits)
                    XCTAssertLessThanOrEqual(chunk.cRange(s).count, limitC, limits)
                    for b in chunk.batches { for r in chunk.rows { for c in chunk.cols { for k in chunk.ks {
                        seen[((b * s.m + r) * s.n + c) * s.k + k] += 1
                    } } } }
                }
                XCTAssertEqual(Set(seen), [1], "\(limits): every product once")
                XCTAssertEqual(plan.splitsK, plan.chunks.contains { $0.ks != 0..<s.k })
            }
        }
    }

    /// At the device's real limit (plans only, nothing allocated): an A of 1.5 bindings of fp32 is split, the same
    /// A in fp16 is not; a split along k with an fp16 C of 1.5 fp32 bindings keeps C's windows within the fp32 limit
    /// of the partial sums laid out like C.
    func testChunkLimitsCountEachOperandsOwnElements() throws {
        let gpu = try VulkanTesting.backend()
        let fp32Limit = gpu.maxBindingElements(.float32)
        let tallA = GemmShape(m: fp32Limit / 1000 * 3 / 2, n: 8, k: 1000)
        XCTAssertGreaterThan(try GemmKernel.chunkPlan(gpu, a: .float32, b: .float32, out: .float32, tallA).chunks.count, 1)
        XCTAssertEqual(try GemmKernel.chunkPlan(gpu, a: .float16, b: .float32, out: .float32, tallA).chunks.count, 1,
                       "an fp16 A is counted in halves")
        // B (K x N) of 1.5 fp32 bindings splits k; C (M x N) is 1.5 fp32 bindings, one binding as fp16.
        let splitK = GemmShape(m: 6, n: fp32Limit / 4, k: 6, bLayout: .kn)
        let plan = try GemmKernel.chunkPlan(gpu, a: .float32, b: .float32, out: .float16, splitK)
        XCTAssertTrue(plan.splitsK)
        XCTAssertTrue(plan.chunks.allSatisfy { $0.cRange(splitK).count <= fp32Limit }, "C's windows fit the fp32 sums")
    }

    /// Operands over 128 MiB at the device's real limit (lavapipe's maxStorageBufferRange is 128 MiB):
    /// A with 44101 rows, then a K x N B of 8807 x 3853 with the output as its own residual.
    func testOperandsLargerThanOneBinding() throws {
        let gpu = try VulkanTesting.backend()
        let limitBytes = Int(gpu.device.info.maxStorageBufferRange)
        var random = SeededRandom(seed: 12)
        let cases = [
            Case(shape: GemmShape(m: 44101, n: 5, k: 772, activation: .gelu), bias: true, residual: true),
            Case(shape: GemmShape(m: 3, n: 3853, k: 8807, bLayout: .kn, activation: .quickGelu), bias: true, residual: true,
                 inPlace: true),
        ]
        for testCase in cases {
            let s = testCase.shape
            if max(s.m * s.k, s.n * s.k) * 4 <= limitBytes {
                print("GemmTests: \(gpu.deviceName) binds \(limitBytes) bytes; \(s) runs unsplit")
            }
            let a = random.floats(s.m * s.k), b = random.floats(s.n * s.k), bias = random.floats(s.n), c = random.floats(s.m * s.n)
            let expected = try run(cpu, testCase, a, b, bias, c, Storage())
            let actual = try run(gpu, testCase, a, b, bias, c, Storage())
            let error = relativeMaxError(actual, expected)
            XCTAssertLessThan(error, Self.longKTolerance, "\(s): error \(error)")
        }
    }

    /// Every build of every variant compiles, including those this device cannot run.
    func testAllShaderBuildsCompile() throws {
        let gpu = try VulkanTesting.backend()
        for variant in GemmVariant.allCases {
            for layout in [GemmShape.BLayout.nk, .kn] {
                for storage in Self.storages {
                    // Register-blocked: scalar loads, vec4 storage loads, texels, texels with the straight-line epilogue.
                    let loads = variant == .registerBlocked ? [(false, false, false), (true, false, false), (true, true, false), (true, true, true)]
                        : [(false, false, false)]
                    // Texels with B as N x K step k by four or eight: two texels per operand, or, where A and B are
                    // fp16, eight halves per texel.
                    let eightSteps = variant == .registerBlocked && layout == .nk
                    let packs = storage.a == .float16 && storage.b == .float16
                    for (vec4, texel, straight) in loads {
                        for steps8 in texel && eightSteps ? [false, true] : [false] {
                            let (file, defines) = GemmKernel.shader(variant, bLayout: layout, aHalf: storage.a == .float16,
                                                                    bHalf: storage.b == .float16, cHalf: storage.c == .float16,
                                                                    vec4: vec4, texel: texel, straight: straight,
                                                                    pack8: steps8 && packs, k8: steps8 && !packs)
                            XCTAssertNoThrow(try gpu.device.compileSPIRV(name: file, source: GemmKernel.source(file), defines: defines,
                                                                         optimize: GemmKernel.optimizesSPIRV(straight: straight)),
                                             "\(file) \(defines)")
                        }
                    }
                }
            }
        }
    }

    /// Which epilogue the register kernel took, read from the profiler's labels: GELU after the straight-line
    /// GEMM as a separate pass where C is one dense window, the rolled epilogue where C has padded batch strides.
    func testGeluRunsAsAPassAfterTheStraightLineGemm() throws {
        let gpu = try VulkanTesting.backend()
        GemmKernel.forcedVariant = .registerBlocked
        defer { GemmKernel.forcedVariant = nil }
        let dense = GemmShape(m: 45, n: 36, k: 24, batch: 3, activation: .gelu)
        let padded = GemmShape(m: 9, n: 24, k: 32, batch: 2, activation: .gelu, strideC: 9 * 24 + 4)
        for (shape, labels) in [(dense, ["gemm registerBlocked straight k8", "unary"]), (padded, ["gemm registerBlocked k8 gelu"])] {
            let a = try gpu.empty(shape: [shape.batch * shape.m * shape.k])
            let b = try gpu.empty(shape: [shape.batch * shape.n * shape.k])
            let out = try gpu.empty(shape: [(shape.batch - 1) * shape.strideC + shape.m * shape.n])
            XCTAssertEqual(try gpu.dispatchLabels { try gpu.gemm(a, b, bias: nil, residual: nil, out: out, shape) }, labels, "\(shape)")
        }
    }

    func testRejectsBadShapes() throws {
        let gpu = try VulkanTesting.backend()
        for backend in [cpu, gpu] as [Backend] {
            let a = try backend.empty(shape: [4, 8])
            let b = try backend.empty(shape: [5, 8])
            let out = try backend.empty(shape: [4, 5])
            XCTAssertNoThrow(try backend.gemm(a, b, bias: nil, residual: nil, out: out, GemmShape(m: 4, n: 5, k: 8)))
            XCTAssertThrowsError(try backend.gemm(a, b, bias: nil, residual: nil, out: out, GemmShape(m: 4, n: 5, k: 9)))
            XCTAssertThrowsError(try backend.gemm(a, b, bias: nil, residual: nil, out: out, GemmShape(m: 4, n: 6, k: 8)))
            XCTAssertThrowsError(try backend.gemm(a, b, bias: nil, residual: nil, out: out, GemmShape(m: 2, n: 5, k: 8, batch: 2)),
                                 "b is one matrix but strideB asks for two")
            XCTAssertThrowsError(try backend.gemm(a, b, bias: a, residual: nil, out: out, GemmShape(m: 4, n: 5, k: 8)))
            let short = try backend.empty(shape: [19])
            XCTAssertThrowsError(try backend.gemm(a, b, bias: nil, residual: short, out: out, GemmShape(m: 4, n: 5, k: 8)))
            if backend.supportsHalf {
                let halfOut = try backend.empty(shape: [4, 5], dtype: .float16)
                XCTAssertThrowsError(try backend.gemm(a, b, bias: nil, residual: out, out: halfOut, GemmShape(m: 4, n: 5, k: 8)),
                                     "the residual has out's dtype")
            }
        }
    }

    func testForcingAnUnsupportedVariantThrows() throws {
        let gpu = try VulkanTesting.backend()
        guard let unsupported = GemmVariant.allCases.first(where: { !GemmKernel.isSupported($0, info: gpu.device.info) }) else {
            throw XCTSkip("\(gpu.deviceName) supports every GEMM variant")
        }
        GemmKernel.forcedVariant = unsupported
        defer { GemmKernel.forcedVariant = nil }
        let a = try gpu.empty(shape: [4, 8]), b = try gpu.empty(shape: [5, 8]), out = try gpu.empty(shape: [4, 5])
        XCTAssertThrowsError(try gpu.gemm(a, b, bias: nil, residual: nil, out: out, GemmShape(m: 4, n: 5, k: 8)))
    }

    /// The register kernel in steps of eight along k (fp16 A and B: eight halves per texel; otherwise two texels
    /// per operand) gives, bit for bit, what steps of four give (the same sums in the same order), on sizes that are
    /// not multiples of the 32x16 block, with bias, residual and ReLU, batched, and with the rolled epilogue, for
    /// fp32, fp16 B and fp16 A and B; k % 8 != 0 keeps steps of four. The labels say which path ran.
    func testStepsOfEightEqualStepsOfFour() throws {
        let gpu = try VulkanTesting.backend()
        GemmKernel.forcedVariant = .registerBlocked
        defer { GemmKernel.forcedVariant = nil; GemmKernel.forcesStepsOfFour = false }
        var random = SeededRandom(seed: 23)
        let cases = [(Case(shape: GemmShape(m: 45, n: 52, k: 40, activation: .relu), bias: true, residual: true), true),
                     (Case(shape: GemmShape(m: 33, n: 20, k: 64, batch: 2), bias: true, residual: true, inPlace: true), true),
                     (Case(shape: GemmShape(m: 37, n: 53, k: 24, activation: .gelu), bias: true), true),
                     (Case(shape: GemmShape(m: 45, n: 52, k: 36), bias: true), false)]
        let storages = gpu.supportsHalf ? [Storage(), Storage(b: .float16), Storage(a: .float16, b: .float16)] : [Storage()]
        if !gpu.supportsHalf { print("GemmTests: \(gpu.deviceName) has no fp16 storage; fp16 builds not run") }
        for (testCase, eightSteps) in cases {
            let s = testCase.shape
            let a = random.floats(s.batch * s.m * s.k), b = random.floats(s.batch * s.n * s.k)
            let bias = random.floats(s.n), c = random.floats(s.batch * s.m * s.n)
            for storage in storages {
                // The label of steps of eight: one texel of eight halves, or two texels.
                let label = storage.a == .float16 && storage.b == .float16 ? "pack8" : "k8"
                // The same operands through both paths; the labels of the GEMM's own dispatches.
                func gpuRun(stepsOfFour: Bool) throws -> (labels: [String], out: [Float]) {
                    GemmKernel.forcesStepsOfFour = stepsOfFour
                    let ta = try gpu.tensor(a, shape: [a.count], dtype: storage.a), tb = try gpu.tensor(b, shape: [b.count], dtype: storage.b)
                    let tBias = try gpu.tensor(bias, shape: [s.n], dtype: .float32)
                    let out = try gpu.tensor(c, shape: [c.count], dtype: .float32)
                    let residual = testCase.inPlace ? out : testCase.residual ? try gpu.tensor(c.map { $0 * 2 }, shape: [c.count], dtype: .float32) : nil
                    let labels = try gpu.dispatchLabels { try gpu.gemm(ta, tb, bias: tBias, residual: residual, out: out, s) }
                    return (labels, try gpu.read(out))
                }
                let (labels, eight) = try gpuRun(stepsOfFour: false)
                let (fourLabels, four) = try gpuRun(stepsOfFour: true)
                XCTAssertEqual(labels.contains { $0.contains(label) }, eightSteps, "\(s) \(storage): \(labels)")
                XCTAssertFalse(fourLabels.contains { $0.contains("pack8") || $0.contains("k8") }, "\(s) \(storage): \(fourLabels)")
                XCTAssertTrue(eight == four, "\(s) \(storage): steps of eight differ from steps of four")
                let expected = try run(cpu, testCase, a, b, bias, c, storage)
                XCTAssertLessThan(relativeMaxError(eight, expected), Self.tolerance(.registerBlocked, storage), "\(s) \(storage)")
            }
        }
    }

    // MARK: Helpers

    private func checkVariant(_ variant: GemmVariant) throws {
        let gpu = try VulkanTesting.backend()
        guard GemmKernel.isSupported(variant, info: gpu.device.info) else {
            throw XCTSkip("\(variant) does not run on \(gpu.deviceName) (needs VK_NV_cooperative_matrix, fp16 and 32-wide subgroups)")
        }
        GemmKernel.forcedVariant = variant
        defer { GemmKernel.forcedVariant = nil }
        var random = SeededRandom(seed: 11)
        let storages = gpu.supportsHalf ? Self.storages : [Storage()]
        if !gpu.supportsHalf { print("GemmTests: \(gpu.deviceName) has no fp16 storage; fp16 builds not run") }
        for (index, testCase) in Self.cases.enumerated() {
            let s = testCase.shape
            let aValues = random.floats((s.batch - 1) * s.strideA + s.m * s.k)
            let bValues = random.floats((s.batch - 1) * s.strideB + s.n * s.k)
            let biasValues = random.floats(s.n)
            let cValues = random.floats((s.batch - 1) * s.strideC + s.m * s.n)
            for storage in storages {
                let expected = try run(cpu, testCase, aValues, bValues, biasValues, cValues, storage)
                let actual = try run(gpu, testCase, aValues, bValues, biasValues, cValues, storage)
                let error = relativeMaxError(actual, expected)
                XCTAssertLessThan(error, Self.tolerance(variant, storage), "\(variant) case \(index) \(s) storage \(storage): error \(error)")
            }
        }
    }

    private func run(_ backend: Backend, _ testCase: Case, _ a: [Float], _ b: [Float], _ bias: [Float], _ c: [Float],
                     _ storage: Storage) throws -> [Float] {
        let s = testCase.shape
        let ta = try backend.tensor(a, shape: [a.count], dtype: storage.a)
        let tb = try backend.tensor(b, shape: [b.count], dtype: storage.b)
        let tBias = testCase.bias ? try backend.tensor(bias, shape: [s.n], dtype: .float32) : nil
        // `out` starts as c: untouched gaps between padded batch items must stay as they were.
        let out = try backend.tensor(c, shape: [c.count], dtype: storage.c)
        let residual = testCase.inPlace ? out : testCase.residual ? try backend.tensor(c.map { $0 * 2 }, shape: [c.count], dtype: storage.c) : nil
        try backend.gemm(ta, tb, bias: tBias, residual: residual, out: out, s)
        return try backend.read(out)
    }
}
