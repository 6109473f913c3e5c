/// Row gathers and axis permutations: the definitions the shaders are checked against.
extension CPUBackend {
    public func gatherRows(_ table: Tensor, indices: [Int], rowSize: Int, out: Tensor) throws {
        try validateGather(table, indices: indices, rowSize: rowSize, out: out)
        let source = storage(table).values
        var result = [Float](repeating: 0, count: out.count)
        for (r, index) in indices.enumerated() {
            for c in 0..<rowSize { result[r * rowSize + c] = source[index * rowSize + c] }
        }
        storage(out).values = result
    }

    public func permute(_ x: Tensor, out: Tensor, shape: [Int], permutation: [Int]) throws {
        try validatePermute(x, out: out, shape: shape, permutation: permutation)
        // Pad to 5 axes with leading size-1 axes so one 5-deep loop covers every rank.
        let pad = 5 - shape.count
        let inShape = [Int](repeating: 1, count: pad) + shape
        let perm = (0..<pad).map { $0 } + permutation.map { $0 + pad }
        var inStrides = [Int](repeating: 1, count: 5)
        for axis in stride(from: 3, through: 0, by: -1) { inStrides[axis] = inStrides[axis + 1] * inShape[axis + 1] }
        let n = perm.map { inShape[$0] }
        let s = perm.map { inStrides[$0] }
        let source = storage(x).values
        var result = [Float](repeating: 0, count: x.count)
        source.withUnsafeBufferPointer { src in
            result.withUnsafeMutableBufferPointer { dst in
                var o = 0
                for i0 in 0..<n[0] { for i1 in 0..<n[1] { for i2 in 0..<n[2] { for i3 in 0..<n[3] {
                    let base = i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3]
                    for i4 in 0..<n[4] {
                        dst[o] = src[base + i4 * s[4]]
                        o += 1
                    }
                } } } }
            }
        }
        storage(out).values = result
    }
}

/// Argument checks shared by both backends.
func validateGather(_ table: Tensor, indices: [Int], rowSize: Int, out: Tensor) throws {
    try require(rowSize > 0 && table.count % rowSize == 0,
                "gatherRows: table of \(table.count) elements is not made of rows of \(rowSize)")
    try require(out.count == indices.count * rowSize,
                "gatherRows: out (\(out.count)) must hold \(indices.count) rows of \(rowSize)")
    let rows = table.count / rowSize
    if let bad = indices.first(where: { $0 < 0 || $0 >= rows }) {
        throw BackendError("gatherRows: index \(bad) outside the table's \(rows) rows")
    }
}

func validatePermute(_ x: Tensor, out: Tensor, shape: [Int], permutation: [Int]) throws {
    try require((1...5).contains(shape.count) && shape.allSatisfy { $0 >= 0 },
                "permute: shape \(shape) must have 1 to 5 non-negative axes")
    try require(permutation.sorted() == Array(0..<shape.count),
                "permute: \(permutation) is not a permutation of \(shape.count) axes")
    try require(x.count == shape.reduce(1, *) && out.count == x.count,
                "permute: x (\(x.count)) and out (\(out.count)) must both hold shape \(shape)")
}
