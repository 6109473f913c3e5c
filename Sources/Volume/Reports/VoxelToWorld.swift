/// A NIfTI affine as a map from voxel indices (i, j, k) to RAS+ millimetres, and back.
struct VoxelToWorld {
    /// Rows of the 3x3 linear part.
    let linear: [SIMD3<Double>]
    let translation: SIMD3<Double>

    init(affine: [[Double]]) {
        linear = (0..<3).map { SIMD3(affine[$0][0], affine[$0][1], affine[$0][2]) }
        translation = SIMD3(affine[0][3], affine[1][3], affine[2][3])
    }

    private init(linear: [SIMD3<Double>], translation: SIMD3<Double>) {
        self.linear = linear
        self.translation = translation
    }

    func apply(_ point: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3((linear[0] * point).sum(), (linear[1] * point).sum(), (linear[2] * point).sum()) + translation
    }

    /// Millimetres per voxel along i, j and k: the lengths of the affine's columns.
    var spacing: SIMD3<Double> {
        let squares: SIMD3<Double> = linear[0] * linear[0] + linear[1] * linear[1] + linear[2] * linear[2]
        return squares.squareRoot()
    }

    var determinant: Double {
        let (a, b, c) = (linear[0], linear[1], linear[2])
        return a.x * (b.y * c.z - b.z * c.y) - a.y * (b.x * c.z - b.z * c.x) + a.z * (b.x * c.y - b.y * c.x)
    }

    /// The map from millimetres back to voxel indices; nil for a singular affine.
    var inverse: VoxelToWorld? {
        let det = determinant
        guard abs(det) > 1e-12 else { return nil }
        let (a, b, c) = (linear[0], linear[1], linear[2])
        // The adjugate's rows are cross products of the matrix's columns; here, of its rows, transposed.
        let columns = [cross(b, c), cross(c, a), cross(a, b)].map { $0 / det }
        let rows = (0..<3).map { r in SIMD3(columns[0][r], columns[1][r], columns[2][r]) }
        let inverted = VoxelToWorld(linear: rows, translation: .zero)
        return VoxelToWorld(linear: rows, translation: -inverted.apply(translation))
    }

    private func cross(_ u: SIMD3<Double>, _ v: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(u.y * v.z - u.z * v.y, u.z * v.x - u.x * v.z, u.x * v.y - u.y * v.x)
    }
}

extension SIMD3 where Scalar == Double {
    /// The same point with x and y negated: RAS+ to LPS+ (DICOM's patient frame) and back.
    var flippedRASLPS: SIMD3<Double> { SIMD3(-x, -y, z) }
    var array: [Double] { [x, y, z] }
}
