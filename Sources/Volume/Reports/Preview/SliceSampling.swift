/// The three views, each named by the axis its plane is normal to.
public enum Plane: CaseIterable, Sendable {
    case axial, coronal, sagittal

    public var name: String { "\(self)" }
    /// 0, 1, 2: x, y, z in RAS.
    var normalAxis: Int { self == .sagittal ? 0 : self == .coronal ? 1 : 2 }
    var edgeLetters: (left: String, right: String, top: String, bottom: String) {
        switch self {
        case .axial: return ("R", "L", "A", "P")
        case .coronal: return ("R", "L", "S", "I")
        case .sagittal: return ("A", "P", "S", "I")
        }
    }
}

/// Where each view's pixels lie in RAS millimetres: the volume's bounding box at one scale.
struct DisplayGrid {
    let lower: SIMD3<Double>, upper: SIMD3<Double>
    let millimetresPerPixel: Double

    init(sampler: VolumeSampler, longestSide: Int) {
        // The outer faces of the corner voxels.
        let dims = sampler.dims
        let corners = (0..<8).map { corner in
            sampler.toWorld.apply(SIMD3(corner & 1 == 0 ? -0.5 : Double(dims[0]) - 0.5,
                                        corner & 2 == 0 ? -0.5 : Double(dims[1]) - 0.5,
                                        corner & 4 == 0 ? -0.5 : Double(dims[2]) - 0.5))
        }
        lower = corners.dropFirst().reduce(corners[0]) { pointwiseMin($0, $1) }
        upper = corners.dropFirst().reduce(corners[0]) { pointwiseMax($0, $1) }
        millimetresPerPixel = (upper - lower).max() / Double(longestSide)
    }

    private func pixels(_ axis: Int) -> Int {
        max(1, Int(((upper[axis] - lower[axis]) / millimetresPerPixel).rounded()))
    }

    func size(_ plane: Plane) -> (width: Int, height: Int) {
        switch plane {
        case .axial: return (pixels(0), pixels(1))
        case .coronal: return (pixels(0), pixels(2))
        case .sagittal: return (pixels(1), pixels(2))
        }
    }

    /// The centre of pixel (u, v) of `plane` through `point`; u runs to the patient's left (posterior in sagittal
    /// views), v to posterior (axial) or inferior.
    func world(_ plane: Plane, u: Int, v: Int, through point: SIMD3<Double>) -> SIMD3<Double> {
        let across = (Double(u) + 0.5) * millimetresPerPixel, down = (Double(v) + 0.5) * millimetresPerPixel
        switch plane {
        case .axial: return SIMD3(upper.x - across, upper.y - down, point.z)
        case .coronal: return SIMD3(upper.x - across, point.y, upper.z - down)
        case .sagittal: return SIMD3(point.x, upper.y - across, upper.z - down)
        }
    }
}

/// Reads a volume at continuous voxel positions.
struct VolumeSampler {
    let data: [Float]
    let dims: [Int]
    let toWorld: VoxelToWorld
    let toVoxel: VoxelToWorld

    init?(image: NIfTIImage) {
        data = image.data
        dims = image.header.dims
        toWorld = VoxelToWorld(affine: image.header.affine)
        guard let inverse = toWorld.inverse else { return nil }
        toVoxel = inverse
    }

    private func inside(_ voxel: SIMD3<Double>) -> Bool {
        (0..<3).allSatisfy { voxel[$0] >= -0.5 && voxel[$0] < Double(dims[$0]) - 0.5 }
    }

    /// Flat index of the voxel containing a position; nil outside the volume.
    func nearestIndex(_ voxel: SIMD3<Double>) -> Int? {
        guard inside(voxel) else { return nil }
        let i = Int(voxel.x.rounded()), j = Int(voxel.y.rounded()), k = Int(voxel.z.rounded())
        return (k * dims[1] + j) * dims[0] + i
    }

    /// Trilinear interpolation between voxel centres (clamped at the border); nil outside the volume.
    func intensity(_ voxel: SIMD3<Double>) -> Float? {
        guard inside(voxel) else { return nil }
        var base = [Int](repeating: 0, count: 3), weight = [Double](repeating: 0, count: 3)
        for axis in 0..<3 {
            let clamped = min(max(voxel[axis], 0), Double(dims[axis] - 1))
            base[axis] = min(Int(clamped.rounded(.down)), max(dims[axis] - 2, 0))
            weight[axis] = dims[axis] == 1 ? 0 : clamped - Double(base[axis])
        }
        var sum = 0.0
        for corner in 0..<8 {
            var w = 1.0, index = 0, stride = 1
            for axis in 0..<3 {
                let step = corner >> axis & 1
                w *= step == 1 ? weight[axis] : 1 - weight[axis]
                index += min(base[axis] + step, dims[axis] - 1) * stride
                stride *= dims[axis]
            }
            if w > 0 { sum += w * Double(data[index]) }
        }
        return Float(sum)
    }
}
