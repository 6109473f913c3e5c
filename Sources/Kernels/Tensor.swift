/// Element type of a tensor's storage. Arithmetic is fp32 either way; fp16 halves weight traffic.
public enum DType: Sendable {
    case float32, float16
    public var size: Int { self == .float32 ? 4 : 2 }
}

/// A dense row-major tensor owned by one backend: shape plus backend storage (CPU array or GPU buffer).
public final class Tensor {
    public let shape: [Int]
    public let dtype: DType
    /// `CPUStorage` for the CPU backend, `GPUBuffer` for the Vulkan backend.
    public let storage: AnyObject

    public init(shape: [Int], dtype: DType = .float32, storage: AnyObject) {
        self.shape = shape
        self.dtype = dtype
        self.storage = storage
    }

    public var count: Int { shape.reduce(1, *) }
    public var byteCount: Int { count * dtype.size }
}

/// Errors from ops: wrong shapes or a request the backend cannot serve.
public struct BackendError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Throws a `BackendError` unless `condition` holds; ops validate their arguments with it.
@inline(__always)
public func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw BackendError(message()) }
}

extension Tensor {
    /// The same storage seen with another shape of the same element count (no copy).
    public func reshaped(_ shape: [Int]) -> Tensor {
        precondition(shape.reduce(1, *) == count, "reshape \(self.shape) to \(shape)")
        return Tensor(shape: shape, dtype: dtype, storage: storage)
    }
}
