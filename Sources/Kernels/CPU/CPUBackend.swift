/// Values of a CPU tensor; fp16 tensors hold fp32 values rounded to half precision.
public final class CPUStorage {
    public var values: [Float]
    init(_ values: [Float]) { self.values = values }
}

/// The reference backend: each op is plain loops that read like the definition (see the files beside
/// this one). It runs eagerly; `synchronize` has nothing to wait for.
public final class CPUBackend: Backend {
    public let kind = "cpu"
    public var deviceName: String { "CPU reference" }
    public let supportsHalf = false

    public init() {}

    public func tensor(_ values: [Float], shape: [Int], dtype: DType = .float32) throws -> Tensor {
        try require(values.count == shape.reduce(1, *), "tensor: \(values.count) values for shape \(shape)")
        let stored = dtype == .float16 ? values.map { Float(Float16($0)) } : values
        return Tensor(shape: shape, dtype: dtype, storage: CPUStorage(stored))
    }

    public func empty(shape: [Int]) throws -> Tensor {
        Tensor(shape: shape, storage: CPUStorage([Float](repeating: 0, count: shape.reduce(1, *))))
    }

    public func write(_ values: [Float], into tensor: Tensor) throws {
        try require(values.count == tensor.count, "write: \(values.count) values into a tensor of \(tensor.count)")
        storage(tensor).values = values
    }

    public func read(_ tensor: Tensor) throws -> [Float] { storage(tensor).values }

    public func synchronize() throws {}

    /// The backing array of a CPU tensor (ops use it directly).
    func storage(_ tensor: Tensor) -> CPUStorage {
        guard let storage = tensor.storage as? CPUStorage else {
            preconditionFailure("a tensor of another backend was passed to the CPU backend")
        }
        return storage
    }
}
