import Kernels

/// The sliding windows over one region of the crop (the published zoom-in): the region, zero-padded up to the
/// window size where it is smaller, and the window origins in that padded region.
struct RegionWindows {
    /// The region of interest, inclusive (hi may equal the crop size, which the extent clips).
    let roi: WindowGeometry.Box
    let extent: [Int]
    let pad: [Int]
    let padded: [Int]
    let origins: [[Int]]
    let window: [Int]

    init(roi: WindowGeometry.Box, size: [Int], window: [Int], overlap: Double) {
        self.roi = roi
        self.window = window
        extent = WindowGeometry.extent(of: roi, size: size)
        pad = WindowGeometry.padBefore(extent: extent, window: window)
        padded = WindowGeometry.paddedSize(extent: extent, window: window)
        origins = WindowGeometry.windows(paddedSize: padded, window: window, overlap: overlap)
    }

    /// The smallest box holding every box's ROI: where the shared grid goes.
    static func union(of boxes: [WindowGeometry.Box]) -> WindowGeometry.Box {
        WindowGeometry.Box(lo: (0..<3).map { axis in boxes.map { $0.lo[axis] }.min()! },
                           hi: (0..<3).map { axis in boxes.map { $0.hi[axis] }.max()! })
    }

    /// Crop coordinates of the first voxel of the window at `origin` (negative where it starts in padding).
    func start(of origin: [Int]) -> [Int] {
        (0..<3).map { roi.lo[$0] - pad[$0] + origin[$0] }
    }

    /// What the window at `origin` holds: the crop where it overlaps the region, zeros elsewhere.
    func content(at origin: [Int]) -> WindowContent {
        let start = start(of: origin)
        return WindowContent(start: start,
                             filledLo: (0..<3).map { max(start[$0], roi.lo[$0]) },
                             filledHi: (0..<3).map { min(start[$0] + window[$0], roi.lo[$0] + extent[$0]) })
    }
}

/// A zoom-in window's image, named by where it lies in the crop and which part of it the region fills (the
/// rest is zero padding): two windows with equal contents have the same image embedding.
struct WindowContent: Hashable {
    let start: [Int]
    /// The filled part in crop coordinates, lo inclusive, hi exclusive.
    let filledLo: [Int]
    let filledHi: [Int]
}

/// Image embeddings of zoom-in windows, each kept only while a later category still needs it, so categories
/// whose windows coincide share one encoder pass and memory holds no more than the pending reuses.
final class WindowEmbeddings {
    private var tokens: [WindowContent: Tensor] = [:]
    private var remainingUses: [WindowContent: Int] = [:]

    /// `uses`: every window the pass will ask for, with repeats.
    init(uses: [WindowContent]) {
        for content in uses { remainingUses[content, default: 0] += 1 }
    }

    /// The cached embedding of `content`, or `encode`'s; the cache lets go of it after its last use.
    func tokens(for content: WindowContent, encode: (WindowContent) throws -> Tensor) rethrows -> Tensor {
        let result = try tokens[content] ?? encode(content)
        let left = (remainingUses[content] ?? 1) - 1
        remainingUses[content] = left
        tokens[content] = left > 0 ? result : nil
        return result
    }
}

/// The global prediction (logits > 0) of one category inside its ROI, for the window box prompts.
struct GlobalPrediction {
    let logits: [Float]
    let size: [Int]
    let roi: WindowGeometry.Box

    /// Bounding box of the prediction inside the window whose first voxel is at `start` (crop coordinates), in window
    /// coordinates, or all −1 when the window holds no foreground (outside the ROI counts as background).
    func box(inWindowStartingAt start: [Int], window: [Int]) -> [Float] {
        var lo = [Int.max, Int.max, Int.max], hi = [-1, -1, -1]
        for d in 0..<window[0] {
            let z = start[0] + d
            guard z >= roi.lo[0], z <= roi.hi[0], z < size[0] else { continue }
            for h in 0..<window[1] {
                let y = start[1] + h
                guard y >= roi.lo[1], y <= roi.hi[1], y < size[1] else { continue }
                let row = (z * size[1] + y) * size[2]
                for w in 0..<window[2] {
                    let x = start[2] + w
                    guard x >= roi.lo[2], x <= roi.hi[2], x < size[2], logits[row + x] > 0 else { continue }
                    lo = [min(lo[0], d), min(lo[1], h), min(lo[2], w)]
                    hi = [max(hi[0], d), max(hi[1], h), max(hi[2], w)]
                }
            }
        }
        guard hi[0] >= 0 else { return [-1, -1, -1, -1, -1, -1] }
        return (lo + hi).map(Float.init)
    }
}
