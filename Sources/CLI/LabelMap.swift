import Volume

/// The label map `segment --out` and `batch` write, on the input's grid: each voxel gets the label (1..n in prompt
/// order) of the category with the highest positive logit, 0 where none is positive. `logits` are on the crop grid.
func labelMap(_ logits: [[Float]], geometry: CaseGeometry) -> [UInt8] {
    var labels = [UInt8](repeating: 0, count: logits[0].count)
    for v in 0..<labels.count {
        var best: Float = 0
        for (c, values) in logits.enumerated() where values[v] > best {
            best = values[v]
            labels[v] = UInt8(c + 1)
        }
    }
    return geometry.toStored(labels, fill: 0)
}
