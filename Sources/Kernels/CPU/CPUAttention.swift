import Foundation

/// Attention reference: for each (batch, head, query) the scores against every key, a max-subtracted
/// softmax, then the weighted sum of value rows. The score row is stored here (the shader never does).
/// Sums are fp32; an fp16 out is rounded once per value.
extension CPUBackend {
    public func attention(q: AttentionOperand, k: AttentionOperand, v: AttentionOperand, out: AttentionOperand,
                          _ shape: AttentionShape) throws {
        try validateAttention(q: q, k: k, v: v, out: out, shape)
        let d = shape.headDim
        let qs = storage(q.tensor).values, ks = storage(k.tensor).values, vs = storage(v.tensor).values
        var result = storage(out.tensor).values
        var scores = [Float](repeating: 0, count: shape.keys)
        var row = [Float](repeating: 0, count: d)
        qs.withUnsafeBufferPointer { qp in
        ks.withUnsafeBufferPointer { kp in
        vs.withUnsafeBufferPointer { vp in
            for b in 0..<shape.batch {
                for h in 0..<shape.heads {
                    let qBase = q.offset + b * q.batchStride + h * q.headStride
                    let kBase = k.offset + b * k.batchStride + h * k.headStride
                    let vBase = v.offset + b * v.batchStride + h * v.headStride
                    let oBase = out.offset + b * out.batchStride + h * out.headStride
                    for i in 0..<shape.queries {
                        // Causal: query i sees keys 0...i only.
                        let visible = shape.causal ? min(i + 1, shape.keys) : shape.keys
                        let qRow = qBase + i * q.rowStride
                        var maxScore = -Float.infinity
                        for j in 0..<visible {
                            let kRow = kBase + j * k.rowStride
                            var dot: Float = 0
                            for c in 0..<d { dot += qp[qRow + c] * kp[kRow + c] }
                            scores[j] = dot * shape.scale
                            maxScore = max(maxScore, scores[j])
                        }
                        var sum: Float = 0
                        for j in 0..<visible {
                            scores[j] = exp(scores[j] - maxScore)
                            sum += scores[j]
                        }
                        for c in 0..<d { row[c] = 0 }
                        for j in 0..<visible {
                            let vRow = vBase + j * v.rowStride
                            let weight = scores[j] / sum
                            for c in 0..<d { row[c] += weight * vp[vRow + c] }
                        }
                        let oRow = oBase + i * out.rowStride
                        for c in 0..<d { result[oRow + c] = row[c] }
                    }
                }
            }
        }
        }
        }
        store(result, into: out.tensor)
    }
}

/// Checks that every element the views address lies inside its tensor (shared by both backends).
func validateAttention(q: AttentionOperand, k: AttentionOperand, v: AttentionOperand, out: AttentionOperand,
                       _ shape: AttentionShape) throws {
    try require(shape.batch >= 1 && shape.heads >= 1 && shape.queries >= 1 && shape.keys >= 1 && shape.headDim >= 1,
                "attention: empty shape \(shape)")
    try require(k.tensor.dtype == q.tensor.dtype && v.tensor.dtype == q.tensor.dtype, "attention: q, k and v must share one dtype")
    for (name, operand, rows) in [("q", q, shape.queries), ("k", k, shape.keys), ("v", v, shape.keys), ("out", out, shape.queries)] {
        try require(operand.offset >= 0 && operand.rowStride >= 0 && operand.headStride >= 0 && operand.batchStride >= 0,
                    "attention: \(name) has a negative offset or stride")
        let last = attentionExtent(operand, shape, rows: rows)
        try require(last <= operand.tensor.count,
                    "attention: \(name) view reaches element \(last) of a tensor of \(operand.tensor.count)")
    }
}

/// One past the last element a view addresses.
func attentionExtent(_ operand: AttentionOperand, _ shape: AttentionShape, rows: Int, batches: Int? = nil) -> Int {
    operand.offset + ((batches ?? shape.batch) - 1) * operand.batchStride + (shape.heads - 1) * operand.headStride
        + (rows - 1) * operand.rowStride + shape.headDim
}
