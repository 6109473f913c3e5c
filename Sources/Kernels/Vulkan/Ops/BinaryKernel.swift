import VulkanRuntime

/// `binary.comp`: one invocation per element; tensors past maxStorageBufferRange go in chunks.
struct BinaryKernel {
    static let localSize = 256

    static func record(_ backend: VulkanBackend, _ op: BinaryOp, _ a: Tensor, _ b: Tensor, out: Tensor, inner: Int) throws {
        try validateBinary(a, b, out: out, inner: inner)
        let pipeline = try backend.pipeline("binary", bindings: 3)
        let chunk = backend.maxBindingElements()
        // A broadcast b is bound whole; a b as large as a is chunked with it.
        let bChunked = b.count == a.count && inner == 1
        try require(bChunked || b.count <= chunk, "binary: a broadcast operand of \(b.count) elements exceeds one binding")
        var start = 0
        while start < a.count {
            let n = min(chunk, a.count - start)
            let groups = backend.grid(n, localSize: localSize)
            let bBinding = bChunked ? backend.binding(b, .read, offset: start, count: n) : backend.binding(b, .read)
            try backend.recorder.dispatch(
                pipeline,
                bindings: [backend.binding(a, .read, offset: start, count: n), bBinding,
                           backend.binding(out, .write, offset: start, count: n)],
                push: [n.word, (bChunked ? n : b.count).word, (bChunked ? 0 : start % (b.count * inner)).word, op.rawValue.word, inner.word],
                groups: groups)
            start += n
        }
    }
}

extension VulkanBackend {
    public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, out: Tensor, inner: Int) throws {
        try BinaryKernel.record(self, op, a, b, out: out, inner: inner)
    }
}
