import Foundation

/// Intensities inside a mask, in the image's units after scl_slope and scl_inter (Hounsfield units for CT).
public struct IntensitySummary: Codable, Equatable {
    public var mean: Double
    /// Population standard deviation (divides by the voxel count, as numpy's default).
    public var std: Double
    public var min: Double
    /// Exact: the middle value, or the mean of the two middle values for an even count.
    public var median: Double
    public var max: Double
}

/// Measurements of one category's mask on the image it was segmented from, on the input grid.
public struct CategoryStatistics: Codable, Equatable {
    public var label: Int
    public var name: String
    public var voxels: Int
    public var volumeMl: Double
    /// nil for an empty mask, as every field below.
    public var hu: IntensitySummary?
    /// Inclusive voxel indices i1, j1, k1, i2, j2, k2 as stored.
    public var boundingBoxVoxels: [Int]?
    /// The box's extent along i, j and k in millimetres (voxel count times spacing).
    public var boundingBoxSizeMm: [Double]?
    /// The smallest RAS+ box (x1, y1, z1, x2, y2, z2, millimetres) holding the box's corner voxel centres.
    public var boundingBoxRas: [Double]?
    /// The same box in LPS+.
    public var boundingBoxLps: [Double]?
    /// Mean voxel index (i, j, k).
    public var centroidVoxels: [Double]?
    public var centroidRas: [Double]?
    public var centroidLps: [Double]?

    enum CodingKeys: String, CodingKey {
        case label, name, voxels, volumeMl = "volume_ml", hu
        case boundingBoxVoxels = "bounding_box_voxels", boundingBoxSizeMm = "bounding_box_size_mm"
        case boundingBoxRas = "bounding_box_ras", boundingBoxLps = "bounding_box_lps"
        case centroidVoxels = "centroid_voxels", centroidRas = "centroid_ras", centroidLps = "centroid_lps"
    }

    // Empty masks write their missing fields as null, so every category has the same keys.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(label, forKey: .label)
        try container.encode(name, forKey: .name)
        try container.encode(voxels, forKey: .voxels)
        try container.encode(volumeMl, forKey: .volumeMl)
        try container.encode(hu, forKey: .hu)
        try container.encode(boundingBoxVoxels, forKey: .boundingBoxVoxels)
        try container.encode(boundingBoxSizeMm, forKey: .boundingBoxSizeMm)
        try container.encode(boundingBoxRas, forKey: .boundingBoxRas)
        try container.encode(boundingBoxLps, forKey: .boundingBoxLps)
        try container.encode(centroidVoxels, forKey: .centroidVoxels)
        try container.encode(centroidRas, forKey: .centroidRas)
        try container.encode(centroidLps, forKey: .centroidLps)
    }
}

extension CategoryStatistics {
    /// Measures `mask` (non-zero inside; stored order, i fastest) on `image`'s voxels and affine.
    public init(label: Int, name: String, mask: [UInt8], image: NIfTIImage) throws {
        let dims = image.header.dims
        guard mask.count == image.data.count else {
            throw PipelineError("the mask of \(name) has \(mask.count) voxels, the image \(image.data.count)")
        }
        let geometry = VoxelToWorld(affine: image.header.affine)
        var values: [Float] = []
        var indexSum = SIMD3<Double>.zero
        var lower = SIMD3<Int>(repeating: Int.max), upper = SIMD3<Int>(repeating: Int.min)
        for k in 0..<dims[2] {
            for j in 0..<dims[1] {
                let rowStart = (k * dims[1] + j) * dims[0]
                for i in 0..<dims[0] where mask[rowStart + i] != 0 {
                    values.append(image.data[rowStart + i])
                    let index = SIMD3(i, j, k)
                    indexSum += SIMD3<Double>(Double(i), Double(j), Double(k))
                    lower = pointwiseMin(lower, index)
                    upper = pointwiseMax(upper, index)
                }
            }
        }
        self.label = label
        self.name = name
        voxels = values.count
        volumeMl = Double(values.count) * abs(geometry.determinant) / 1000
        guard !values.isEmpty else { return }

        hu = IntensitySummary(values)
        boundingBoxVoxels = [lower.x, lower.y, lower.z, upper.x, upper.y, upper.z]
        let extent = SIMD3<Double>(Double(upper.x - lower.x + 1), Double(upper.y - lower.y + 1),
                                   Double(upper.z - lower.z + 1))
        boundingBoxSizeMm = (extent * geometry.spacing).array
        let corners = (0..<8).map { corner in
            geometry.apply(SIMD3(Double(corner & 1 == 0 ? lower.x : upper.x), Double(corner & 2 == 0 ? lower.y : upper.y),
                                 Double(corner & 4 == 0 ? lower.z : upper.z)))
        }
        let rasMin = corners.dropFirst().reduce(corners[0]) { pointwiseMin($0, $1) }
        let rasMax = corners.dropFirst().reduce(corners[0]) { pointwiseMax($0, $1) }
        boundingBoxRas = rasMin.array + rasMax.array
        // Negating x and y swaps which corner is the smaller one.
        boundingBoxLps = SIMD3(-rasMax.x, -rasMax.y, rasMin.z).array + SIMD3(-rasMin.x, -rasMin.y, rasMax.z).array
        let centroid = indexSum / Double(values.count)
        centroidVoxels = centroid.array
        centroidRas = geometry.apply(centroid).array
        centroidLps = geometry.apply(centroid).flippedRASLPS.array
    }
}

extension IntensitySummary {
    /// Sums in Double; the standard deviation from a second pass about the mean, which keeps precision. The median
    /// by selection, not a sort: a sort of a large organ's voxels took seconds of a batch's writer time.
    init(_ values: [Float]) {
        let count = Double(values.count)
        var sum = 0.0, lowest = values[0], highest = values[0]
        for value in values {
            sum += Double(value)
            lowest = Swift.min(lowest, value)
            highest = Swift.max(highest, value)
        }
        let mean = sum / count
        let squares = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
        var ordered = values
        let middle = ordered.count / 2
        let median = ordered.withUnsafeMutableBufferPointer { buffer -> Double in
            Selection.select(buffer, middle)
            guard buffer.count % 2 == 0 else { return Double(buffer[middle]) }
            // Selection leaves no larger value before `middle`: the lower middle value is the largest of those.
            return (Double(buffer[..<middle].max()!) + Double(buffer[middle])) / 2
        }
        self.init(mean: mean, std: (squares / count).squareRoot(), min: Double(lowest), median: median, max: Double(highest))
    }
}

/// The statistics of a segmented case, as `segment --statistics` (and `batch`) write it.
public struct StatisticsReport: Codable, Equatable {
    public var image: String
    /// Says which frames the millimetre fields use.
    public var coordinates: String
    public var voxelSizeMm: [Double]
    public var categories: [CategoryStatistics]

    enum CodingKeys: String, CodingKey {
        case image, coordinates, voxelSizeMm = "voxel_size_mm", categories
    }

    public init(image: String, header: NIfTIHeader, categories: [CategoryStatistics]) {
        self.image = image
        coordinates = "RAS+ millimetres from the NIfTI affine (sform, else qform); LPS+ (DICOM's patient frame) "
            + "is RAS+ with x and y negated; voxel indices count from 0 in stored order"
        voxelSizeMm = VoxelToWorld(affine: header.affine).spacing.array
        self.categories = categories
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
