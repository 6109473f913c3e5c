import VulkanRuntime

/// `resize3d.comp`: one invocation per output column of `rows` rows on a (W, H / rows, planes) grid,
/// per-axis source taps from `resizeTaps` in a small table. Volumes past maxStorageBufferRange are resized in ranges of output
/// planes, each bound with just the input planes its taps read.
struct ResizeKernel {
    static let localSize = 64

    static func record(_ backend: VulkanBackend, _ x: Tensor, out: Tensor, channels: Int, inSize: [Int], outSize: [Int],
                       mode: ResizeMode) throws {
        try validateResize(x, out: out, channels: channels, inSize: inSize, outSize: outSize)
        try require(x.dtype == .float32 && out.dtype == .float32, "resize3d: x and out must be float32")
        try require(out.count <= Int(UInt32.max) && x.count <= Int(UInt32.max), "resize3d: volumes past 2^32 elements")
        let tapsD = resizeTaps(inSize: inSize[0], outSize: outSize[0], mode: mode)
        let taps = tapsD + resizeTaps(inSize: inSize[1], outSize: outSize[1], mode: mode)
            + resizeTaps(inSize: inSize[2], outSize: outSize[2], mode: mode)
        let table = try backend.tensor(taps.flatMap { [Float($0.i0), Float($0.i1), $0.w0, $0.w1] }, shape: [taps.count, 4])
        let nearest = mode == .nearest || mode == .nearestExact
        // Rows per invocation amortise the per-invocation cost on lavapipe (16 rows: 2-3x faster than 1).
        let rows = backend.device.info.kind == .cpu ? 16 : 4
        let pipeline = try backend.pipeline("resize3d", defines: [("NEAREST", nearest ? "1" : "0"), ("ROWS", "\(rows)")], bindings: 3)

        let outPlane = outSize[1] * outSize[2], inPlane = inSize[1] * inSize[2]
        let (oD, iD) = (outSize[0], inSize[0])
        let planes = channels * oD
        let limit = Int(backend.device.info.maxStorageBufferRange) / 4
        let alignment = max(1, Int(backend.device.info.minStorageBufferOffsetAlignment) / 4)
        // Elements [start, end) of the input that output planes [first, last) read.
        func inputSpan(_ first: Int, _ last: Int) -> (start: Int, end: Int) {
            let low = (first / oD) * iD + tapsD[first % oD].i0
            let high = ((last - 1) / oD) * iD + tapsD[(last - 1) % oD].i1
            return (low * inPlane, (high + 1) * inPlane)
        }
        let groupLimit = backend.device.info.maxComputeWorkGroupCount
        let maxPlanes = min((limit - alignment) / outPlane, Int(groupLimit.2))
        try require(maxPlanes >= 1, "resize3d: one output plane of \(outPlane) elements exceeds a binding")
        var first = 0
        while first < planes {
            var last = min(planes, first + maxPlanes)
            // Fewer planes until the input they read fits one binding too.
            while true {
                let span = inputSpan(first, last)
                if span.end - span.start / alignment * alignment <= limit { break }
                try require(last - first > 1, "resize3d: the input planes one output plane reads exceed a binding")
                last = first + (last - first) / 2
            }
            let span = inputSpan(first, last)
            let inBase = span.start / alignment * alignment
            let outStart = first * outPlane, outEnd = last * outPlane
            let outBase = outStart / alignment * alignment
            let push = [first, outBase, inBase] + outSize + inSize
            try backend.recorder.dispatch(
                pipeline,
                bindings: [backend.binding(x, .read, offset: inBase, count: span.end - inBase), backend.binding(table, .read),
                           backend.binding(out, .write, offset: outBase, count: outEnd - outBase)],
                push: push.map(\.word), groups: ((outSize[2] + localSize - 1) / localSize, (outSize[1] + rows - 1) / rows, last - first))
            first = last
        }
    }
}

extension VulkanBackend {
    public func resize3d(_ x: Tensor, out: Tensor, channels: Int, inSize: [Int], outSize: [Int], mode: ResizeMode) throws {
        try ResizeKernel.record(self, x, out: out, channels: channels, inSize: inSize, outSize: outSize, mode: mode)
    }
}
