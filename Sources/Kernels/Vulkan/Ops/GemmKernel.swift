import VulkanRuntime

/// The GEMM shaders; `GemmKernel.variant(for:info:bDType:)` picks one per device, and B's dtype
/// (fp32 or fp16 weights) selects the half-storage build of whichever runs.
public enum GemmVariant: String, CaseIterable, Sendable {
    /// `gemm_registers.comp`: 16x8 blocks of C in registers, no shared memory (CPU devices: lavapipe).
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
    /// including those the device cannot run. `vec4` (register-blocked only) selects vec4 loads.
    public static func shader(_ variant: GemmVariant, bLayout: GemmShape.BLayout, bHalf: Bool,
                              vec4: Bool = false) -> (file: String, defines: [(String, String)]) {
        var defines = [("B_KN", bLayout == .kn ? "1" : "0"), ("B_HALF", bHalf ? "1" : "0")]
        switch variant {
        case .registerBlocked:
            defines.append(("VEC4", vec4 ? "1" : "0"))
            return ("gemm_registers", defines)
        case .tiled:
            return ("gemm_tiled", defines)
        case .cooperativeMatrix:
            return ("gemm_coopmat", defines)
        }
    }

    /// The embedded GLSL of a shader file (includes resolved), for compile checks.
    public static func source(_ file: String) throws -> String { try ShaderLibrary.source(file + ".comp") }

    /// Register blocks of C per invocation (matches BM, BN in gemm_registers.comp).
    static let registerBlock = (m: 16, n: 8)
    static let registerLocalSize = 64
    /// Tile of C per work group in gemm_tiled.comp and gemm_coopmat.comp.
    static let tile = 64

    static func record(_ backend: VulkanBackend, _ a: Tensor, _ b: Tensor, bias: Tensor?, residual: Tensor?,
                       out: Tensor, _ shape: GemmShape) throws {
        try GemmShape.validate(a, b, bias: bias, residual: residual, out: out, shape)
        let info = backend.device.info
        let variant = forcedVariant ?? variant(for: shape, info: info, bDType: b.dtype)
        try require(isSupported(variant, info: info), "gemm: the \(variant) variant is not supported on \(info.name)")
        // Whole tensors are bound; SegVol's largest GEMM operand is a few MiB, far below the limit.
        let limit = Int(info.maxStorageBufferRange)
        for (name, tensor) in [("a", a), ("b", b), ("out", out), ("bias", bias), ("residual", residual)] {
            guard let tensor else { continue }
            try require(tensor.byteCount <= limit,
                        "gemm: \(name) has \(tensor.byteCount) bytes, more than one binding holds (maxStorageBufferRange \(limit)); split the batch")
        }

        let bHalf = b.dtype == .float16
        // vec4 loads need every row of A and B to start on a multiple of 4 elements.
        let vec4 = shape.k % 4 == 0 && shape.strideA % 4 == 0 && shape.strideB % 4 == 0
            && (shape.bLayout == .nk || shape.n % 4 == 0)
        var (file, defines) = shader(variant, bLayout: shape.bLayout, bHalf: bHalf, vec4: vec4)
        // The register kernel reads A and B as texels where the views allow (lavapipe's fast load path).
        let texel = variant == .registerBlocked && vec4 && backend.texelReadable(a) && backend.texelReadable(b)
        if texel { defines.append(("TEXEL", "1")) }
        let pipeline = try backend.pipeline(file, defines: defines, bindings: 5, texelBindings: texel ? [0, 1] : [])

        let groupsXY: (x: Int, y: Int)
        let blocksN = (shape.n + registerBlock.n - 1) / registerBlock.n
        let blockCount = blocksN * ((shape.m + registerBlock.m - 1) / registerBlock.m)
        switch variant {
        case .registerBlocked:
            let grid = backend.grid(blockCount, localSize: registerLocalSize)
            groupsXY = (grid.x, grid.y)
        case .tiled, .cooperativeMatrix:
            groupsXY = ((shape.n + tile - 1) / tile, (shape.m + tile - 1) / tile)
        }
        try require(groupsXY.x <= Int(info.maxComputeWorkGroupCount.0) && groupsXY.y <= Int(info.maxComputeWorkGroupCount.1),
                    "gemm: \(shape.m)x\(shape.n) needs \(groupsXY.x)x\(groupsXY.y) work groups, beyond the device limit")

        // Absent operands are bound to A (never read: the flags say so).
        let flags = (bias == nil ? 0 : 1) | (residual == nil ? 0 : 2)
        let bindings = [texel ? backend.texelBinding(a) : backend.binding(a, .read),
                        texel ? backend.texelBinding(b) : backend.binding(b, .read), backend.binding(bias ?? a, .read),
                        backend.binding(residual ?? a, .read), backend.binding(out, .write)]
        // Batch items go in z, in several dispatches past the device's z limit.
        let maxZ = Int(info.maxComputeWorkGroupCount.2)
        var batchOffset = 0
        while batchOffset < shape.batch {
            let count = min(maxZ, shape.batch - batchOffset)
            try backend.recorder.dispatch(
                pipeline, bindings: bindings,
                push: [shape.m.word, shape.n.word, shape.k.word, shape.strideA.word, shape.strideB.word,
                       shape.strideC.word, batchOffset.word, shape.activation.rawValue.word, flags.word,
                       blocksN.word, blockCount.word],
                groups: (groupsXY.x, groupsXY.y, count), label: "gemm \(variant.rawValue)")
            batchOffset += count
        }
    }
}

extension VulkanBackend {
    public func gemm(_ a: Tensor, _ b: Tensor, bias: Tensor?, residual: Tensor?, out: Tensor, _ shape: GemmShape) throws {
        try GemmKernel.record(self, a, b, bias: bias, residual: residual, out: out, shape)
    }
}
