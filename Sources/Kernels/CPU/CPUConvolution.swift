extension CPUBackend {
    public func conv3d(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor, _ shape: ConvShape) throws {
        throw BackendError("conv3d is not implemented yet")
    }

    public func convTranspose3d(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor, _ shape: ConvShape) throws {
        throw BackendError("convTranspose3d is not implemented yet")
    }

    public func resize3d(_ x: Tensor, out: Tensor, channels: Int, inSize: [Int], outSize: [Int], mode: ResizeMode) throws {
        throw BackendError("resize3d is not implemented yet")
    }
}
