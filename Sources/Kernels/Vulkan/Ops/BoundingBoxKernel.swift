import VulkanRuntime

/// `bbox.comp`: a scan over (h, d) work groups with atomics into a six-int scratch buffer, in chunks of whole
/// depth slices that fit one binding, then a one-invocation dispatch converting the box to floats.
struct BoundingBoxKernel {
    static let localSize = 256
    static let rowsPerGroup = 4
    /// Chunk bindings start on this element boundary, which satisfies any storage-buffer offset alignment.
    static let alignment = 1024

    static func record(_ backend: VulkanBackend, _ x: Tensor, size: [Int], threshold: Float, out: Tensor,
                       subgroupReduce: Bool) throws {
        try validateBoundingBox(x, size: size, out: out)
        try require(x.dtype == .float32 && out.dtype == .float32, "boundingBox: only fp32 tensors")
        let (depth, height, width) = (size[0], size[1], size[2])
        let slice = height * width
        let maxSlices = min((backend.maxBindingElements() - alignment) / slice, Int(backend.device.info.maxComputeWorkGroupCount.1))
        try require(maxSlices >= 1 && depth < Int(Int32.max), "boundingBox: a slice of \(slice) elements exceeds one binding")
        try require((height + rowsPerGroup - 1) / rowsPerGroup <= Int(backend.device.info.maxComputeWorkGroupCount.0),
                    "boundingBox: height \(height) exceeds the dispatch limit")

        let box = try backend.device.makeBuffer(bytes: 6 * 4)
        try backend.recorder.fill(box, bytes: 6 * 4, pattern: UInt32(Int32.max))
        try require(!subgroupReduce || backend.device.info.subgroupArithmetic, "boundingBox: no subgroup arithmetic on this device")
        let scan = try backend.pipeline("bbox", defines: subgroupReduce ? [("SUBGROUP", "1")] : [], bindings: 2)
        var first = 0
        while first < depth {
            let slices = min(maxSlices, depth - first)
            let start = first * slice
            let alignedStart = start / alignment * alignment
            try backend.recorder.dispatch(
                scan,
                bindings: [backend.binding(x, .read, offset: alignedStart, count: start + slices * slice - alignedStart),
                           BufferBinding(box, access: .readWrite)],
                push: [width.word, height.word, (start - alignedStart).word, first.word, threshold.word],
                groups: ((height + rowsPerGroup - 1) / rowsPerGroup, slices, 1))
            first += slices
        }
        try backend.recorder.dispatch(backend.pipeline("bbox", defines: [("FINISH", "1")], bindings: 2),
                                      bindings: [BufferBinding(box, access: .read), backend.binding(out, .write)],
                                      groups: (1, 1, 1))
    }
}

extension VulkanBackend {
    public func boundingBox(_ x: Tensor, size: [Int], threshold: Float, out: Tensor) throws {
        try boundingBox(x, size: size, threshold: threshold, out: out, subgroupReduce: device.info.subgroupArithmetic)
    }

    /// `boundingBox` with the group reduction chosen by the caller, so tests check both variants.
    public func boundingBox(_ x: Tensor, size: [Int], threshold: Float, out: Tensor, subgroupReduce: Bool) throws {
        try BoundingBoxKernel.record(self, x, size: size, threshold: threshold, out: out, subgroupReduce: subgroupReduce)
    }
}
