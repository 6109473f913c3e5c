import VulkanRuntime

/// `unary.comp`: one invocation per element, chunked past maxStorageBufferRange.
struct UnaryKernel {
    static let localSize = 256

    /// The shader's op code and its two parameters.
    static func code(_ op: UnaryOp) -> (UInt32, Float, Float) {
        switch op {
        case .sigmoid: return (0, 0, 0)
        case .relu: return (1, 0, 0)
        case .gelu: return (2, 0, 0)
        case .quickGelu: return (3, 0, 0)
        case let .affine(scale, shift): return (4, scale, shift)
        case let .clamp(lo, hi): return (5, lo, hi)
        }
    }

    /// f over elements `range` of x into the same elements of out (all of them when nil; x and out may be one tensor).
    static func record(_ backend: VulkanBackend, _ op: UnaryOp, _ x: Tensor, out: Tensor, range: Range<Int>? = nil) throws {
        try require(out.count == x.count, "unary: out (\(out.count)) must equal x (\(x.count))")
        try require(x.dtype == .float32 && out.dtype == .float32, "unary: only fp32 tensors")
        let range = range ?? 0..<x.count
        let pipeline = try backend.pipeline("unary", bindings: 2)
        let (opCode, p0, p1) = code(op)
        let chunk = backend.maxBindingElements()
        var start = range.lowerBound
        while start < range.upperBound {
            let n = min(chunk, range.upperBound - start)
            let groups = backend.grid(n, localSize: localSize)
            try backend.recorder.dispatch(
                pipeline,
                bindings: [backend.binding(x, .read, offset: start, count: n), backend.binding(out, .write, offset: start, count: n)],
                push: [n.word, opCode, p0.word, p1.word],
                groups: groups)
            start += n
        }
    }
}

extension VulkanBackend {
    public func unary(_ op: UnaryOp, _ x: Tensor, out: Tensor) throws {
        try UnaryKernel.record(self, op, x, out: out)
    }
}
