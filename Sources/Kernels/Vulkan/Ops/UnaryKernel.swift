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
        let (opCode, p0, p1) = code(op)
        let chunk = backend.maxBindingElements()
        var start = range.lowerBound
        while start < range.upperBound {
            let n = min(chunk, range.upperBound - start)
            // Whole vec4s read as texels where the chunk allows: lavapipe's storage loads cost a per-lane loop.
            let vec4 = n % 4 == 0 && backend.texelReadable(x, offset: start, count: n)
            let pipeline = try backend.pipeline("unary", defines: [("VEC4", vec4 ? "1" : "0")], bindings: 2,
                                                texelBindings: vec4 ? [0] : [])
            let invocations = vec4 ? n / 4 : n
            try backend.recorder.dispatch(
                pipeline,
                bindings: [vec4 ? backend.texelBinding(x, offset: start, count: n) : backend.binding(x, .read, offset: start, count: n),
                           backend.binding(out, .write, offset: start, count: n)],
                push: [invocations.word, opCode, p0.word, p1.word],
                groups: backend.grid(invocations, localSize: localSize), label: "unary")
            start += n
        }
    }
}

extension VulkanBackend {
    public func unary(_ op: UnaryOp, _ x: Tensor, out: Tensor) throws {
        try UnaryKernel.record(self, op, x, out: out)
    }
}
