import Foundation

/// Element-wise ops, data movement: the definitions the shaders are checked against.
extension CPUBackend {
    public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, out: Tensor, inner: Int) throws {
        try validateBinary(a, b, out: out, inner: inner)
        let x = storage(a).values, y = storage(b).values
        var result = [Float](repeating: 0, count: a.count)
        for i in 0..<a.count {
            let rhs = y[(i / inner) % y.count]
            result[i] = op == .add ? x[i] + rhs : x[i] * rhs
        }
        storage(out).values = result
    }

    public func unary(_ op: UnaryOp, _ x: Tensor, out: Tensor) throws {
        try require(out.count == x.count, "unary: out (\(out.count)) must equal x (\(x.count))")
        try require(x.dtype == .float32 && out.dtype == .float32, "unary: only fp32 tensors")
        storage(out).values = storage(x).values.map { unaryReference(op, $0) }
    }

    public func copy(_ source: Tensor, sourceOffset: Int, to destination: Tensor, destinationOffset: Int, count: Int) throws {
        try require(sourceOffset >= 0 && destinationOffset >= 0 && count >= 0
                        && sourceOffset + count <= source.count && destinationOffset + count <= destination.count,
                    "copy: \(count) elements from \(sourceOffset) of \(source.count) to \(destinationOffset) of \(destination.count)")
        try require(source.dtype == destination.dtype, "copy: source and destination types differ")
        let values = storage(source).values
        let target = storage(destination)
        for i in 0..<count { target.values[destinationOffset + i] = values[sourceOffset + i] }
    }

    public func fill(_ tensor: Tensor, value: Float) throws {
        storage(tensor).values = [Float](repeating: value, count: tensor.count)
    }
}

/// The scalar definitions shared by the CPU reference ops (GELU is the exact erf form).
public func unaryReference(_ op: UnaryOp, _ v: Float) -> Float {
    switch op {
    case .sigmoid: return 1 / (1 + exp(-v))
    case .relu: return max(v, 0)
    case .gelu: return 0.5 * v * (1 + erf(v / 2.0.squareRoot().asFloat))
    case .quickGelu: return v / (1 + exp(-1.702 * v))
    case let .affine(scale, shift): return v * scale + shift
    case let .clamp(lo, hi): return min(max(v, lo), hi)
    }
}

/// The activation epilogues of GEMM, as the unary ops define them.
public func activationReference(_ activation: Activation, _ v: Float) -> Float {
    switch activation {
    case .none: return v
    case .relu: return unaryReference(.relu, v)
    case .gelu: return unaryReference(.gelu, v)
    case .quickGelu: return unaryReference(.quickGelu, v)
    }
}

private extension Double {
    var asFloat: Float { Float(self) }
}
