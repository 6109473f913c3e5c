import Foundation

public enum CheckpointDType: String, Sendable {
    case float32, float16, bfloat16, int64

    var byteSize: Int {
        switch self {
        case .float32: return 4
        case .float16, .bfloat16: return 2
        case .int64: return 8
        }
    }
}

/// One named tensor: a strided view (in elements) into a storage that shares the mapped file's bytes.
public struct CheckpointTensor: Sendable {
    public let name: String
    public let dtype: CheckpointDType
    public let shape: [Int]
    let strides: [Int]
    let storageOffset: Int
    let storage: ByteSpan

    public var count: Int { shape.reduce(1, *) }

    /// Checks that the view fits its storage, so that reading it later cannot go out of bounds.
    init(name: String, dtype: CheckpointDType, shape: [Int], strides: [Int], storageOffset: Int,
         storage: ByteSpan) throws {
        guard shape.count == strides.count else {
            throw FormatError("tensor '\(name)' has \(shape.count) sizes but \(strides.count) strides")
        }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), storageOffset >= 0 else {
            throw FormatError("tensor '\(name)' has a negative size, stride or offset: size \(shape), stride \(strides), offset \(storageOffset)")
        }
        let elements = storage.count / dtype.byteSize
        var count = 1
        var lastIndex = storageOffset
        for (size, stride) in zip(shape, strides) {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw FormatError("tensor '\(name)' shape \(shape) is too large") }
            count = product
            guard size > 0 else { continue }
            let (reach, overflow2) = (size - 1).multipliedReportingOverflow(by: stride)
            let (sum, overflow3) = lastIndex.addingReportingOverflow(reach)
            guard !overflow2, !overflow3 else { throw FormatError("tensor '\(name)' strides \(strides) are too large") }
            lastIndex = sum
        }
        // Saved parameters never repeat elements (zero or overlapping strides); refusing them also bounds allocations.
        guard count <= elements else {
            throw FormatError("tensor '\(name)' has \(count) elements but its storage only \(elements); views that repeat storage elements are not supported")
        }
        guard count == 0 || lastIndex < elements else {
            throw FormatError("tensor '\(name)' (size \(shape), stride \(strides), offset \(storageOffset)) needs storage element \(lastIndex), but its storage holds only \(elements) \(dtype.rawValue) elements")
        }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.strides = strides
        self.storageOffset = storageOffset
        self.storage = storage
    }

    /// The values in contiguous row-major order, converted to Float (fp16 and bf16 exactly).
    public func floats() throws -> [Float] {
        switch dtype {
        case .float32: return gather { Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 4, as: UInt32.self))) }
        case .float16: return gather { floatFromHalf(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 2, as: UInt16.self))) }
        case .bfloat16: return gather { Float(bitPattern: UInt32(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 2, as: UInt16.self))) << 16) }
        case .int64: return gather { Float(Int64(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 8, as: Int64.self))) }
        }
    }

    /// The raw IEEE half bits in contiguous row-major order, for float16 tensors only.
    public func halfBits() throws -> [UInt16]? {
        guard dtype == .float16 else { return nil }
        return gather { UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 2, as: UInt16.self)) }
    }

    /// Reads every element in row-major order; `read` gets the storage bytes and an element index.
    private func gather<T>(_ read: (UnsafeRawBufferPointer, Int) -> T) -> [T] {
        let total = count
        return storage.withBytes { bytes in
            [T](unsafeUninitializedCapacity: total) { out, initialized in
                guard total > 0 else { initialized = 0; return }
                if isContiguous {
                    for i in 0..<total { out.initializeElement(at: i, to: read(bytes, storageOffset + i)) }
                } else {
                    // Odometer over the indices, innermost dimension fastest.
                    var index = [Int](repeating: 0, count: shape.count)
                    var position = storageOffset
                    for i in 0..<total {
                        out.initializeElement(at: i, to: read(bytes, position))
                        var axis = shape.count - 1
                        while axis >= 0 {
                            index[axis] += 1
                            position += strides[axis]
                            if index[axis] < shape[axis] { break }
                            position -= strides[axis] * shape[axis]
                            index[axis] = 0
                            axis -= 1
                        }
                    }
                }
                initialized = total
            }
        }
    }

    private var isContiguous: Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() {
            if size != 1, stride != expected { return false }
            expected *= size
        }
        return true
    }
}

/// Exact IEEE binary16 -> binary32 conversion (every half value is representable as a Float).
func floatFromHalf(_ bits: UInt16) -> Float {
    let sign: Float = bits & 0x8000 != 0 ? -1 : 1
    let exponent = Int(bits >> 10) & 0x1F
    let mantissa = UInt32(bits & 0x3FF)
    switch exponent {
    case 0: return sign * Float(mantissa) * 0x1p-24  // zero or subnormal
    case 0x1F: return Float(bitPattern: UInt32(bits & 0x8000) << 16 | 0x7F80_0000 | mantissa << 13)  // inf or NaN
    default: return Float(bitPattern: UInt32(bits & 0x8000) << 16 | UInt32(exponent + 112) << 23 | mantissa << 13)
    }
}
