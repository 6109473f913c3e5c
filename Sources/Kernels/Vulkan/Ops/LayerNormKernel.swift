extension VulkanBackend {
    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, rows: Int, dim: Int, eps: Float) throws {
        throw BackendError("layerNorm is not implemented yet")
    }

    public func sampleLayerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, samples: Int, sampleSize: Int,
                                eps: Float) throws {
        throw BackendError("sampleLayerNorm is not implemented yet")
    }
}
