import Foundation

/// The volume cannot be preprocessed (a constant image, say, or inconsistent sizes).
public struct PreprocessingError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// A CT after SegVol's preprocessing, up to (not including) the resize to the zoom-out size.
public struct PreprocessedVolume {
    /// (D, H, W) of `data`, W fastest; D is the third stored axis (k), W the first (i).
    public var shape: [Int]
    public var data: [Float]
    /// (D, H, W) after zero padding up to the spatial size, before cropping.
    public var paddedShape: [Int]
    /// Zeros added before the transposed volume on each axis (the rest of the padding goes after it).
    public var padBefore: [Int]
    /// The crop box in padded coordinates, start inclusive, end exclusive; results go back into it.
    public var cropStart: [Int]
    public var cropEnd: [Int]
}

/// SegVol's published preprocessing (spec section 6, steps 1-5).
public enum Preprocessing {
    /// - Parameters:
    ///   - stored: voxels in stored order, i fastest.
    ///   - dims: (ni, nj, nk).
    ///   - spatialSize: the model's (D, H, W).
    public static func run(stored: [Float], dims: [Int], spatialSize: [Int]) throws -> PreprocessedVolume {
        guard dims.count == 3, dims.allSatisfy({ $0 > 0 }), dims.reduce(1, *) == stored.count else {
            throw PreprocessingError(message: "dimensions \(dims) do not match \(stored.count) voxels")
        }
        guard spatialSize.count == 3, spatialSize.allSatisfy({ $0 > 0 }) else {
            throw PreprocessingError(message: "invalid spatial size \(spatialSize)")
        }
        let normalise = try Normalisation(stored)

        // Transposing the stored a[i, j, k] (i fastest) to v[k, j, i] (last index fastest) keeps
        // the memory order: only the shape changes.
        let shape = [dims[2], dims[1], dims[0]]
        let paddedShape = zip(shape, spatialSize).map { max($0, $1) }
        let padBefore = zip(paddedShape, shape).map { ($0 - $1) / 2 }

        // Padding adds zeros, which the crop to v > 0 removes again, so the crop box lies inside
        // the transposed volume: find it there and copy it out directly, never padding.
        guard let (low, high) = foregroundBox(stored, shape: shape, normalise) else {
            throw PreprocessingError(message: "no voxel is above the image minimum after normalisation")
        }
        let cropShape = (0..<3).map { high[$0] - low[$0] }
        let (height, width) = (shape[1], shape[2])
        let data = stored.withUnsafeBufferPointer { source in
            [Float](unsafeUninitializedCapacity: cropShape.reduce(1, *)) { out, initialized in
                var n = 0
                for k in low[0]..<high[0] {
                    for j in low[1]..<high[1] {
                        let row = (k * height + j) * width
                        for i in low[2]..<high[2] {
                            out[n] = normalise(source[row + i])
                            n += 1
                        }
                    }
                }
                initialized = n
            }
        }
        return PreprocessedVolume(shape: cropShape, data: data, paddedShape: paddedShape, padBefore: padBefore,
                                  cropStart: (0..<3).map { low[$0] + padBefore[$0] },
                                  cropEnd: (0..<3).map { high[$0] + padBefore[$0] })
    }

    /// Bounding box (start inclusive, end exclusive, per axis of (D, H, W)) of the voxels that
    /// normalise to more than 0, or nil when there are none.
    private static func foregroundBox(_ stored: [Float], shape: [Int], _ normalise: Normalisation)
        -> (low: [Int], high: [Int])? {
        let (depth, height, width) = (shape[0], shape[1], shape[2])
        var low = [depth, height, width], high = [0, 0, 0]
        stored.withUnsafeBufferPointer { source in
            for k in 0..<depth {
                for j in 0..<height {
                    let row = (k * height + j) * width
                    // Scan in from both ends of the row: only its outermost foreground voxels matter.
                    guard let first = (0..<width).first(where: { normalise(source[row + $0]) > 0 }) else { continue }
                    let last = (first..<width).last(where: { normalise(source[row + $0]) > 0 }) ?? first
                    low = [min(low[0], k), min(low[1], j), min(low[2], first)]
                    high = [max(high[0], k + 1), max(high[1], j + 1), max(high[2], last + 1)]
                }
            }
        }
        return high[0] > 0 ? (low, high) : nil
    }
}

/// Steps 1 and 3 fused into one monotone map of a stored value: foreground normalisation, then
/// min-max scaling to [0, 1]. Both steps only clip and scale, so the volume's minimum and maximum
/// after step 1 are the images of the stored minimum and maximum.
fileprivate struct Normalisation {
    let lower: Double, upper: Double
    let mean: Double, scale: Double
    let minimum: Double, range: Double

    init(_ stored: [Float]) throws {
        var statistics = (sum: 0.0, minimum: Float.infinity, maximum: -Float.infinity)
        var nonFinite = false
        stored.withUnsafeBufferPointer { source in
            for value in source {
                nonFinite = nonFinite || !value.isFinite
                statistics.sum += Double(value)
                statistics.minimum = min(statistics.minimum, value)
                statistics.maximum = max(statistics.maximum, value)
            }
        }
        if nonFinite { throw PreprocessingError(message: "the image contains NaN or infinite values") }
        if statistics.minimum == statistics.maximum {
            throw PreprocessingError(message: "the image is constant (every voxel is \(statistics.minimum))")
        }
        let threshold = statistics.sum / Double(stored.count)

        // The foreground: the voxels above the image mean; never empty, the image not being constant.
        let foreground = UnsafeMutableBufferPointer<Float>.allocate(capacity: stored.count)
        defer { foreground.deallocate() }
        var count = 0
        var sum = 0.0
        for value in stored where Double(value) > threshold {
            foreground[count] = value
            count += 1
            sum += Double(value)
        }
        let values = UnsafeMutableBufferPointer(rebasing: foreground[0..<count])

        // Mean and population std of the foreground of the original image, as the published code
        // takes them before clipping (a choice the later min-max scaling cancels anyway).
        mean = sum / Double(count)
        var squares = 0.0
        for value in values {
            let deviation = Double(value) - mean
            squares += deviation * deviation
        }
        scale = 1 / max((squares / Double(count)).squareRoot(), 1e-8)
        (lower, upper) = Percentile.lowerAndUpper(values, lowerPercent: 0.05, upperPercent: 99.95)

        let low = (min(max(Double(statistics.minimum), lower), upper) - mean) * scale
        let high = (min(max(Double(statistics.maximum), lower), upper) - mean) * scale
        minimum = low
        range = max(high - low, 1e-8)
    }

    /// Clip, standardise, then scale to [0, 1].
    @inline(__always)
    func callAsFunction(_ value: Float) -> Float {
        let standardised = (min(max(Double(value), lower), upper) - mean) * scale
        return Float((standardised - minimum) / range)
    }
}

/// NumPy's default ("linear") percentile, by selection instead of a full sort.
fileprivate enum Percentile {
    /// The two percentiles of `values` (reordered in place), `lowerPercent` <= `upperPercent`.
    static func lowerAndUpper(_ values: UnsafeMutableBufferPointer<Float>, lowerPercent: Double,
                              upperPercent: Double) -> (Double, Double) {
        let lower = percentile(values, lowerPercent, from: 0)
        // Selecting the lower rank left everything above it at higher positions: search only those.
        let upper = percentile(values, upperPercent, from: rank(values.count, lowerPercent).index)
        return (lower, upper)
    }

    /// NumPy's virtual index (n - 1) * p / 100, split into a rank and a fraction.
    private static func rank(_ count: Int, _ percent: Double) -> (index: Int, fraction: Double) {
        let position = Double(count - 1) * (percent / 100)
        let index = min(Int(position.rounded(.down)), count - 1)
        return (index, position - Double(index))
    }

    /// The percentile, given that the values below position `start` are all <= the ones after it.
    private static func percentile(_ values: UnsafeMutableBufferPointer<Float>, _ percent: Double,
                                   from start: Int) -> Double {
        let (index, fraction) = rank(values.count, percent)
        select(values, index, from: start)
        let below = Double(values[index])
        guard index + 1 < values.count else { return below }
        // After selection the next rank is the smallest value above position `index`.
        let above = Double(values[(index + 1)...].min() ?? values[index])
        // NumPy's lerp, computed from the nearer end for accuracy.
        let difference = above - below
        return fraction >= 0.5 ? above - difference * (1 - fraction) : below + difference * fraction
    }

    /// Reorders `values[start...]` so that position `k` holds the value a sort would put there,
    /// with no larger value before it and no smaller one after (Hoare's selection, median of three).
    static func select(_ values: UnsafeMutableBufferPointer<Float>, _ k: Int, from start: Int) {
        var low = start, high = values.count - 1
        // Guards against quadratic behaviour on adversarial orders: past this many rounds, sort.
        var roundsLeft = 4 * (Int.bitWidth - max(values.count, 1).leadingZeroBitCount) + 8
        while high > low {
            roundsLeft -= 1
            if roundsLeft == 0 {
                var remaining = UnsafeMutableBufferPointer(rebasing: values[low...high])
                remaining.sort()
                return
            }
            let middle = low + (high - low) / 2
            if values[middle] < values[low] { values.swapAt(middle, low) }
            if values[high] < values[low] { values.swapAt(high, low) }
            if values[high] < values[middle] { values.swapAt(high, middle) }
            let pivot = values[middle]
            var i = low, j = high
            while i <= j {
                while values[i] < pivot { i += 1 }
                while values[j] > pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            // Now values[low...j] <= pivot <= values[i...high], and anything between equals the pivot.
            if k <= j {
                high = j
            } else if k >= i {
                low = i
            } else {
                return
            }
        }
    }
}
