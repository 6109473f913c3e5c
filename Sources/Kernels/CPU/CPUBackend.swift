/// Values of a CPU tensor; fp16 tensors hold fp32 values rounded to half precision, so reading them is exact.
public final class CPUStorage {
    public var values: [Float]
    init(_ values: [Float]) { self.values = values }
}

/// The reference backend: each op is plain loops that read like the definition (see the files beside
/// this one). It runs eagerly; `synchronize` has nothing to wait for.
public final class CPUBackend: Backend {
    public let kind = "cpu"
    public var deviceName: String { "CPU reference" }
    /// fp16 tensors hold fp16-rounded values: the reference for the GPU's fp16 storage.
    public let supportsHalf = true

    public init() {}

    public func tensor(_ values: [Float], shape: [Int], dtype: DType = .float32) throws -> Tensor {
        try require(values.count == shape.reduce(1, *), "tensor: \(values.count) values for shape \(shape)")
        let tensor = Tensor(shape: shape, dtype: dtype, storage: CPUStorage([]))
        store(values, into: tensor)
        return tensor
    }

    public func empty(shape: [Int], dtype: DType) throws -> Tensor {
        Tensor(shape: shape, dtype: dtype, storage: CPUStorage([Float](repeating: 0, count: shape.reduce(1, *))))
    }

    public func write(_ values: [Float], into tensor: Tensor) throws {
        try require(values.count == tensor.count, "write: \(values.count) values into a tensor of \(tensor.count)")
        store(values, into: tensor)
    }

    public func read(_ tensor: Tensor) throws -> [Float] { storage(tensor).values }

    public func synchronize() throws {}

    /// Sets a tensor's values, rounded to fp16 when it is fp16 (as the GPU's fp16 stores round): ops that
    /// may write fp16 tensors store their results through this.
    func store(_ values: [Float], into tensor: Tensor) {
        storage(tensor).values = tensor.dtype == .float16 ? values.map { Float(Float16($0)) } : values
    }

    /// The backing array of a CPU tensor (ops use it directly).
    func storage(_ tensor: Tensor) -> CPUStorage {
        guard let storage = tensor.storage as? CPUStorage else {
            preconditionFailure("a tensor of another backend was passed to the CPU backend")
        }
        return storage
    }
}
