import VulkanRuntime

/// `reduce.comp`: passes of 4096 items per work group until one group is left, which writes out[0].
/// The first pass reads x in binding-sized chunks (as vec4s when the count allows); later passes ping-pong
/// between two scratch buffers.
struct ReduceKernel {
    static let localSize = 256
    static let itemsPerGroup = 4096

    static func record(_ backend: VulkanBackend, _ op: ReduceOp, _ x: Tensor, out: Tensor) throws {
        try validateReduce(x, out: out)
        try require(x.dtype == .float32 && out.dtype == .float32, "reduce: only fp32 tensors")
        try require(x.count <= Int(UInt32.max), "reduce: \(x.count) elements exceed 32-bit indexing")
        // Variance passes carry (count, mean, M2) per item.
        let itemSize = op == .variance ? 3 : 1
        let groupsFor = { (items: Int) in (items + itemsPerGroup - 1) / itemsPerGroup }
        let opDefine = ("OP", "\(op.rawValue)")

        // x's first element: the variance subtracts it from every value (the other ops ignore it).
        let origin = backend.binding(x, .read, count: 1)
        // Raw elements are read as vec4 items when they come in whole fours.
        let width = x.count % 4 == 0 ? 4 : 1
        var items = x.count / width
        var pass = 0
        var source: BufferBinding?
        var scratch: [GPUBuffer] = []
        while true {
            let groups = groupsFor(items)
            let final = groups == 1
            let target: BufferBinding
            if final {
                target = backend.binding(out, .write, count: 1)
            } else {
                // Passes alternate between two buffers; the first pass's is the larger.
                if scratch.count == pass % 2 { scratch.append(try backend.device.makeBuffer(bytes: groups * itemSize * 4)) }
                target = BufferBinding(scratch[pass % 2], range: groups * itemSize * 4, access: .write)
            }
            let partial = pass > 0
            let defines = [opDefine] + (partial ? [("PARTIAL", "1")] : width == 4 ? [("VEC4", "1")] : [])
                + (final ? [("FINAL", "1")] : [])
            let pipeline = try backend.pipeline("reduce", defines: defines, bindings: 3)
            if let source {
                try backend.recorder.dispatch(pipeline, bindings: [source, target, origin],
                                              push: [items.word, groups.word, 0.word, x.count.word],
                                              groups: backend.grid(groups * localSize, localSize: localSize))
            } else {
                // Raw elements: chunks of whole groups, each writing its own range of partial results.
                let groupElements = itemsPerGroup * width
                let chunk = backend.maxBindingElements() / groupElements * groupElements
                var start = 0
                while start < x.count {
                    let n = min(chunk, x.count - start)
                    let chunkGroups = groupsFor(n / width)
                    try backend.recorder.dispatch(pipeline, bindings: [backend.binding(x, .read, offset: start, count: n), target, origin],
                                                  push: [(n / width).word, chunkGroups.word, (start / groupElements).word, x.count.word],
                                                  groups: backend.grid(chunkGroups * localSize, localSize: localSize))
                    start += n
                }
            }
            if final { return }
            source = BufferBinding(target.buffer, range: target.range, access: .read)
            items = groups
            pass += 1
        }
    }
}

extension VulkanBackend {
    public func reduce(_ op: ReduceOp, _ x: Tensor, out: Tensor) throws {
        try ReduceKernel.record(self, op, x, out: out)
    }
}
