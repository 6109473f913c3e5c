import VulkanRuntime

/// `permute.comp`. The host first collapses the problem (drops size-1 axes, merges input axes that stay
/// adjacent), then: no permutation left is a buffer copy; an unchanged innermost axis is the per-element
/// kernel; otherwise the tiled kernel. Tensors past one binding are bound as up to 4 windows.
struct PermuteKernel {
    static let localSize = 256
    static let tile = 32
    static let maxWindows = 4

    /// The same permutation over fewer axes: `shape` is in input order, `permutation` as in `permute`.
    static func collapse(shape: [Int], permutation: [Int]) -> (shape: [Int], permutation: [Int]) {
        // Size-1 axes are dropped, and the rest are renumbered so that neighbours across them can merge.
        var compact = [Int](repeating: -1, count: shape.count)
        var next = 0
        for axis in shape.indices where shape[axis] != 1 { compact[axis] = next; next += 1 }
        let sizes = shape.filter { $0 != 1 }
        let kept = permutation.filter { shape[$0] != 1 }.map { compact[$0] }
        // Runs of consecutive input axes in output order become one axis.
        var runs: [[Int]] = []
        for axis in kept {
            if let last = runs.last?.last, last + 1 == axis { runs[runs.count - 1].append(axis) } else { runs.append([axis]) }
        }
        let inputOrder = runs.indices.sorted { runs[$0][0] < runs[$1][0] }
        var rank = [Int](repeating: 0, count: runs.count)
        for (position, run) in inputOrder.enumerated() { rank[run] = position }
        let newShape = inputOrder.map { runs[$0].reduce(1) { $0 * sizes[$1] } }
        return (newShape, runs.indices.map { rank[$0] })
    }

    static func record(_ backend: VulkanBackend, _ x: Tensor, out: Tensor, shape: [Int], permutation: [Int],
                       sharedTile: Bool) throws {
        try validatePermute(x, out: out, shape: shape, permutation: permutation)
        try require(x.dtype == .float32 && out.dtype == .float32, "permute: only fp32 tensors")
        guard x.count > 0 else { return }
        let (dims, perm) = collapse(shape: shape, permutation: permutation)
        if perm == Array(perm.indices) {
            try backend.copy(x, sourceOffset: 0, to: out, destinationOffset: 0, count: x.count)
            return
        }
        // Windows are a power of two in size so the shader splits an index with a shift and a mask.
        var windowShift = 0
        while 2 << windowShift <= backend.maxBindingElements() { windowShift += 1 }
        let window = 1 << windowShift
        let windows = (x.count + window - 1) / window
        try require(windows <= maxWindows && x.count <= Int(UInt32.max),
                    "permute: \(x.count) elements exceed \(maxWindows) bindings of \(window)")
        var bindings = [backend.binding(x, .read, count: min(window, x.count)),
                        backend.binding(out, .write, count: min(window, x.count))]
        if windows > 1 {
            let ranges = (0..<maxWindows).map { w in min(w, windows - 1) * window }
            bindings = ranges.map { backend.binding(x, .read, offset: $0, count: min(window, x.count - $0)) }
                + ranges.map { backend.binding(out, .write, offset: $0, count: min(window, x.count - $0)) }
        }
        var inStrides = [Int](repeating: 1, count: dims.count)
        for axis in stride(from: dims.count - 2, through: 0, by: -1) { inStrides[axis] = inStrides[axis + 1] * dims[axis + 1] }
        let outSizes = perm.map { dims[$0] }
        var defines = [("WINDOWS", windows > 1 ? "4" : "1")]
        var push: [UInt32]
        let groups: (x: Int, y: Int, z: Int)
        if perm.last == dims.count - 1 {
            // Pad to 5 output axes with leading size-1 axes.
            let pad = 5 - perm.count
            let n = [Int](repeating: 1, count: pad) + outSizes
            let s = [Int](repeating: 0, count: pad) + perm.map { inStrides[$0] }
            push = [windowShift.word, x.count.word] + n.map(\.word) + s.map(\.word)
            groups = backend.grid(x.count, localSize: localSize)
        } else {
            let r = perm.count
            var outStrides = [Int](repeating: 1, count: r)
            for axis in stride(from: r - 2, through: 0, by: -1) { outStrides[axis] = outStrides[axis + 1] * outSizes[axis + 1] }
            // a: the output's innermost axis; b: the output axis that is innermost in the input.
            let b = perm.firstIndex(of: dims.count - 1) ?? 0
            let batch = (0..<(r - 1)).filter { $0 != b }
            let pad = 3 - batch.count
            let n = [Int](repeating: 1, count: pad) + batch.map { outSizes[$0] }
            let sIn = [Int](repeating: 0, count: pad) + batch.map { inStrides[perm[$0]] }
            let sOut = [Int](repeating: 0, count: pad) + batch.map { outStrides[$0] }
            let tilesA = (outSizes[r - 1] + tile - 1) / tile, tilesB = (outSizes[b] + tile - 1) / tile
            let count = tilesA * tilesB * n.reduce(1, *)
            push = [windowShift.word, count.word, outSizes[r - 1].word, outSizes[b].word, inStrides[perm[r - 1]].word,
                    outStrides[b].word, tilesA.word, tilesB.word] + n.map(\.word) + sIn.map(\.word) + sOut.map(\.word)
            groups = backend.grid(count, localSize: 1)
            defines.append(("TILED", "1"))
            if sharedTile { defines.append(("SHARED_TILE", "1")) }
        }
        let pipeline = try backend.pipeline("permute", defines: defines, bindings: bindings.count)
        try backend.recorder.dispatch(pipeline, bindings: bindings, push: push, groups: groups)
    }
}

extension VulkanBackend {
    /// Tiles go through shared memory on GPUs; lavapipe is faster copying directly (its caches do the tiling).
    public func permute(_ x: Tensor, out: Tensor, shape: [Int], permutation: [Int]) throws {
        try permute(x, out: out, shape: shape, permutation: permutation, sharedTile: device.info.kind != .cpu)
    }

    /// `permute` with the tile variant chosen by the caller, so tests check both on any device.
    public func permute(_ x: Tensor, out: Tensor, shape: [Int], permutation: [Int], sharedTile: Bool) throws {
        try PermuteKernel.record(self, x, out: out, shape: shape, permutation: permutation, sharedTile: sharedTile)
    }
}
