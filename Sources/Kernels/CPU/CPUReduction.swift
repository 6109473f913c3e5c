/// Whole-tensor reductions and the foreground bounding box, accumulated in Double for the reference.
extension CPUBackend {
    public func reduce(_ op: ReduceOp, _ x: Tensor, out: Tensor) throws {
        try validateReduce(x, out: out)
        let values = storage(x).values
        let result: Double
        switch op {
        case .min: result = Double(values.min() ?? 0)
        case .max: result = Double(values.max() ?? 0)
        case .sum: result = sum(values)
        case .mean: result = sum(values) / Double(values.count)
        case .variance:
            // Two passes: the mean first, then the mean squared deviation from it.
            let mean = sum(values) / Double(values.count)
            var squares = 0.0
            for v in values { squares += (Double(v) - mean) * (Double(v) - mean) }
            result = squares / Double(values.count)
        }
        storage(out).values[0] = Float(result)
    }

    private func sum(_ values: [Float]) -> Double {
        var total = 0.0
        for v in values { total += Double(v) }
        return total
    }

    public func boundingBox(_ x: Tensor, size: [Int], threshold: Float, out: Tensor) throws {
        try validateBoundingBox(x, size: size, out: out)
        let (depth, height, width) = (size[0], size[1], size[2])
        var (d0, h0, w0, d1, h1, w1) = (Int.max, Int.max, Int.max, -1, -1, -1)
        storage(x).values.withUnsafeBufferPointer { v in
            for d in 0..<depth {
                for h in 0..<height {
                    let row = (d * height + h) * width
                    for w in 0..<width where v[row + w] > threshold {
                        d0 = min(d0, d); h0 = min(h0, h); w0 = min(w0, w)
                        d1 = max(d1, d); h1 = max(h1, h); w1 = max(w1, w)
                    }
                }
            }
        }
        let box = d1 < 0 ? [Int](repeating: -1, count: 6) : [d0, h0, w0, d1, h1, w1]
        storage(out).values = box.map { Float($0) }
    }
}

func validateReduce(_ x: Tensor, out: Tensor) throws {
    try require(x.count > 0, "reduce: x is empty")
    try require(out.count == 1, "reduce: out must have 1 element, not \(out.count)")
}

func validateBoundingBox(_ x: Tensor, size: [Int], out: Tensor) throws {
    try require(size.count == 3 && size.allSatisfy { $0 > 0 } && x.count == size.reduce(1, *),
                "boundingBox: x (\(x.count)) must be a non-empty (D, H, W) volume of \(size)")
    try require(out.count == 6, "boundingBox: out must have 6 elements, not \(out.count)")
}
