/// GEMM reference: C = act(A·Bᵀ + bias) + residual, per batch item, accumulated in fp32 (an fp16 C is rounded once).
extension CPUBackend {
    public func gemm(_ a: Tensor, _ b: Tensor, bias: Tensor?, residual: Tensor?, out: Tensor, _ shape: GemmShape) throws {
        try GemmShape.validate(a, b, bias: bias, residual: residual, out: out, shape)
        let (m, n, k) = (shape.m, shape.n, shape.k)
        let aValues = storage(a).values, bValues = storage(b).values
        let biasValues = bias.map { storage($0).values }
        // Copied before `out` is written, so a residual that is `out` itself is read unchanged.
        let residualValues = residual.map { storage($0).values }
        var result = storage(out).values
        var row = [Float](repeating: 0, count: n)
        aValues.withUnsafeBufferPointer { av in
            bValues.withUnsafeBufferPointer { bv in
                for batch in 0..<shape.batch {
                    let aBase = batch * shape.strideA, bBase = batch * shape.strideB, cBase = batch * shape.strideC
                    for i in 0..<m {
                        let aRow = aBase + i * k
                        switch shape.bLayout {
                        case .nk:
                            // Row j of B is contiguous along k: one dot product per output.
                            for j in 0..<n {
                                let bRow = bBase + j * k
                                var sum: Float = 0
                                for p in 0..<k { sum += av[aRow + p] * bv[bRow + p] }
                                row[j] = sum
                            }
                        case .kn:
                            // Row p of B is contiguous along n: accumulate a·B[p, :] into the output row.
                            for j in 0..<n { row[j] = 0 }
                            for p in 0..<k {
                                let x = av[aRow + p], bRow = bBase + p * n
                                for j in 0..<n { row[j] += x * bv[bRow + j] }
                            }
                        }
                        let cRow = cBase + i * n
                        for j in 0..<n {
                            var value = activationReference(shape.activation, row[j] + (biasValues?[j] ?? 0))
                            if let residualValues { value += residualValues[cRow + j] }
                            result[cRow + j] = value
                        }
                    }
                }
            }
        }
        store(result, into: out)
    }
}

extension GemmShape {
    /// The checks both backends make: sizes, strides that fit the tensors, dtypes. The residual has
    /// the layout and dtype of `out` (stride `strideC`); the bias is fp32.
    static func validate(_ a: Tensor, _ b: Tensor, bias: Tensor?, residual: Tensor?, out: Tensor, _ s: GemmShape) throws {
        try require(s.m > 0 && s.n > 0 && s.k > 0 && s.batch > 0,
                    "gemm: m, n, k and batch must be positive (m \(s.m), n \(s.n), k \(s.k), batch \(s.batch))")
        try require(s.strideA >= 0 && s.strideB >= 0 && s.strideC >= 0,
                    "gemm: negative stride (a \(s.strideA), b \(s.strideB), c \(s.strideC))")
        try require(s.batch == 1 || s.strideC >= s.m * s.n,
                    "gemm: strideC \(s.strideC) < m·n \(s.m * s.n) would make batch items overlap in out")
        let last = s.batch - 1
        try require(a.count >= last * s.strideA + s.m * s.k,
                    "gemm: a has \(a.count) elements, needs \(last * s.strideA + s.m * s.k) for batch \(s.batch) × \(s.m)x\(s.k) at stride \(s.strideA)")
        try require(b.count >= last * s.strideB + s.n * s.k,
                    "gemm: b has \(b.count) elements, needs \(last * s.strideB + s.n * s.k) for batch \(s.batch) × \(s.n * s.k) at stride \(s.strideB)")
        let cNeeded = last * s.strideC + s.m * s.n
        try require(out.count >= cNeeded,
                    "gemm: out has \(out.count) elements, needs \(cNeeded) for batch \(s.batch) × \(s.m)x\(s.n) at stride \(s.strideC)")
        if let bias {
            try require(bias.count == s.n, "gemm: bias has \(bias.count) elements, expected n = \(s.n)")
            try require(bias.dtype == .float32, "gemm: bias must be fp32")
        }
        if let residual {
            try require(residual.count >= cNeeded,
                        "gemm: residual has \(residual.count) elements, needs \(cNeeded) (the layout of out)")
            try require(residual.dtype == out.dtype, "gemm: residual must have out's dtype")
        }
    }
}
