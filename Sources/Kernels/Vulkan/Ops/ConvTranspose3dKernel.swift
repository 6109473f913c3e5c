import VulkanRuntime

/// ConvTranspose3d. Kernel 2, stride 2, no padding with W a multiple of 4 (the mask decoder's upscaling) has two
/// fast paths: on CPU devices one GEMM of the register kernel (`gemm_registers.comp` with A_KM and STORE_K2S2),
/// elsewhere `conv_transpose3d_k2s2.comp` (an outer product per input channel, vec4 in and out);
/// `conv_transpose3d.comp` (gather over the taps that reach each output voxel) runs everything else.
public struct ConvTranspose3dKernel {
    static let localSize = 64

    /// The kernel-2 stride-2 paths.
    public enum K2S2Path: Sendable, CaseIterable { case direct, gemm }

    /// Overrides the device-based choice (tests run both paths on one device); nil selects by device.
    nonisolated(unsafe) public static var forcedK2S2Path: K2S2Path?

    /// lavapipe runs the GEMM 1.1-1.3x faster than the direct kernel (BENCHMARKS.md): each spilled accumulator takes
    /// four multiply-adds per load and store there, one in the direct kernel. A GPU keeps the direct kernel.
    static func k2s2Path(for device: DeviceInfo) -> K2S2Path {
        forcedK2S2Path ?? (device.kind == .cpu ? .gemm : .direct)
    }

    static func record(_ backend: VulkanBackend, _ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor,
                       _ shape: ConvShape) throws {
        try validateConv(x, weight: weight, bias: bias, out: out, shape, transposed: true)
        try recordInBatchRuns(backend, "convTranspose3d", x, weight: weight, bias: bias, out: out, shape) { operands, run in
            try recordRun(backend, operands, halfWeight: weight.dtype == .float16, bias: bias, run)
        }
    }

    private static func recordRun(_ backend: VulkanBackend, _ operands: ConvOperands, halfWeight: Bool, bias: Tensor?,
                                  _ shape: ConvShape) throws {
        let hasBias = bias != nil ? 1 : 0
        if shape.kernel == [2, 2, 2] && shape.stride == [2, 2, 2] && shape.padding == [0, 0, 0] && shape.inSize[2] % 4 == 0 {
            if k2s2Path(for: backend.device.info) == .gemm, try recordAsGemm(backend, operands, halfWeight: halfWeight, bias: bias, shape) {
                return
            }
            // Blocks of vec4 voxel groups x output channels: large on lavapipe (4 x 4 measured best), small on a GPU.
            let (groups, channels) = backend.device.info.kind == .cpu ? (4, 4) : (1, 2)
            let voxelBlocks = (shape.inSize.reduce(1, *) / 4 + groups - 1) / groups
            let channelBlocks = (shape.outChannels + channels - 1) / channels
            // x and the weight as texels where they can be viewed so (lavapipe loads those faster).
            let texels = operands.texelBindings
            let defines = operands.defines + [("GROUPS", "\(groups)"), ("CHANNELS", "\(channels)"), ("TEXEL", texels != nil ? "1" : "0")]
            let pipeline = try backend.pipeline("conv_transpose3d_k2s2", defines: defines, bindings: 4,
                                                texelBindings: texels != nil ? [0, 1] : [])
            var bindings = operands.bindings
            if let texels { bindings[0] = texels.x; bindings[1] = texels.weight }
            let push = [voxelBlocks, shape.batch, shape.outChannels, shape.inChannels] + shape.inSize + [hasBias] + operands.offsets
            try backend.recorder.dispatch(pipeline, bindings: bindings, push: push.map(\.word),
                                          groups: ((voxelBlocks * shape.batch + localSize - 1) / localSize, channelBlocks, 1))
            return
        }
        let outSize = shape.transposedOutSize
        let voxels = shape.batch * outSize.reduce(1, *)
        let channels = 8
        let channelBlocks = (shape.outChannels + channels - 1) / channels
        let pipeline = try backend.pipeline("conv_transpose3d", defines: operands.defines + [("CHANNELS", "\(channels)")], bindings: 4)
        let push = [voxels, channelBlocks, shape.outChannels, shape.inChannels] + outSize + shape.inSize
            + shape.kernel + shape.stride + shape.padding + [hasBias] + operands.offsets
        try backend.recorder.dispatch(pipeline, bindings: operands.bindings, push: push.map(\.word),
                                      groups: backend.grid(voxels * channelBlocks, localSize: localSize))
    }

    /// The kernel-2 stride-2 run as C = Wᵀ·x per batch item: the weight [ci, co·8] is A read as K x M, x
    /// [ci, D·H·W] is B read as K x N, and the epilogue scatters C[co·8 + tap, voxel] to its output voxel and adds
    /// bias[co]. Returns false, recording nothing, where the texel views or vec4 alignment it needs are missing.
    private static func recordAsGemm(_ backend: VulkanBackend, _ operands: ConvOperands, halfWeight: Bool, bias: Tensor?,
                                     _ shape: ConvShape) throws -> Bool {
        guard shape.inChannels % 4 == 0, operands.offsets[0] % 4 == 0, let texels = operands.texelBindings else { return false }
        var biasTexels = texels.weight
        if let bias {
            guard bias.count % 4 == 0, backend.texelReadable(bias) else { return false }
            biasTexels = backend.texelBinding(bias)
        }
        let (m, n, k) = (shape.outChannels * 8, shape.inSize.reduce(1, *), shape.inChannels)
        let (file, defines) = GemmKernel.shader(.registerBlocked, bLayout: .kn, aHalf: halfWeight,
                                                bHalf: false, vec4: true, texel: true, straight: true, aKM: true, storeK2S2: true)
        let pipeline = try backend.pipeline(file, defines: defines, bindings: 6, texelBindings: [0, 1, 2, 3],
                                            optimize: GemmKernel.optimizesSPIRV(straight: true))
        let block = GemmKernel.registerBlock(straight: true)
        let blocksN = (n + block.n - 1) / block.n
        let blockCount = blocksN * ((m + block.m - 1) / block.m)
        let grid = backend.grid(blockCount, localSize: GemmKernel.registerLocalSize)
        let out = operands.bindings[3]
        // The residual and partial-sum bindings are never read (flags); the weight's texels stand in for both.
        let bindings = [texels.weight, texels.x, biasTexels, texels.weight, out, out]
        let flags = bias != nil ? 1 : 0
        // The weight is shared (stride 0) and read as K x M (lda = m); C's layout is the epilogue's.
        let push = GemmPushConstants(m: m, n: n, k: k, strideB: k * n, strideC: m * n, flags: flags, blocksN: blocksN,
                                     blockCount: blockCount, lda: m, ldc: n, bOffset: operands.offsets[0],
                                     cOffset: operands.offsets[1], inW: shape.inSize[2], inHW: shape.inSize[1] * shape.inSize[2])
        try GemmKernel.dispatchBatches(backend, pipeline, bindings: bindings, push: push, groups: (grid.x, grid.y),
                                       batches: shape.batch, label: "conv_transpose3d k2s2 gemm")
        return true
    }
}

extension VulkanBackend {
    public func convTranspose3d(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor, _ shape: ConvShape) throws {
        try ConvTranspose3dKernel.record(self, x, weight: weight, bias: bias, out: out, shape)
    }
}
