import Foundation

extension NIfTIImage {
    /// The volume resampled to `dims` (trilinear, voxel centres aligned as align_corners=false) with a header that
    /// describes the same box in space: voxel sizes and the sform scaled, the sform and qform offsets moved to the new
    /// first voxel's centre (from the image's affine). Benchmarks make CTs of other sizes from the shared ones with it.
    public func resampled(to dims: [Int]) throws -> NIfTIImage {
        let old = header.dims
        guard dims.count == 3, dims.allSatisfy({ $0 > 0 && $0 <= Int(Int16.max) }) else {
            throw PipelineError("cannot resample to \(dims)")
        }
        // Old voxels per new voxel along each axis.
        let scale = (0..<3).map { Double(old[$0]) / Double(dims[$0]) }
        let taps = (0..<3).map { axis in
            (0..<dims[axis]).map { n -> (Int, Int, Float) in
                let x = min(max((Double(n) + 0.5) * scale[axis] - 0.5, 0), Double(old[axis] - 1))
                let low = Int(x)
                return (low, min(low + 1, old[axis] - 1), Float(x - Double(low)))
            }
        }
        var out = [Float](repeating: 0, count: dims.reduce(1, *))
        let (ni, nj) = (old[0], old[1])
        var index = 0
        for (k0, k1, wk) in taps[2] { for (j0, j1, wj) in taps[1] { for (i0, i1, wi) in taps[0] {
            func at(_ i: Int, _ j: Int, _ k: Int) -> Float { data[(k * nj + j) * ni + i] }
            let front = (at(i0, j0, k0) * (1 - wi) + at(i1, j0, k0) * wi) * (1 - wj) + (at(i0, j1, k0) * (1 - wi) + at(i1, j1, k0) * wi) * wj
            let back = (at(i0, j0, k1) * (1 - wi) + at(i1, j0, k1) * wi) * (1 - wj) + (at(i0, j1, k1) * (1 - wi) + at(i1, j1, k1) * wi) * wj
            out[index] = front * (1 - wk) + back * wk
            index += 1
        } } }

        var fields = header.fields
        let shift = (0..<3).map { r in (0..<3).reduce(0.0) { $0 + header.affine[r][$1] * (0.5 * scale[$1] - 0.5) } }
        for axis in 0..<3 {
            fields.setInt16(Int16(dims[axis]), at: NIfTIOffset.dim + 2 * (axis + 1))
            let pixdim = NIfTIOffset.pixdim + 4 * (axis + 1)
            fields.setFloat32(fields.float32(at: pixdim) * Float(scale[axis]), at: pixdim)
        }
        for r in 0..<3 {
            let row = NIfTIOffset.srow + 16 * r
            for axis in 0..<3 { fields.setFloat32(fields.float32(at: row + 4 * axis) * Float(scale[axis]), at: row + 4 * axis) }
            fields.setFloat32(fields.float32(at: row + 12) + Float(shift[r]), at: row + 12)
            let offset = NIfTIOffset.qoffset + 4 * r
            fields.setFloat32(fields.float32(at: offset) + Float(shift[r]), at: offset)
        }
        let resampledHeader = try NIfTI.parseHeader(fields.bytes, url: URL(fileURLWithPath: "resampled"))
        return NIfTIImage(header: resampledHeader, data: out)
    }
}
