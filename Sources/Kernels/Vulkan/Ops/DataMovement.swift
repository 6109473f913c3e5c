import VulkanRuntime

/// Copy and fill need no shader: they are transfer commands recorded in the same stream.
extension VulkanBackend {
    public func copy(_ source: Tensor, sourceOffset: Int, to destination: Tensor, destinationOffset: Int, count: Int) throws {
        try require(sourceOffset >= 0 && destinationOffset >= 0 && count >= 0
                        && sourceOffset + count <= source.count && destinationOffset + count <= destination.count,
                    "copy: \(count) elements from \(sourceOffset) of \(source.count) to \(destinationOffset) of \(destination.count)")
        try require(source.dtype == destination.dtype, "copy: source and destination types differ")
        guard count > 0 else { return }
        let size = source.dtype.size
        try recorder.copy(from: buffer(source), sourceOffset: sourceOffset * size, to: buffer(destination),
                          destinationOffset: destinationOffset * size, bytes: count * size)
    }

    public func fill(_ tensor: Tensor, value: Float) throws {
        try require(tensor.dtype == .float32, "fill: only fp32 tensors")
        try recorder.fill(buffer(tensor), bytes: tensor.count * 4, pattern: value.bitPattern)
    }
}
