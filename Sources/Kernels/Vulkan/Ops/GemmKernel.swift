extension VulkanBackend {
    public func gemm(_ a: Tensor, _ b: Tensor, bias: Tensor?, residual: Tensor?, out: Tensor, _ shape: GemmShape) throws {
        throw BackendError("gemm is not implemented yet")
    }
}
