import VulkanRuntime

/// `layernorm.comp`: row LayerNorm (one work group per row, or on CPU-like devices one invocation per row reading
/// texels) and the whole-sample LayerNorm (chunk statistics, a per-sample merge, then an element-wise apply: three
/// dispatches, the recorder orders them). Tensors past one binding are processed in runs of whole rows or samples.
/// The rows modes may write fp16.
public struct LayerNormKernel {
    enum Mode: Int { case rows = 0, stats = 1, merge = 2, apply = 3, invocationRows = 4 }

    /// How rows are normalised: a work group per row (barrier reductions, GPUs) or an invocation per row
    /// (lavapipe runs a work group on one thread, where barriers cost and texel loads are fast).
    public enum RowVariant: Sendable, CaseIterable { case workGroup, invocation }

    /// Overrides the device-based choice (tests run both variants on one device); nil selects by device.
    nonisolated(unsafe) public static var forcedRowVariant: RowVariant?

    static func rowVariant(for device: DeviceInfo) -> RowVariant {
        forcedRowVariant ?? (device.kind == .cpu ? .invocation : .workGroup)
    }

    /// Values per work group of the stats pass.
    static let valuesPerChunk = 4096

    static func localSize(_ backend: VulkanBackend) -> Int {
        // lavapipe runs a work group on one thread, so a small group wastes less on barriers.
        backend.device.info.kind == .cpu ? 64 : 256
    }

    static func pipeline(_ backend: VulkanBackend, _ mode: Mode, weight: Tensor, out: Tensor) throws -> ComputePipeline {
        try backend.pipeline("layernorm", defines: [
            ("MODE", "\(mode.rawValue)"), ("LOCAL_SIZE", "\(localSize(backend))"),
            ("WEIGHT_HALF", weight.dtype == .float16 ? "1" : "0"), ("OUT_HALF", out.dtype == .float16 ? "1" : "0"),
        ], bindings: 5, texelBindings: mode == .invocationRows ? [0, 1, 2] : [])
    }

    /// Runs of whole groups of `size` values that fit one binding: (first group, group count) pairs.
    static func runs(_ backend: VulkanBackend, groups: Int, size: Int, name: String) throws -> [(Int, Int)] {
        // Leave room for the window's alignment slack.
        let perRun = (backend.maxBindingElements() - 1024) / size
        try require(perRun >= 1, "\(name): \(size) values per group exceed one binding")
        return stride(from: 0, to: groups, by: perRun).map { ($0, min(perRun, groups - $0)) }
    }

    static func rows(_ backend: VulkanBackend, _ x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, rows: Int, dim: Int,
                     eps: Float) throws {
        try validateLayerNorm(x, weight: weight, bias: bias, out: out, groups: rows, size: dim, name: "layerNorm",
                              halfOutputAllowed: true)
        let invocationRows = rowVariant(for: backend.device.info) == .invocation && dim % 4 == 0
            && backend.texelReadable(weight) && backend.texelReadable(bias)
        for (first, count) in try runs(backend, groups: rows, size: dim, name: "layerNorm") {
            let start = first * dim, end = (first + count) * dim
            let input = BindingWindow(backend, x, start: start, end: end, access: .read)
            let output = BindingWindow(backend, out, start: start, end: end, access: .write)
            if invocationRows, input.offset % 4 == 0, let texels = input.texelBinding(backend, x) {
                // The scratch binding is unused: the weight stands in for it.
                try backend.recorder.dispatch(
                    try pipeline(backend, .invocationRows, weight: weight, out: out),
                    bindings: [texels, backend.texelBinding(weight), backend.texelBinding(bias), backend.binding(weight, .read),
                               output.binding],
                    push: [count.word, dim.word, eps.word, input.offset.word, output.offset.word, 0],
                    groups: backend.grid(count, localSize: localSize(backend)))
                continue
            }
            try backend.recorder.dispatch(
                try pipeline(backend, .rows, weight: weight, out: out),
                // The rows mode uses no scratch: the weight stands in for binding 3.
                bindings: [input.binding, backend.binding(weight, .read), backend.binding(bias, .read),
                           backend.binding(weight, .read), output.binding],
                push: [count.word, dim.word, eps.word, input.offset.word, output.offset.word, 0],
                groups: backend.grid(count * localSize(backend), localSize: localSize(backend)))
        }
    }

    static func samples(_ backend: VulkanBackend, _ x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, samples: Int,
                        sampleSize: Int, eps: Float) throws {
        try validateLayerNorm(x, weight: weight, bias: bias, out: out, groups: samples, size: sampleSize, name: "sampleLayerNorm",
                              halfOutputAllowed: false)
        let chunks = (sampleSize + valuesPerChunk - 1) / valuesPerChunk
        let localSize = localSize(backend)
        let stats = try pipeline(backend, .stats, weight: weight, out: out)
        let merge = try pipeline(backend, .merge, weight: weight, out: out)
        let apply = try pipeline(backend, .apply, weight: weight, out: out)
        for (first, count) in try runs(backend, groups: samples, size: sampleSize, name: "sampleLayerNorm") {
            // (mean, M2) per chunk, then (mean, 1/std) per sample.
            let scratch = try backend.empty(shape: [count * (chunks + 1) * 2])
            let start = first * sampleSize, end = (first + count) * sampleSize
            let input = BindingWindow(backend, x, start: start, end: end, access: .read)
            let output = BindingWindow(backend, out, start: start, end: end, access: .write)
            let push = [count.word, sampleSize.word, eps.word, input.offset.word, output.offset.word, valuesPerChunk.word]
            let weights = [backend.binding(weight, .read), backend.binding(bias, .read)]
            // The stats and merge passes leave binding 4 alone; the scratch stands in for it.
            let unusedOutput = backend.binding(scratch, .read)
            try backend.recorder.dispatch(stats, bindings: [input.binding] + weights + [backend.binding(scratch, .write), unusedOutput],
                                          push: push, groups: (chunks, count, 1))
            try backend.recorder.dispatch(merge, bindings: [input.binding] + weights + [backend.binding(scratch, .readWrite), unusedOutput],
                                          push: push, groups: (count, 1, 1))
            try backend.recorder.dispatch(apply, bindings: [input.binding] + weights + [backend.binding(scratch, .read), output.binding],
                                          push: push, groups: backend.grid(count * sampleSize, localSize: localSize))
        }
    }
}

extension VulkanBackend {
    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, rows: Int, dim: Int, eps: Float) throws {
        try LayerNormKernel.rows(self, x, weight: weight, bias: bias, out: out, rows: rows, dim: dim, eps: eps)
    }

    public func sampleLayerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, samples: Int, sampleSize: Int,
                                eps: Float) throws {
        try LayerNormKernel.samples(self, x, weight: weight, bias: bias, out: out, samples: samples, sampleSize: sampleSize,
                                    eps: eps)
    }
}
