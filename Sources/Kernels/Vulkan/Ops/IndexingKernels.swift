extension VulkanBackend {
    public func gatherRows(_ table: Tensor, indices: [Int], rowSize: Int, out: Tensor) throws {
        throw BackendError("gatherRows is not implemented yet")
    }

    public func permute(_ x: Tensor, out: Tensor, shape: [Int], permutation: [Int]) throws {
        throw BackendError("permute is not implemented yet")
    }

    public func reduce(_ op: ReduceOp, _ x: Tensor, out: Tensor) throws {
        throw BackendError("reduce is not implemented yet")
    }

    public func boundingBox(_ x: Tensor, size: [Int], threshold: Float, out: Tensor) throws {
        throw BackendError("boundingBox is not implemented yet")
    }
}
