import VulkanRuntime

/// `copy_box.comp`: one invocation per box voxel. The box is cut into depth chunks so that the source and
/// destination slices each chunk touches fit in one binding (volumes may exceed maxStorageBufferRange).
struct CopyBoxKernel {
    static let localSize = 256

    static func record(_ backend: VulkanBackend, _ source: Tensor, _ sourceSize: [Int], _ sourceOrigin: [Int],
                       _ destination: Tensor, _ destinationSize: [Int], _ destinationOrigin: [Int], _ extent: [Int],
                       accumulate: Bool) throws {
        try validateBox(source, sourceSize, sourceOrigin, destination, destinationSize, destinationOrigin, extent)
        guard extent.allSatisfy({ $0 > 0 }) else { return }
        let pipeline = try backend.pipeline("copy_box", bindings: 2)
        let srcPlane = sourceSize[1] * sourceSize[2], dstPlane = destinationSize[1] * destinationSize[2]
        let maxElements = backend.maxBindingElements() - 1024
        let slicesPerChunk = max(1, min(maxElements / max(srcPlane, 1), maxElements / max(dstPlane, 1)))
        try require(srcPlane <= maxElements && dstPlane <= maxElements, "copyBox: one slice exceeds a storage binding")
        var d0 = 0
        while d0 < extent[0] {
            let depth = min(slicesPerChunk, extent[0] - d0)
            let src = backend.sliceBinding(source, .read, firstSlice: sourceOrigin[0] + d0, slices: depth,
                                           sliceSize: srcPlane, totalSlices: sourceSize[0])
            let dst = backend.sliceBinding(destination, accumulate ? .readWrite : .write, firstSlice: destinationOrigin[0] + d0,
                                           slices: depth, sliceSize: dstPlane, totalSlices: destinationSize[0])
            // Chunks outside the destination write nothing; a source range outside the volume reads only zeros.
            if let dst {
                let srcBinding = src?.binding ?? backend.binding(source, .read, offset: 0, count: 1)
                let push: [UInt32] = [sourceSize[0].word, sourceSize[1].word, sourceSize[2].word, 0,
                                      (sourceOrigin[0] + d0).word, sourceOrigin[1].word, sourceOrigin[2].word, 0,
                                      destinationSize[0].word, destinationSize[1].word, destinationSize[2].word, 0,
                                      (destinationOrigin[0] + d0).word, destinationOrigin[1].word, destinationOrigin[2].word, 0,
                                      depth.word, extent[1].word, extent[2].word, 0,
                                      (src?.base ?? 0).word, dst.base.word, (accumulate ? 1 : 0).word]
                try backend.recorder.dispatch(pipeline, bindings: [srcBinding, dst.binding], push: push,
                                              groups: backend.grid(depth * extent[1] * extent[2], localSize: localSize))
            }
            d0 += depth
        }
    }
}

extension VulkanBackend {
    public func copyBox(_ source: Tensor, size sourceSize: [Int], origin sourceOrigin: [Int], to destination: Tensor,
                        size destinationSize: [Int], origin destinationOrigin: [Int], extent: [Int], accumulate: Bool) throws {
        try CopyBoxKernel.record(self, source, sourceSize, sourceOrigin, destination, destinationSize, destinationOrigin,
                                 extent, accumulate: accumulate)
    }

    /// A binding of the depth slices [firstSlice, firstSlice + slices) of a volume, clipped to the volume, with the
    /// element index its first element has in the whole tensor. Nil when the range lies outside the volume.
    func sliceBinding(_ tensor: Tensor, _ access: BufferBinding.Access, firstSlice: Int, slices: Int, sliceSize: Int,
                      totalSlices: Int) -> (binding: BufferBinding, base: Int)? {
        let lo = max(firstSlice, 0), hi = min(firstSlice + slices, totalSlices)
        guard lo < hi else { return nil }
        let window = BindingWindow(self, tensor, start: lo * sliceSize, end: hi * sliceSize, access: access)
        return (window.binding, lo * sliceSize - window.offset)
    }
}
