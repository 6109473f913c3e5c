/// The published zoom-in geometry (SegVol's logits2roi_coor and MONAI's sliding window), as plain
/// integer arithmetic so it can be tested on its own.
public enum WindowGeometry {
    /// An inclusive box per axis in (D, H, W).
    public struct Box: Equatable, Sendable {
        public var lo: [Int]
        public var hi: [Int]
        public init(lo: [Int], hi: [Int]) { self.lo = lo; self.hi = hi }
    }

    /// The region of interest around a foreground box: each axis widened by half of what it lacks to reach the
    /// window size, clipped below at 0 and above at `size` (hi may equal size, which the slice then clips).
    public static func regionOfInterest(foreground: Box, size: [Int], window: [Int]) -> Box {
        var lo = foreground.lo, hi = foreground.hi
        for axis in 0..<3 {
            let pad = max(0, window[axis] - (foreground.hi[axis] - foreground.lo[axis] + 1))
            lo[axis] = max(0, lo[axis] - pad / 2)
            hi[axis] = min(size[axis], hi[axis] + pad / 2)
        }
        return Box(lo: lo, hi: hi)
    }

    /// Voxels the ROI slice [lo, hi + 1) holds, after clipping at the volume's end.
    public static func extent(of roi: Box, size: [Int]) -> [Int] {
        (0..<3).map { min(roi.hi[$0] + 1, size[$0]) - roi.lo[$0] }
    }

    /// Padding before the ROI so each axis reaches the window size (MONAI pads diff // 2 before).
    public static func padBefore(extent: [Int], window: [Int]) -> [Int] {
        (0..<3).map { max(window[$0] - extent[$0], 0) / 2 }
    }

    /// The padded ROI size: at least the window on every axis.
    public static func paddedSize(extent: [Int], window: [Int]) -> [Int] {
        (0..<3).map { max(extent[$0], window[$0]) }
    }

    /// Window starts along one axis: steps of int(window·(1 − overlap)) (the whole window when the padded size
    /// equals it), up to the first window that reaches the end, the last clamped to size − window.
    public static func starts(size: Int, window: Int, overlap: Double = 0.5) -> [Int] {
        let step = size == window ? window : max(Int(Double(window) * (1 - overlap)), 1)
        var starts: [Int] = []
        var n = 0
        while true {
            let start = n * step
            starts.append(start - max(start + window - size, 0))
            if start + window >= size { break }
            n += 1
        }
        return starts
    }

    /// All window origins in MONAI's order (first axis slowest).
    public static func windows(paddedSize: [Int], window: [Int], overlap: Double = 0.5) -> [[Int]] {
        let perAxis = (0..<3).map { starts(size: paddedSize[$0], window: window[$0], overlap: overlap) }
        return perAxis[0].flatMap { d in perAxis[1].flatMap { h in perAxis[2].map { w in [d, h, w] } } }
    }

    /// Per axis, 1 / (number of windows covering each index) over the padded ROI.
    public static func inverseCounts(paddedSize: [Int], window: [Int], overlap: Double = 0.5) -> [[Float]] {
        inverseCounts(starts: (0..<3).map { starts(size: paddedSize[$0], window: window[$0], overlap: overlap) },
                      size: paddedSize, window: window)
    }

    /// Per axis, 1 / (number of windows covering each index) of a box of `size` for the windows at every
    /// combination of the per-axis `starts` (relative to the box); indices no window covers get 1 / 0 = infinity.
    /// The grid is separable, so a voxel's window count is the product of its three per-axis counts.
    public static func inverseCounts(starts: [[Int]], size: [Int], window: [Int]) -> [[Float]] {
        (0..<3).map { axis -> [Float] in
            var count = [Int](repeating: 0, count: size[axis])
            for start in starts[axis] {
                for i in start ..< start + window[axis] { count[i] += 1 }
            }
            return count.map { 1 / Float($0) }
        }
    }

    /// Full-resolution indices whose legacy-nearest source (floor(j · in / out)) lies in [lo, hi]: how a box in
    /// zoom-out coordinates lands on the full-resolution grid. Nil when no index maps into it.
    public static func nearestPreimage(lo: Int, hi: Int, zoomedSize: Int, fullSize: Int) -> (Int, Int)? {
        let scale = Float(zoomedSize) / Float(fullSize)
        let hits = (0..<fullSize).filter { j in
            let source = min(Int((Float(j) * scale).rounded(.down)), zoomedSize - 1)
            return source >= lo && source <= hi
        }
        guard let first = hits.first, let last = hits.last else { return nil }
        return (first, last)
    }
}
