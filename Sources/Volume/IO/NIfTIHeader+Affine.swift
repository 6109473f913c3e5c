import Foundation

extension NIfTIHeader {
    /// A little-endian NIfTI-1 header for a volume of `dims` voxels whose voxel-to-RAS matrix is
    /// `affine`: sform and qform both set (scanner coordinates, millimetres), so any reader finds
    /// the same geometry. For volumes read from other formats (DICOM) and written as NIfTI.
    public init(dims: [Int], affine: [[Double]]) {
        precondition(dims.count == 3 && affine.count >= 3, "a 3D volume and a 4x4 affine")
        var fields = NIfTIHeaderFields(bytes: [UInt8](repeating: 0, count: NIfTIOffset.headerSize), bigEndian: false)
        fields.setInt32(Int32(NIfTIOffset.headerSize), at: NIfTIOffset.sizeofHdr)
        for (n, value) in ([3] + dims + [1, 1, 1, 1]).enumerated() { fields.setInt16(Int16(value), at: NIfTIOffset.dim + 2 * n) }
        fields.setInt16(16, at: NIfTIOffset.datatype)
        fields.setInt16(32, at: NIfTIOffset.bitpix)

        let quaternion = NIfTIQuaternion(affine)
        let pixdim = [quaternion.qfac] + quaternion.zooms + [1, 1, 1, 1]
        for (n, value) in pixdim.enumerated() { fields.setFloat32(Float(value), at: NIfTIOffset.pixdim + 4 * n) }
        fields.setFloat32(Float(NIfTIOffset.singleFileDataOffset), at: NIfTIOffset.voxOffset)
        fields.setFloat32(1, at: NIfTIOffset.sclSlope)
        // xyzt_units: millimetres (2) and seconds (8).
        fields.bytes[NIfTIOffset.xyztUnits] = 10
        fields.setInt16(1, at: NIfTIOffset.qformCode)
        fields.setInt16(1, at: NIfTIOffset.sformCode)
        for (n, value) in (quaternion.bcd + quaternion.offset).enumerated() {
            fields.setFloat32(Float(value), at: NIfTIOffset.quatern + 4 * n)
        }
        for r in 0..<3 {
            for c in 0..<4 { fields.setFloat32(Float(affine[r][c]), at: NIfTIOffset.srow + 16 * r + 4 * c) }
        }
        fields.bytes.replaceSubrange(NIfTIOffset.magic..<NIfTIOffset.magic + 4, with: Array("n+1\0".utf8))

        self.init(dims: dims, pixdim: quaternion.zooms.map(Float.init), datatype: 16,
                  affine: Array(affine[0..<3]) + [[0, 0, 0, 1]], rawHeader: fields.bytes, isBigEndian: false)
    }
}

/// The qform of an affine (NIfTI-1's nifti_mat44_to_quatern): voxel sizes, a sign for the k axis
/// (qfac) and the rotation as the quaternion's b, c, d.
private struct NIfTIQuaternion {
    let zooms: [Double]
    let qfac: Double
    let bcd: [Double]
    let offset: [Double]

    init(_ affine: [[Double]]) {
        offset = (0..<3).map { affine[$0][3] }
        let columns = (0..<3).map { c in (0..<3).map { affine[$0][c] } }
        let zooms = columns.map { column in column.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        self.zooms = zooms
        var r = (0..<3).map { row in (0..<3).map { c in zooms[c] > 0 ? affine[row][c] / zooms[c] : (row == c ? 1 : 0) } }
        let determinant = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
            + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0])
        // A left-handed grid flips k, which qfac records; the rest is a proper rotation.
        qfac = determinant < 0 ? -1.0 : 1.0
        if determinant < 0 { for row in 0..<3 { r[row][2] = -r[row][2] } }

        var a = r[0][0] + r[1][1] + r[2][2] + 1, b: Double, c: Double, d: Double
        if a > 0.5 {
            a = 0.5 * a.squareRoot()
            b = 0.25 * (r[2][1] - r[1][2]) / a
            c = 0.25 * (r[0][2] - r[2][0]) / a
            d = 0.25 * (r[1][0] - r[0][1]) / a
        } else {
            let xd = 1 + r[0][0] - (r[1][1] + r[2][2]), yd = 1 + r[1][1] - (r[0][0] + r[2][2])
            let zd = 1 + r[2][2] - (r[0][0] + r[1][1])
            if xd > 1 {
                b = 0.5 * xd.squareRoot()
                c = 0.25 * (r[0][1] + r[1][0]) / b
                d = 0.25 * (r[0][2] + r[2][0]) / b
                a = 0.25 * (r[2][1] - r[1][2]) / b
            } else if yd > 1 {
                c = 0.5 * yd.squareRoot()
                b = 0.25 * (r[0][1] + r[1][0]) / c
                d = 0.25 * (r[1][2] + r[2][1]) / c
                a = 0.25 * (r[0][2] - r[2][0]) / c
            } else {
                d = 0.5 * zd.squareRoot()
                b = 0.25 * (r[0][2] + r[2][0]) / d
                c = 0.25 * (r[1][2] + r[2][1]) / d
                a = 0.25 * (r[1][0] - r[0][1]) / d
            }
            // NIfTI keeps a >= 0 and derives it from b, c, d.
            if a < 0 { (b, c, d) = (-b, -c, -d) }
        }
        bcd = [b, c, d]
    }
}
