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
        let sliceSize = cropShape[1] * cropShape[2]
        let data = stored.withUnsafeBufferPointer { source in
            [Float](unsafeUninitializedCapacity: cropShape.reduce(1, *)) { out, initialized in
                // Slices of the crop are independent: spread them over the cores.
                let base = out.baseAddress!
                _ = parallelChunks(cropShape[0]) { slices in
                    for k in slices {
                        var n = k * sliceSize
                        for j in low[1]..<high[1] {
                            let row = ((low[0] + k) * height + j) * width
                            for i in low[2]..<high[2] {
                                base[n] = normalise(source[row + i])
                                n += 1
                            }
                        }
                    }
                }
                initialized = cropShape.reduce(1, *)
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
        let boxes = stored.withUnsafeBufferPointer { source in
            parallelChunks(depth) { slices in
                var low = [depth, height, width], high = [0, 0, 0]
                for k in slices {
                    for j in 0..<height {
                        let row = (k * height + j) * width
                        // Scan in from both ends of the row: only its outermost foreground voxels matter.
                        guard let first = (0..<width).first(where: { normalise(source[row + $0]) > 0 }) else { continue }
                        let last = (first..<width).last(where: { normalise(source[row + $0]) > 0 }) ?? first
                        low = [min(low[0], k), min(low[1], j), min(low[2], first)]
                        high = [max(high[0], k + 1), max(high[1], j + 1), max(high[2], last + 1)]
                    }
                }
                return (low, high)
            }
        }
        let low = (0..<3).map { axis in boxes.map { $0.0[axis] }.min()! }
        let high = (0..<3).map { axis in boxes.map { $0.1[axis] }.max()! }
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
        // Per-chunk partial results, merged in chunk order (the same order on every machine).
        let partials = stored.withUnsafeBufferPointer { source in
            parallelChunks(source.count) { range in
                var partial = (sum: 0.0, minimum: Float.infinity, maximum: -Float.infinity, nonFinite: false)
                for value in source[range] {
                    partial.nonFinite = partial.nonFinite || !value.isFinite
                    partial.sum += Double(value)
                    partial.minimum = min(partial.minimum, value)
                    partial.maximum = max(partial.maximum, value)
                }
                return partial
            }
        }
        if partials.contains(where: \.nonFinite) { throw PreprocessingError(message: "the image contains NaN or infinite values") }
        let statistics = (sum: partials.reduce(0) { $0 + $1.sum }, minimum: partials.map(\.minimum).min()!,
                          maximum: partials.map(\.maximum).max()!)
        if statistics.minimum == statistics.maximum {
            throw PreprocessingError(message: "the image is constant (every voxel is \(statistics.minimum))")
        }
        let threshold = statistics.sum / Double(stored.count)

        // The foreground: the voxels above the image mean; never empty, the image not being constant.
        // Each chunk counts its foreground, then copies it to its place: the foreground keeps the stored order.
        let chunkForeground = stored.withUnsafeBufferPointer { source in
            parallelChunks(source.count) { range in
                var partial = (count: 0, sum: 0.0)
                for value in source[range] where Double(value) > threshold {
                    partial.count += 1
                    partial.sum += Double(value)
                }
                return partial
            }
        }
        let count = chunkForeground.reduce(0) { $0 + $1.count }
        let foreground = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        defer { foreground.deallocate() }
        let starts = chunkForeground.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        stored.withUnsafeBufferPointer { source in
            let destination = foreground.baseAddress!
            _ = parallelIndexedChunks(source.count) { index, range in
                var n = starts[index]
                for value in source[range] where Double(value) > threshold {
                    destination[n] = value
                    n += 1
                }
            }
        }
        let values = UnsafeBufferPointer(foreground)

        // Mean and population std of the foreground of the original image, as the published code
        // takes them before clipping (a choice the later min-max scaling cancels anyway).
        let mean = chunkForeground.reduce(0) { $0 + $1.sum } / Double(count)
        self.mean = mean
        let squares = parallelChunks(count) { range -> Double in
            var partial = 0.0
            for value in values[range] {
                let deviation = Double(value) - mean
                partial += deviation * deviation
            }
            return partial
        }.reduce(0, +)
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

/// NumPy's default ("linear") percentile, from exact order statistics found without a full sort: one parallel
/// histogram of the values' top 16 key bits tells which bucket holds each wanted rank, and a selection among
/// that bucket's values (CT values, mostly integers, fall one value to a bucket) finishes it.
fileprivate enum Percentile {
    /// The two percentiles of `values`, `lowerPercent` <= `upperPercent`.
    static func lowerAndUpper(_ values: UnsafeBufferPointer<Float>, lowerPercent: Double,
                              upperPercent: Double) -> (Double, Double) {
        let lower = rank(values.count, lowerPercent), upper = rank(values.count, upperPercent)
        let wanted = [lower.index, lower.index + 1, upper.index, upper.index + 1].map { min($0, values.count - 1) }
        let sorted = orderStatistics(values, ranks: wanted)
        return (lerp(sorted[0], sorted[1], lower.fraction), lerp(sorted[2], sorted[3], upper.fraction))
    }

    /// NumPy's virtual index (n - 1) * p / 100, split into a rank and a fraction.
    private static func rank(_ count: Int, _ percent: Double) -> (index: Int, fraction: Double) {
        let position = Double(count - 1) * (percent / 100)
        let index = min(Int(position.rounded(.down)), count - 1)
        return (index, position - Double(index))
    }

    /// NumPy's lerp, computed from the nearer end for accuracy.
    private static func lerp(_ below: Float, _ above: Float, _ fraction: Double) -> Double {
        let difference = Double(above) - Double(below)
        return fraction >= 0.5 ? Double(above) - difference * (1 - fraction) : Double(below) + difference * fraction
    }

    /// An unsigned key with the order of the floats (finite values).
    @inline(__always)
    private static func key(_ value: Float) -> UInt32 {
        let bits = value.bitPattern
        return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
    }

    /// The values a sort would put at each of `ranks`.
    static func orderStatistics(_ values: UnsafeBufferPointer<Float>, ranks: [Int]) -> [Float] {
        let buckets = 1 << 16
        let histograms = parallelChunks(values.count) { range -> [Int] in
            var counts = [Int](repeating: 0, count: buckets)
            for value in values[range] { counts[Int(key(value) >> 16)] += 1 }
            return counts
        }
        var total = [Int](repeating: 0, count: buckets)
        for histogram in histograms { for bucket in 0..<buckets { total[bucket] += histogram[bucket] } }
        // For each rank: its bucket and its rank among that bucket's values.
        var located: [(bucket: Int, rank: Int)] = []
        for wanted in ranks {
            var before = 0, bucket = 0
            while before + total[bucket] <= wanted {
                before += total[bucket]
                bucket += 1
            }
            located.append((bucket, wanted - before))
        }
        // The values of those buckets, then a selection among them.
        var chosen = [Bool](repeating: false, count: buckets)
        for (bucket, _) in located { chosen[bucket] = true }
        let members = parallelChunks(values.count) { range -> [Int: [Float]] in
            var found: [Int: [Float]] = [:]
            for value in values[range] {
                let bucket = Int(key(value) >> 16)
                if chosen[bucket] { found[bucket, default: []].append(value) }
            }
            return found
        }
        var byBucket: [Int: [Float]] = [:]
        for part in members { for (bucket, found) in part { byBucket[bucket, default: []] += found } }
        return located.map { bucket, rank in
            var candidates = byBucket[bucket]!
            return candidates.withUnsafeMutableBufferPointer { buffer in
                Selection.select(buffer, rank)
                return buffer[rank]
            }
        }
    }
}

/// Chunks of 0..<count processed on all cores; results in chunk order. The chunk count is fixed (not the
/// core count), so sums merged from the chunks come out the same on every machine.
private let chunkCount = 64

private func chunkRange(_ index: Int, of count: Int) -> Range<Int> {
    (index * count / chunkCount)..<((index + 1) * count / chunkCount)
}

private func parallelChunks<T>(_ count: Int, _ body: (Range<Int>) -> T) -> [T] {
    parallelIndexedChunks(count) { _, range in body(range) }
}

/// As `parallelChunks`, with each chunk's index.
private func parallelIndexedChunks<T>(_ count: Int, _ body: (Int, Range<Int>) -> T) -> [T] {
    var results = [T?](repeating: nil, count: chunkCount)
    results.withUnsafeMutableBufferPointer { slots in
        let base = slots.baseAddress!
        DispatchQueue.concurrentPerform(iterations: chunkCount) { index in
            base[index] = body(index, chunkRange(index, of: count))
        }
    }
    return results.map { $0! }
}
