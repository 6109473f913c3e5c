/// How a NIfTI volume's voxels sit on a DICOM series' grid when both describe the same voxels, up
/// to the order and direction of the axes (a NIfTI converted from the series, by this engine or by
/// dcm2nix, say). Any other pair of grids is an error: resampling a mask is not done here.
public struct GridMapping {
    /// For each series axis (column, row, slice): the NIfTI axis, its direction and the NIfTI index of series index 0.
    private let axis: [Int]
    private let sign: [Int]
    private let origin: [Int]
    private let niftiDims: [Int]
    private let seriesDims: [Int]

    /// Off-axis direction cosines and sub-voxel offsets allowed: NIfTI stores the affine in float32.
    static let directionTolerance = 1e-3
    static let offsetTolerance = 0.05

    public init(nifti header: NIfTIHeader, series: DICOMVolume) throws {
        let target = series.image.header
        // Series voxel -> world -> NIfTI voxel.
        guard let inverse = invert(header.affine) else { throw PipelineError("the image's affine is singular") }
        let transform = (0..<3).map { r in
            (0..<4).map { c in (0..<4).reduce(0.0) { $0 + inverse[r][$1] * target.affine[$1][c] } }
        }
        var axis: [Int] = [], sign: [Int] = [], origin: [Int] = []
        let mismatch = PipelineError("the image's grid (\(header.dims), affine \(rounded(header.affine))) is not the reference "
            + "series' grid (\(target.dims), affine \(rounded(target.affine))); segment the DICOM series itself for a DICOM-SEG")
        for c in 0..<3 {
            let column = (0..<3).map { transform[$0][c] }
            guard let r = column.indices.max(by: { abs(column[$0]) < abs(column[$1]) }),
                  abs(abs(column[r]) - 1) < Self.directionTolerance,
                  column.indices.allSatisfy({ $0 == r || abs(column[$0]) < Self.directionTolerance }),
                  !axis.contains(r) else { throw mismatch }
            let offset = transform[r][3]
            guard abs(offset - offset.rounded()) < Self.offsetTolerance, header.dims[r] == target.dims[c] else { throw mismatch }
            let start = Int(offset.rounded()), direction = column[r] > 0 ? 1 : -1
            // The series' first and last index must land on the NIfTI's first and last.
            guard start == (direction > 0 ? 0 : header.dims[r] - 1) else { throw mismatch }
            axis.append(r)
            sign.append(direction)
            origin.append(start)
        }
        self.axis = axis
        self.sign = sign
        self.origin = origin
        niftiDims = header.dims
        seriesDims = target.dims
    }

    /// A NIfTI-ordered mask in the series' voxel order.
    public func onSeriesGrid<T>(_ values: [T]) -> [T] {
        let stride = [1, niftiDims[0], niftiDims[0] * niftiDims[1]]
        var step = [0, 0, 0]
        for c in 0..<3 { step[c] = sign[c] * stride[axis[c]] }
        let start = (0..<3).reduce(0) { $0 + origin[$1] * stride[axis[$1]] }
        var out: [T] = []
        out.reserveCapacity(values.count)
        for k in 0..<seriesDims[2] {
            for j in 0..<seriesDims[1] {
                let row = start + k * step[2] + j * step[1]
                for i in 0..<seriesDims[0] { out.append(values[row + i * step[0]]) }
            }
        }
        return out
    }
}

/// The inverse of a 4x4 affine (rotation-scale block and translation); nil when singular.
private func invert(_ a: [[Double]]) -> [[Double]]? {
    let m = (0..<3).map { r in (0..<3).map { a[r][$0] } }
    let determinant = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    guard abs(determinant) > 1e-12 else { return nil }
    // Adjugate over the determinant.
    let inverse = (0..<3).map { r in
        (0..<3).map { c -> Double in
            let rows = [0, 1, 2].filter { $0 != c }, columns = [0, 1, 2].filter { $0 != r }
            let minor = m[rows[0]][columns[0]] * m[rows[1]][columns[1]] - m[rows[0]][columns[1]] * m[rows[1]][columns[0]]
            return ((r + c) % 2 == 0 ? 1 : -1) * minor / determinant
        }
    }
    let translation = (0..<3).map { r in -(0..<3).reduce(0.0) { $0 + inverse[r][$1] * a[$1][3] } }
    return (0..<3).map { inverse[$0] + [translation[$0]] } + [[0, 0, 0, 1]]
}

private func rounded(_ affine: [[Double]]) -> [[Double]] {
    affine.prefix(3).map { row in row.map { ($0 * 1000).rounded() / 1000 } }
}
