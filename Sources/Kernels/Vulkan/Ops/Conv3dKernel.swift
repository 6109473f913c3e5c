import VulkanRuntime

/// Conv3d. `conv3d_patch.comp` when kernel = stride, no padding and kW, W are multiples of 4 (the shape of the ViT
/// patch embedding: a GEMM of patches x weights read as vec4); `conv3d.comp` for everything else.
struct Conv3dKernel {
    static let localSize = 64

    static func record(_ backend: VulkanBackend, _ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor,
                       _ shape: ConvShape) throws {
        try validateConv(x, weight: weight, bias: bias, out: out, shape, transposed: false)
        try recordInBatchRuns(backend, "conv3d", x, weight: weight, bias: bias, out: out, shape) { operands, run in
            try recordRun(backend, operands, hasBias: bias != nil, run)
        }
    }

    private static func recordRun(_ backend: VulkanBackend, _ operands: ConvOperands, hasBias: Bool, _ shape: ConvShape) throws {
        let outSize = shape.convOutSize
        let voxels = shape.batch * outSize.reduce(1, *)
        let lavapipe = backend.device.info.kind == .cpu
        let patch = shape.kernel == shape.stride && shape.padding == [0, 0, 0]
            && shape.kernel[2] % 4 == 0 && shape.inSize[2] % 4 == 0
        if patch {
            // lavapipe is limited by its per-lane gathers of x, so large blocks amortise them over many
            // channels; 8 x 16 is as fast as larger blocks within 20% and compiles in 2 s instead of 7-35 s.
            // A GPU wants more invocations.
            let (patches, channels) = lavapipe ? (8, 16) : (4, 8)
            let patchBlocks = (voxels + patches - 1) / patches
            let channelBlocks = (shape.outChannels + channels - 1) / channels
            let defines = operands.defines + [("PATCHES", "\(patches)"), ("CHANNELS", "\(channels)")]
            let pipeline = try backend.pipeline("conv3d_patch", defines: defines, bindings: 4)
            let push = [patchBlocks, voxels, shape.outChannels, shape.inChannels]
                + outSize + shape.kernel + shape.inSize + [hasBias ? 1 : 0] + operands.offsets
            try backend.recorder.dispatch(pipeline, bindings: operands.bindings, push: push.map(\.word),
                                          groups: ((patchBlocks + localSize - 1) / localSize, channelBlocks, 1))
            return
        }
        let (voxelsPerInvocation, channels) = lavapipe ? (4, 8) : (2, 4)
        let voxelBlocks = (voxels + voxelsPerInvocation - 1) / voxelsPerInvocation
        let channelBlocks = (shape.outChannels + channels - 1) / channels
        let pipeline = try backend.pipeline("conv3d", defines: operands.defines + [("VOXELS", "\(voxelsPerInvocation)"), ("CHANNELS", "\(channels)")],
                                            bindings: 4)
        let push = [voxelBlocks, channelBlocks, voxels, shape.outChannels, shape.inChannels]
            + outSize + shape.inSize + shape.kernel + shape.stride + shape.padding + [hasBias ? 1 : 0] + operands.offsets
        try backend.recorder.dispatch(pipeline, bindings: operands.bindings, push: push.map(\.word),
                                      groups: backend.grid(voxelBlocks * channelBlocks, localSize: localSize))
    }
}

/// The four bindings (x, weight, bias, out) of the convolution shaders for a run of batch items, the run's
/// offsets inside the x and out bindings, and the storage defines.
struct ConvOperands {
    var bindings: [BufferBinding]
    var offsets: [Int]
    var defines: [(String, String)]
    /// x and the weight as texel bindings (for shaders built with TEXEL), or nil where the device cannot view them so.
    var texelBindings: (x: BufferBinding, weight: BufferBinding)?

    init(_ backend: VulkanBackend, x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor, items: Range<Int>, batch: Int) {
        let xItem = x.count / batch, yItem = out.count / batch
        let xWindow = BindingWindow(backend, x, start: items.lowerBound * xItem, end: items.upperBound * xItem, access: .read)
        let yWindow = BindingWindow(backend, out, start: items.lowerBound * yItem, end: items.upperBound * yItem, access: .write)
        // Without a bias the shader reads none; the weight stands in so the binding is valid.
        bindings = [xWindow.binding, backend.binding(weight, .read), backend.binding(bias ?? weight, .read), yWindow.binding]
        offsets = [xWindow.offset, yWindow.offset]
        defines = [("W_HALF", weight.dtype == .float16 ? "1" : "0"),
                   ("B_HALF", (bias ?? weight).dtype == .float16 ? "1" : "0")]
        if let xTexels = xWindow.texelBinding(backend, x), backend.texelReadable(weight) {
            texelBindings = (xTexels, backend.texelBinding(weight))
        }
    }
}

/// Records a convolution run by run of whole batch items (see `convBatchRuns`), each with its operands' windows.
func recordInBatchRuns(_ backend: VulkanBackend, _ name: String, _ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor,
                       _ shape: ConvShape, _ recordRun: (ConvOperands, ConvShape) throws -> Void) throws {
    for items in try convBatchRuns(backend, name, x: x, weight: weight, out: out, batch: shape.batch) {
        var run = shape
        run.batch = items.count
        try recordRun(ConvOperands(backend, x: x, weight: weight, bias: bias, out: out, items: items, batch: shape.batch), run)
    }
}

/// Runs of whole batch items whose x and out each fit one binding (the mask decoder upscales every category in
/// one batch); activations must be fp32 and the weight must fit one binding.
func convBatchRuns(_ backend: VulkanBackend, _ name: String, x: Tensor, weight: Tensor, out: Tensor, batch: Int) throws -> [Range<Int>] {
    try require(x.dtype == .float32 && out.dtype == .float32, "\(name): x and out must be float32")
    let limit = Int(backend.device.info.maxStorageBufferRange)
    try require(weight.byteCount <= limit, "\(name): the weight has \(weight.byteCount) bytes, more than one binding (\(limit))")
    // Leave room for the windows' alignment slack.
    let elements = backend.maxBindingElements() - 1024
    let perRun = min(elements / (x.count / batch), elements / (out.count / batch), batch)
    try require(perRun >= 1, "\(name): one batch item exceeds one binding (\(limit) bytes)")
    return stride(from: 0, to: batch, by: perRun).map { $0..<min($0 + perRun, batch) }
}

extension VulkanBackend {
    public func conv3d(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor, _ shape: ConvShape) throws {
        try Conv3dKernel.record(self, x, weight: weight, bias: bias, out: out, shape)
    }
}
