import VulkanRuntime

/// The GEMM shaders; `GemmKernel.variant(for:info:bDType:)` picks one per device, and the dtypes of A, B
/// (fp16 weights) and C (fp16 activations) select the half-storage build of whichever runs.
public enum GemmVariant: String, CaseIterable, Sendable {
    /// `gemm_registers.comp`: blocks of C per invocation, no shared memory (CPU devices: lavapipe).
    case registerBlocked
    /// `gemm_tiled.comp`: 64x64 tiles staged through shared memory (GPUs).
    case tiled
    /// `gemm_coopmat.comp`: VK_NV_cooperative_matrix with fp16 inputs and fp32 accumulation (tensor cores).
    case cooperativeMatrix
}

/// Host side of the GEMM shaders: variant choice, validation, push constants and dispatch sizes.
public enum GemmKernel {
    /// Runs this variant instead of the automatic choice (tests and benchmarks); nil = automatic.
    public static var forcedVariant: GemmVariant?
    /// Elements one binding may hold, instead of the device's limit: lets tests split small GEMMs into chunks.
    public static var bindingElementsOverride: Int?
    /// Steps the register kernel's k loop by four (one texel of A and of B per step) even where eight would do:
    /// two texels each, or one of eight fp16 values (tests and benchmarks compare the two).
    public static var forcesStepsOfFour = false

    /// The fastest variant for the device. Cooperative matrices round A to fp16, so they are used only
    /// when the weights are fp16 already (the caller chose half precision); fp32 weights keep fp32 math.
    public static func variant(for shape: GemmShape, info: DeviceInfo, bDType: DType) -> GemmVariant {
        if info.kind == .cpu { return .registerBlocked }
        if bDType == .float16 && isSupported(.cooperativeMatrix, info: info) { return .cooperativeMatrix }
        return .tiled
    }

    /// Whether `variant` can run on the device.
    public static func isSupported(_ variant: GemmVariant, info: DeviceInfo) -> Bool {
        switch variant {
        case .registerBlocked, .tiled:
            return true
        case .cooperativeMatrix:
            // The shader assumes four 32-wide subgroups per work group and 27.6 KiB of shared memory.
            return info.nvCooperativeMatrix && info.supportsHalf && info.subgroupSize == 32
                && info.maxComputeSharedMemorySize >= 28 * 1024
        }
    }

    /// Shader file and defines of one build of a variant; public so tests can compile every build,
    /// including those the device cannot run. `aHalf`, `bHalf`, `cHalf`: which operands are stored as fp16
    /// (the residual has C's type). Register-blocked only: `vec4` selects vec4 loads, `texel` (with vec4) texel
    /// loads of A and B, `straight` (with texel) the straight-line epilogue and its larger block, `aKM` (with texel
    /// and `.kn`) A read as K x M, `storeK2S2` (with aKM and straight) C scattered into a kernel-2 stride-2
    /// transposed convolution's output (ConvTranspose3dKernel), `pack8` (with texel, fp16 A and B, `.nk`) eight
    /// halves per fetch, `k8` (with texel and `.nk`, not with pack8) k in steps of eight, two texels per operand.
    public static func shader(_ variant: GemmVariant, bLayout: GemmShape.BLayout, aHalf: Bool = false, bHalf: Bool,
                              cHalf: Bool = false, vec4: Bool = false, texel: Bool = false, straight: Bool = false,
                              aKM: Bool = false, storeK2S2: Bool = false, pack8: Bool = false,
                              k8: Bool = false) -> (file: String, defines: [(String, String)]) {
        var defines = [("B_KN", bLayout == .kn ? "1" : "0"), ("A_HALF", aHalf ? "1" : "0"), ("B_HALF", bHalf ? "1" : "0"),
                       ("C_HALF", cHalf ? "1" : "0")]
        switch variant {
        case .registerBlocked:
            let block = registerBlock(straight: straight)
            defines += [("VEC4", vec4 ? "1" : "0"), ("TEXEL", texel ? "1" : "0"), ("STRAIGHT", straight ? "1" : "0"),
                        ("BM", String(block.m)), ("BN", String(block.n))]
            // Only where set, so the other builds keep their names (and Mesa's cached binaries).
            if aKM { defines.append(("A_KM", "1")) }
            if storeK2S2 { defines.append(("STORE_K2S2", "1")) }
            if pack8 { defines.append(("PACK8", "1")) }
            if k8 { defines.append(("K8", "1")) }
            return ("gemm_registers", defines)
        case .tiled:
            return ("gemm_tiled", defines)
        case .cooperativeMatrix:
            return ("gemm_coopmat", defines)
        }
    }

    /// The embedded GLSL of a shader file (includes resolved), for compile checks.
    public static func source(_ file: String) throws -> String { try ShaderLibrary.source(file + ".comp") }

    /// The block of C per invocation of gemm_registers.comp (BM x BN). lavapipe gathers every load lane by lane,
    /// so a larger block (more FMAs per load) runs faster; only the straight-line epilogue keeps its compile
    /// time short at 32x16 (the rolled one takes lavapipe over 10 s to compile there).
    static func registerBlock(straight: Bool) -> (m: Int, n: Int) { straight ? (32, 16) : (16, 8) }
    /// Whether shaderc optimizes a build's SPIR-V: not the 32x16 straight-line build, on which its optimizer
    /// takes about 18 s and lavapipe runs the unoptimized SPIR-V as fast (LLVM optimizes it anyway).
    public static func optimizesSPIRV(straight: Bool) -> Bool { !straight }
    static let registerLocalSize = 64
    /// Tile of C per work group in gemm_tiled.comp and gemm_coopmat.comp.
    static let tile = 64

    static func record(_ backend: VulkanBackend, _ a: Tensor, _ b: Tensor, bias: Tensor?, residual: Tensor?,
                       out: Tensor, _ shape: GemmShape) throws {
        try GemmShape.validate(a, b, bias: bias, residual: residual, out: out, shape)
        let info = backend.device.info
        let variant = forcedVariant ?? variant(for: shape, info: info, bDType: b.dtype)
        try require(isSupported(variant, info: info), "gemm: the \(variant) variant is not supported on \(info.name)")
        let plan = try chunkPlan(backend, a: a.dtype, b: b.dtype, out: out.dtype, shape)
        guard plan.splitsK else {
            for chunk in plan.chunks {
                try dispatch(backend, variant, a, b, bias: bias, residual: residual, partialSums: nil, out: out, shape, chunk,
                             activation: shape.activation)
            }
            return
        }
        // Split along k: the earlier k chunks accumulate fp32 sums in scratch laid out like C; the last one adds
        // them before the activation and the residual and writes C, so C is rounded once whatever its type.
        let sums = try backend.scratch("gemm.sum", count: out.count)
        for chunk in plan.chunks {
            let first = chunk.ks.lowerBound == 0, last = chunk.ks.upperBound == shape.k
            try dispatch(backend, variant, a, b, bias: first ? bias : nil, residual: last ? residual : nil,
                         partialSums: first ? nil : sums, out: last ? out : sums, shape, chunk,
                         activation: last ? shape.activation : .none)
        }
    }

    /// Chunks whose windows fit one binding, in elements of each operand's type; when the plan splits k, C's
    /// windows must also fit as fp32 (the partial sums are laid out like C).
    static func chunkPlan(_ backend: VulkanBackend, a: DType, b: DType, out: DType, _ shape: GemmShape) throws -> GemmChunkPlan {
        func limit(_ dtype: DType) -> Int { bindingElementsOverride ?? backend.maxBindingElements(dtype) }
        let plan = try GemmChunkPlan(shape, limitA: limit(a), limitB: limit(b), limitC: limit(out))
        guard plan.splitsK && out != .float32 else { return plan }
        return try GemmChunkPlan(shape, limitA: limit(a), limitB: limit(b), limitC: limit(.float32))
    }

    /// Records one chunk: each operand is bound as a window holding the chunk's elements.
    private static func dispatch(_ backend: VulkanBackend, _ variant: GemmVariant, _ a: Tensor, _ b: Tensor,
                                 bias: Tensor?, residual: Tensor?, partialSums: Tensor?, out: Tensor, _ shape: GemmShape,
                                 _ chunk: GemmChunk, activation: Activation) throws {
        let info = backend.device.info
        let (m, n, k) = (chunk.rows.count, chunk.cols.count, chunk.ks.count)
        let aWindow = BindingWindow(backend, a, start: chunk.aRange(shape).lowerBound, end: chunk.aRange(shape).upperBound, access: .read)
        let bWindow = BindingWindow(backend, b, start: chunk.bRange(shape).lowerBound, end: chunk.bRange(shape).upperBound, access: .read)
        let cRange = chunk.cRange(shape)
        let cWindow = BindingWindow(backend, out, start: cRange.lowerBound, end: cRange.upperBound, access: .write)
        let rWindow = residual.map { BindingWindow(backend, $0, start: cRange.lowerBound, end: cRange.upperBound, access: .read) }
        let sWindow = partialSums.map { BindingWindow(backend, $0, start: cRange.lowerBound, end: cRange.upperBound, access: .read) }

        // vec4 loads need every row of A and B, and both windows, to start on a multiple of 4 elements.
        let vec4 = k % 4 == 0 && shape.k % 4 == 0 && shape.strideA % 4 == 0 && shape.strideB % 4 == 0
            && aWindow.offset % 4 == 0 && bWindow.offset % 4 == 0 && (shape.bLayout == .nk || shape.n % 4 == 0)
        // The register kernel reads A and B as texels where the views allow (lavapipe's fast load path); fp16 A and
        // B as N x K, eight halves per texel where k, the strides and the windows allow, which halves the fetches.
        func texelPair(packed: Bool) -> (BufferBinding, BufferBinding)? {
            BindingWindow.texelPair(backend, (aWindow, a), (bWindow, b), packed: packed)
        }
        let eightHalves = a.dtype == .float16 && b.dtype == .float16 && shape.bLayout == .nk && !forcesStepsOfFour
            && k % 8 == 0 && shape.k % 8 == 0 && shape.strideA % 8 == 0 && shape.strideB % 8 == 0
            && aWindow.offset % 8 == 0 && bWindow.offset % 8 == 0
        let packedTexels = variant == .registerBlocked && vec4 && eightHalves ? texelPair(packed: true) : nil
        let texels = variant == .registerBlocked && vec4 ? packedTexels ?? texelPair(packed: false) : nil
        // Unpacked texels step k by eight (two per operand) where k allows: each sum then takes eight multiply-adds
        // between lavapipe's fetch calls instead of four, the same sums in the same order.
        let eightSteps = texels != nil && packedTexels == nil && shape.bLayout == .nk && k % 8 == 0 && !forcesStepsOfFour
        // Bindings 2 and 3 are float texels; an absent bias or residual is bound to A's range in that form.
        let placeholder = texels.map { pair -> BufferBinding in
            var binding = pair.0
            binding.texel = backend.texelFormat(a)
            return binding
        }
        // The straight-line epilogue reads bias and residual as vec4 texels and knows no activation but ReLU.
        var epilogueActivation = activation
        var epilogueTexels = placeholder.flatMap {
            straightEpilogueTexels(backend, bias: bias, residual: residual, rWindow: rWindow, partialSums: partialSums,
                                   activation: activation, chunk: chunk, shape: shape, placeholder: $0)
        }
        // GELU and quick_gelu, which lavapipe cannot compile into it in reasonable time, follow as an in-place pass
        // where the GEMM could otherwise take it (fp32 C, no residual after the activation, C's window holding
        // exactly this chunk and starting where a binding may): the ViT's MLP-up ran at 25 GFLOP/s with the rolled
        // epilogue, 35 straight.
        var deferred: UnaryOp?
        if epilogueTexels == nil, let placeholder, let op = activation.unaryOp, residual == nil, out.dtype == .float32,
           chunk.cols.count == shape.n, chunk.batches.count == 1 || (shape.strideC == shape.m * shape.n && chunk.rows.count == shape.m),
           cRange.lowerBound * 4 % Int(info.minStorageBufferOffsetAlignment) == 0,
           let plain = straightEpilogueTexels(backend, bias: bias, residual: nil, rWindow: nil, partialSums: partialSums,
                                              activation: .none, chunk: chunk, shape: shape, placeholder: placeholder) {
            epilogueTexels = plain
            epilogueActivation = .none
            deferred = op
        }
        let straight = epilogueTexels != nil
        let (file, defines) = shader(variant, bLayout: shape.bLayout, aHalf: a.dtype == .float16, bHalf: b.dtype == .float16,
                                     cHalf: out.dtype == .float16, vec4: vec4, texel: texels != nil, straight: straight,
                                     pack8: packedTexels != nil, k8: eightSteps)
        let pipeline = try backend.pipeline(file, defines: defines, bindings: 6,
                                            texelBindings: straight ? [0, 1, 2, 3] : texels != nil ? [0, 1] : [],
                                            optimize: optimizesSPIRV(straight: straight))

        let groupsXY: (x: Int, y: Int)
        let block = registerBlock(straight: straight)
        let blocksN = (n + block.n - 1) / block.n
        let blockCount = blocksN * ((m + block.m - 1) / block.m)
        switch variant {
        case .registerBlocked:
            let grid = backend.grid(blockCount, localSize: registerLocalSize)
            groupsXY = (grid.x, grid.y)
        case .tiled, .cooperativeMatrix:
            groupsXY = ((n + tile - 1) / tile, (m + tile - 1) / tile)
        }
        try require(groupsXY.x <= Int(info.maxComputeWorkGroupCount.0) && groupsXY.y <= Int(info.maxComputeWorkGroupCount.1),
                    "gemm: \(m)x\(n) needs \(groupsXY.x)x\(groupsXY.y) work groups, beyond the device limit")

        // Absent operands are bound to C's window (never read: the flags say so).
        let flags = (bias == nil ? 0 : 1) | (residual == nil ? 0 : 2) | (partialSums == nil ? 0 : 4)
        let bindings = [texels?.0 ?? aWindow.binding, texels?.1 ?? bWindow.binding,
                        epilogueTexels?.bias ?? bias.map { backend.binding($0, .read) } ?? cWindow.binding,
                        epilogueTexels?.residual ?? rWindow?.binding ?? cWindow.binding, cWindow.binding,
                        sWindow?.binding ?? cWindow.binding]
        let push = GemmPushConstants(
            m: m, n: n, k: k, strideA: shape.strideA, strideB: shape.strideB, strideC: shape.strideC,
            activation: Int(epilogueActivation.rawValue), flags: flags, blocksN: blocksN, blockCount: blockCount,
            lda: shape.k, ldc: shape.n, aOffset: aWindow.offset, bOffset: bWindow.offset, biasOffset: chunk.cols.lowerBound,
            residualOffset: rWindow?.offset ?? 0, cOffset: cWindow.offset, partialOffset: sWindow?.offset ?? 0)
        try dispatchBatches(backend, pipeline, bindings: bindings, push: push, groups: groupsXY, batches: chunk.batches.count,
                            label: "gemm \(variant.rawValue)\(straight ? " straight" : "")\(packedTexels != nil ? " pack8" : eightSteps ? " k8" : "")\(epilogueActivation == .none ? "" : " \(epilogueActivation)")")
        if let deferred {
            try UnaryKernel.record(backend, deferred, out, out: out, range: cRange)
        }
    }
}

/// The GEMM shaders' push constants: gemm_epilogue.glsl's `Params`, in its order; offsets in elements.
struct GemmPushConstants {
    var m = 0, n = 0, k = 0, strideA = 0, strideB = 0, strideC = 0, batchOffset = 0, activation = 0, flags = 0
    var blocksN = 0, blockCount = 0, lda = 0, ldc = 0, aOffset = 0, bOffset = 0, biasOffset = 0, residualOffset = 0
    var cOffset = 0, partialOffset = 0, inW = 0, inHW = 0

    var words: [UInt32] {
        [m, n, k, strideA, strideB, strideC, batchOffset, activation, flags, blocksN, blockCount, lda, ldc, aOffset, bOffset,
         biasOffset, residualOffset, cOffset, partialOffset, inW, inHW].map(\.word)
    }
}

extension GemmKernel {
    /// Records `batches` batch items in z, in several dispatches past the device's z limit (`batchOffset` set per one).
    static func dispatchBatches(_ backend: VulkanBackend, _ pipeline: ComputePipeline, bindings: [BufferBinding],
                                push: GemmPushConstants, groups: (x: Int, y: Int), batches: Int, label: String) throws {
        let maxZ = Int(backend.device.info.maxComputeWorkGroupCount.2)
        var push = push
        for first in stride(from: 0, to: batches, by: maxZ) {
            push.batchOffset = first
            try backend.recorder.dispatch(pipeline, bindings: bindings, push: push.words,
                                          groups: (groups.x, groups.y, min(maxZ, batches - first)), label: label)
        }
    }
}

extension Activation {
    /// The element-wise op that applies GELU or quick_gelu after the GEMM; nil for the others.
    var unaryOp: UnaryOp? {
        switch self {
        case .gelu: return .gelu
        case .quickGelu: return .quickGelu
        case .none, .relu: return nil
        }
    }
}

extension GemmKernel {
    /// Texel bindings of bias and residual for the straight-line epilogue (absent ones get A's, never read),
    /// or nil where it cannot run: an activation other than ReLU, partial sums, or rows, offsets or views
    /// that are not whole vec4s.
    fileprivate static func straightEpilogueTexels(_ backend: VulkanBackend, bias: Tensor?, residual: Tensor?,
                                                   rWindow: BindingWindow?, partialSums: Tensor?, activation: Activation,
                                                   chunk: GemmChunk, shape: GemmShape,
                                                   placeholder: BufferBinding) -> (bias: BufferBinding, residual: BufferBinding)? {
        guard partialSums == nil, activation == .none || activation == .relu,
              chunk.cols.count % 4 == 0, chunk.cols.lowerBound % 4 == 0, shape.n % 4 == 0, shape.strideC % 4 == 0 else { return nil }
        var biasTexels: BufferBinding?
        if let bias {
            guard bias.count % 4 == 0, backend.texelReadable(bias) else { return nil }
            biasTexels = backend.texelBinding(bias)
        }
        var residualTexels: BufferBinding?
        if let residual, let rWindow {
            guard rWindow.offset % 4 == 0, let texels = rWindow.texelBinding(backend, residual) else { return nil }
            residualTexels = texels
        }
        return (biasTexels ?? placeholder, residualTexels ?? placeholder)
    }
}

/// Ranges of batch items, rows of C, columns of C and k of one sub-GEMM.
struct GemmChunk: Equatable {
    var batches: Range<Int>, rows: Range<Int>, cols: Range<Int>, ks: Range<Int>

    /// Elements of A the chunk reads (A is M x K per batch item, rows of `shape.k`).
    func aRange(_ s: GemmShape) -> Range<Int> {
        let first = batches.lowerBound * s.strideA + rows.lowerBound * s.k + ks.lowerBound
        return first..<(first + (batches.count - 1) * s.strideA + (rows.count - 1) * s.k + ks.count)
    }

    /// Elements of B: rows of k values for `.nk` (split by columns), rows of n values for `.kn` (split by k).
    func bRange(_ s: GemmShape) -> Range<Int> {
        let first: Int, span: Int
        switch s.bLayout {
        case .nk:
            first = batches.lowerBound * s.strideB + cols.lowerBound * s.k
            span = (cols.count - 1) * s.k + s.k
        case .kn:
            first = batches.lowerBound * s.strideB + ks.lowerBound * s.n
            span = (ks.count - 1) * s.n + s.n
        }
        return first..<(first + (batches.count - 1) * s.strideB + span)
    }

    /// Elements of C (and of the residual, laid out like C).
    func cRange(_ s: GemmShape) -> Range<Int> {
        let first = batches.lowerBound * s.strideC + rows.lowerBound * s.n + cols.lowerBound
        return first..<(first + (batches.count - 1) * s.strideC + (rows.count - 1) * s.n + cols.count)
    }
}

/// How a GEMM is cut so that every operand's window fits one binding (maxStorageBufferRange): whole when it
/// fits (the usual case), else by batch items, then by columns of a `.nk` B or k of a `.kn` B, then by rows.
/// Limits are in elements of each operand's type; C's covers the residual (same layout and type).
struct GemmChunkPlan {
    let chunks: [GemmChunk]
    let splitsK: Bool

    init(_ s: GemmShape, limitA: Int, limitB: Int, limitC: Int) throws {
        let whole = GemmChunk(batches: 0..<s.batch, rows: 0..<s.m, cols: 0..<s.n, ks: 0..<s.k)
        func fits(_ c: GemmChunk) -> Bool {
            c.aRange(s).count <= limitA && c.bRange(s).count <= limitB && c.cRange(s).count <= limitC
        }
        func pieces(_ total: Int, _ size: Int) -> [Range<Int>] {
            stride(from: 0, to: total, by: size).map { $0..<min($0 + size, total) }
        }
        if fits(whole) {
            chunks = [whole]
            splitsK = false
            return
        }
        // Batch items per chunk: as many as fit whole, else one at a time.
        var item = whole
        item.batches = 0..<1
        var batchSize = 1
        if fits(item) {
            let spare = [(limitA - item.aRange(s).count, s.strideA), (limitB - item.bRange(s).count, s.strideB),
                         (limitC - item.cRange(s).count, s.strideC)]
            batchSize = min(s.batch, spare.map { $0.1 > 0 ? $0.0 / $0.1 + 1 : s.batch }.min()!)
        }
        // Columns (.nk) or k (.kn) so that one item's B fits; k stays a multiple of 4 for vec4 loads.
        var cols = s.n, ks = s.k
        if item.bRange(s).count > limitB {
            switch s.bLayout {
            case .nk: cols = limitB / s.k
            case .kn: ks = limitB / s.n / 4 * 4
            }
        }
        // Rows so that A's and C's windows fit.
        let rowsA = (limitA - ks) / s.k + 1, rowsC = (limitC - cols) / s.n + 1
        let rows = min(s.m, rowsA, rowsC)
        guard cols >= 1, ks >= 1, rows >= 1 else {
            throw BackendError("gemm: one row of \(s.m)x\(s.n)x\(s.k) does not fit one binding (\(min(limitA, limitC)) elements)")
        }
        chunks = pieces(s.batch, batchSize).flatMap { batches in
            pieces(s.k, ks).flatMap { kRange in
                pieces(s.n, cols).flatMap { colRange in
                    pieces(s.m, rows).map { GemmChunk(batches: batches, rows: $0, cols: colRange, ks: kRange) }
                }
            }
        }
        splitsK = ks < s.k
    }
}

extension VulkanBackend {
    public func gemm(_ a: Tensor, _ b: Tensor, bias: Tensor?, residual: Tensor?, out: Tensor, _ shape: GemmShape) throws {
        try GemmKernel.record(self, a, b, bias: bias, residual: residual, out: out, shape)
    }
}
