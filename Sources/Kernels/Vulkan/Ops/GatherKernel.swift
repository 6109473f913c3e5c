import VulkanRuntime

/// `gather.comp`: one invocation per output element. The host's indices go up as an Int32 buffer; a table
/// larger than one binding is bound one window at a time, each dispatch writing the elements it holds.
struct GatherKernel {
    static let localSize = 256

    static func record(_ backend: VulkanBackend, _ table: Tensor, indices: [Int], rowSize: Int, out: Tensor) throws {
        try validateGather(table, indices: indices, rowSize: rowSize, out: out)
        try require(out.dtype == .float32, "gatherRows: out must be fp32")
        try require(table.count <= Int(UInt32.max), "gatherRows: table of \(table.count) elements exceeds 32-bit indexing")
        guard !indices.isEmpty else { return }
        let window = backend.maxBindingElements(table.dtype)
        try require(out.count <= backend.maxBindingElements(), "gatherRows: out of \(out.count) elements exceeds one binding")
        let half = table.dtype == .float16
        let pipeline = try backend.pipeline("gather", defines: half ? [("HALF", "1")] : [], bindings: 3)
        let indexBuffer = try upload(backend, indices.map { Int32($0) })
        // Only the windows some requested row touches are dispatched (usually just one).
        var windows = Set<Int>()
        for index in indices {
            windows.formUnion((index * rowSize / window)...(((index + 1) * rowSize - 1) / window))
        }
        for w in windows.sorted() {
            let start = w * window
            let count = min(window, table.count - start)
            try backend.recorder.dispatch(
                pipeline,
                bindings: [backend.binding(table, .read, offset: start, count: count),
                           BufferBinding(indexBuffer, access: .read),
                           backend.binding(out, .write)],
                push: [out.count.word, rowSize.word, start.word, count.word],
                groups: backend.grid(out.count, localSize: localSize))
        }
    }

    /// A device buffer holding `values`, written through its mapping or a staging copy.
    private static func upload(_ backend: VulkanBackend, _ values: [Int32]) throws -> GPUBuffer {
        let bytes = values.count * 4
        let buffer = try backend.device.makeBuffer(bytes: bytes)
        let target: GPUBuffer = buffer.mapped != nil ? buffer : try backend.device.makeBuffer(bytes: bytes, location: .staging)
        guard let mapped = target.mapped else { throw BackendError("gatherRows: staging buffer is not host-visible") }
        values.withUnsafeBytes { mapped.copyMemory(from: $0.baseAddress!, byteCount: bytes) }
        if target !== buffer {
            try backend.recorder.copy(from: target, to: buffer, bytes: bytes)
        }
        backend.recorder.retain(buffer)
        return buffer
    }
}

extension VulkanBackend {
    public func gatherRows(_ table: Tensor, indices: [Int], rowSize: Int, out: Tensor) throws {
        try GatherKernel.record(self, table, indices: indices, rowSize: rowSize, out: out)
    }
}
