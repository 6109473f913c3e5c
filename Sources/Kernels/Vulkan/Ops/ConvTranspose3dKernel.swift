import VulkanRuntime

/// ConvTranspose3d. `conv_transpose3d_k2s2.comp` for kernel 2, stride 2, no padding with W a multiple of 4
/// (the mask decoder's upscaling: an outer product per input channel, vec4 in and out);
/// `conv_transpose3d.comp` (gather over the taps that reach each output voxel) for everything else.
struct ConvTranspose3dKernel {
    static let localSize = 64

    static func record(_ backend: VulkanBackend, _ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor,
                       _ shape: ConvShape) throws {
        try validateConv(x, weight: weight, bias: bias, out: out, shape, transposed: true)
        try recordInBatchRuns(backend, "convTranspose3d", x, weight: weight, bias: bias, out: out, shape) { operands, run in
            try recordRun(backend, operands, hasBias: bias != nil, run)
        }
    }

    private static func recordRun(_ backend: VulkanBackend, _ operands: ConvOperands, hasBias: Bool, _ shape: ConvShape) throws {
        let bias = hasBias ? 1 : 0
        if shape.kernel == [2, 2, 2] && shape.stride == [2, 2, 2] && shape.padding == [0, 0, 0] && shape.inSize[2] % 4 == 0 {
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
            let push = [voxelBlocks, shape.batch, shape.outChannels, shape.inChannels] + shape.inSize + [bias] + operands.offsets
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
            + shape.kernel + shape.stride + shape.padding + [bias] + operands.offsets
        try backend.recorder.dispatch(pipeline, bindings: operands.bindings, push: push.map(\.word),
                                      groups: backend.grid(voxels * channelBlocks, localSize: localSize))
    }
}

extension VulkanBackend {
    public func convTranspose3d(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor, _ shape: ConvShape) throws {
        try ConvTranspose3dKernel.record(self, x, weight: weight, bias: bias, out: out, shape)
    }
}
