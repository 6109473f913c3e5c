import Foundation
import Model

/// How the stored voxel grid (i, j, k) maps to the preprocessed crop (d, h, w) = (k, j, i) + padding − crop start,
/// and the crop to the zoom-out grid (nearest-exact).
public struct CaseGeometry {
    public let storedDims: [Int]      // ni, nj, nk
    public let cropShape: [Int]       // D, H, W of the preprocessed crop
    public let padBefore: [Int]
    public let cropStart: [Int]
    public let spatialSize: [Int]

    public init(storedDims: [Int], volume: PreprocessedVolume, spatialSize: [Int]) {
        self.storedDims = storedDims
        cropShape = volume.shape
        padBefore = volume.padBefore
        cropStart = volume.cropStart
        self.spatialSize = spatialSize
    }

    /// Crop coordinates of a stored voxel (may fall outside the crop).
    public func crop(_ i: Int, _ j: Int, _ k: Int) -> [Int] {
        [k + padBefore[0] - cropStart[0], j + padBefore[1] - cropStart[1], i + padBefore[2] - cropStart[2]]
    }

    /// The zoom-out index whose nearest-exact source is closest to crop index `x` on `axis`.
    public func zoomOut(_ x: Int, axis: Int) -> Int {
        let scaled = (Double(x) + 0.5) * Double(spatialSize[axis]) / Double(cropShape[axis])
        return min(max(Int(scaled.rounded(.down)), 0), spatialSize[axis] - 1)
    }

    /// A stored-index box (i1, j1, k1, i2, j2, k2, inclusive) as a zoom-out box (d1, h1, w1, d2, h2, w2).
    public func zoomOutBox(stored box: [Int]) throws -> [Float] {
        let a = crop(box[0], box[1], box[2]), b = crop(box[3], box[4], box[5])
        var lo: [Float] = [], hi: [Float] = []
        for axis in 0..<3 {
            let first = max(min(a[axis], b[axis]), 0), last = min(max(a[axis], b[axis]), cropShape[axis] - 1)
            guard first <= last else {
                throw PipelineError("the box lies outside the part of the image that holds the body (nothing but background there)")
            }
            lo.append(Float(zoomOut(first, axis: axis)))
            hi.append(Float(zoomOut(last, axis: axis)))
        }
        return lo + hi
    }

    /// A stored-index point as zoom-out coordinates; nil when it falls outside the crop.
    public func zoomOutPoint(_ i: Int, _ j: Int, _ k: Int) -> [Float]? {
        let p = crop(i, j, k)
        guard (0..<3).allSatisfy({ p[$0] >= 0 && p[$0] < cropShape[$0] }) else { return nil }
        return (0..<3).map { Float(zoomOut(p[$0], axis: $0)) }
    }

    /// Values on the crop grid gathered from a stored-order array (labels for evaluation).
    public func toCrop(_ stored: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: cropShape.reduce(1, *))
        let (ni, nj) = (storedDims[0], storedDims[1])
        for d in 0..<cropShape[0] {
            let k = d + cropStart[0] - padBefore[0]
            guard k >= 0, k < storedDims[2] else { continue }
            for h in 0..<cropShape[1] {
                let j = h + cropStart[1] - padBefore[1]
                guard j >= 0, j < nj else { continue }
                for w in 0..<cropShape[2] {
                    let i = w + cropStart[2] - padBefore[2]
                    guard i >= 0, i < ni else { continue }
                    out[(d * cropShape[1] + h) * cropShape[2] + w] = stored[(k * nj + j) * ni + i]
                }
            }
        }
        return out
    }

    /// A crop-grid array placed back on the stored grid (stored order, i fastest); outside the crop is `fill`.
    /// Inlinable so that callers in other modules get it specialised (the generic form ran at metadata-lookup speed).
    @inlinable
    public func toStored<T>(_ crop: [T], fill: T) -> [T] {
        var out = [T](repeating: fill, count: storedDims.reduce(1, *))
        let (ni, nj) = (storedDims[0], storedDims[1])
        for k in 0..<storedDims[2] {
            let d = k + padBefore[0] - cropStart[0]
            guard d >= 0, d < cropShape[0] else { continue }
            for j in 0..<nj {
                let h = j + padBefore[1] - cropStart[1]
                guard h >= 0, h < cropShape[1] else { continue }
                for i in 0..<ni {
                    let w = i + padBefore[2] - cropStart[2]
                    guard w >= 0, w < cropShape[2] else { continue }
                    out[(k * nj + j) * ni + i] = crop[(d * cropShape[1] + h) * cropShape[2] + w]
                }
            }
        }
        return out
    }
}

/// A problem with a request or an input, worded for the user.
public struct PipelineError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The published evaluation's Dice: 2·|pred ∩ gt| / (|pred| + |gt| + 1), pred = logits > 0.
public func publishedDice(logits: [Float], label: [Float]) -> Double {
    var tp = 0.0, predicted = 0.0, truth = 0.0
    for i in 0..<logits.count {
        let p = logits[i] > 0 ? 1.0 : 0.0, g = Double(label[i])
        tp += p * g
        predicted += p
        truth += g
    }
    return 2 * tp / (predicted + truth + 1)
}
