import Foundation
import Kernels
import Model

/// SegVol's zoom-out-zoom-in inference on one preprocessed CT: a global pass on the volume resized to the
/// spatial size, then sliding windows at full resolution over each category's region of interest.
public final class ZoomPipeline {
    public struct CategoryResult {
        /// Logits after the global pass, on the cropped full-resolution grid (D, H, W).
        public var zoomOutLogits: [Float]
        /// Final logits (the ROI overwritten by the window average), same grid.
        public var logits: [Float]
        /// Windows the zoom-in pass ran (0 when skipped).
        public var windows: Int
        public var seconds: Double
    }

    /// Which box a zoom-in window gets from a box prompt.
    public enum WindowBox: String, CaseIterable, Sendable {
        /// The published sliding window: the user's box for a single window, else the box of the global prediction
        /// inside the window (spec section 6.3).
        case published
        /// The user's zoom-out box, unchanged, in every window: what the shared fixtures were generated with.
        case user
    }

    public let model: SegVolModel
    public var zoomIn = true
    public var windowBox = WindowBox.published
    public var overlap = 0.5
    /// Called with a short status line before each long step.
    public var progress: ((String) -> Void)?
    private var backend: Backend { model.backend }
    private var window: [Int] { model.config.spatialSize }

    public init(model: SegVolModel) {
        self.model = model
    }

    /// Runs every category; prompts are in zoom-out (spatial size) coordinates.
    public func run(_ volume: PreprocessedVolume, prompts: [Prompt]) throws -> [CategoryResult] {
        let start = Date()
        let image = try backend.tensor(volume.data, shape: volume.shape, dtype: .float32)
        let zoomOut = try backend.empty(shape: [1, 1] + window)
        try backend.resize3d(image, out: zoomOut, channels: 1, inSize: volume.shape, outSize: window, mode: .nearestExact)
        progress?("zoom-out pass: \(prompts.count) categories")
        let tokens = try model.encodeImage(zoomOut)
        let logits = try model.segment(image: tokens, prompts: prompts)
        let globalSeconds = Date().timeIntervalSince(start) / Double(prompts.count)

        var results: [CategoryResult] = []
        let voxels = model.config.spatialVolume
        for (c, prompt) in prompts.enumerated() {
            let categoryStart = Date()
            let single = try backend.empty(shape: window)
            try backend.copy(logits, sourceOffset: c * voxels, to: single, destinationOffset: 0, count: voxels)
            let global = try backend.empty(shape: volume.shape)
            try backend.resize3d(single, out: global, channels: 1, inSize: window, outSize: volume.shape, mode: .nearest)
            let zoomOutLogits = try backend.read(global)
            var result = CategoryResult(zoomOutLogits: zoomOutLogits, logits: zoomOutLogits, windows: 0, seconds: 0)
            if zoomIn, let foreground = try foregroundBox(global, size: volume.shape) {
                result.windows = try refine(image: image, global: global, globalHost: zoomOutLogits, size: volume.shape,
                                            foreground: foreground, prompt: prompt, category: c, of: prompts.count)
                result.logits = try backend.read(global)
            }
            result.seconds = globalSeconds + Date().timeIntervalSince(categoryStart)
            results.append(result)
        }
        return results
    }

    /// Bounding box of logits > 0 (sigmoid > 0.5), or nil when nothing is foreground.
    private func foregroundBox(_ logits: Tensor, size: [Int]) throws -> WindowGeometry.Box? {
        let box = try backend.empty(shape: [6])
        try backend.boundingBox(logits, size: size, threshold: 0, out: box)
        let values = try backend.read(box).map { Int($0) }
        guard values[0] >= 0 else { return nil }
        return WindowGeometry.Box(lo: Array(values[0..<3]), hi: Array(values[3..<6]))
    }

    /// The zoom-in pass for one category: windows over the ROI, averaged, written into `global`.
    private func refine(image: Tensor, global: Tensor, globalHost: [Float], size: [Int], foreground: WindowGeometry.Box,
                        prompt: Prompt, category: Int, of categories: Int) throws -> Int {
        let roi = WindowGeometry.regionOfInterest(foreground: foreground, size: size, window: window)
        let extent = WindowGeometry.extent(of: roi, size: size)
        let pad = WindowGeometry.padBefore(extent: extent, window: window)
        let padded = WindowGeometry.paddedSize(extent: extent, window: window)
        let origins = WindowGeometry.windows(paddedSize: padded, window: window, overlap: overlap)

        // The ROI with zero padding (outside the ROI is padding even where the volume goes on).
        let roiImage = try backend.empty(shape: padded)
        try backend.fill(roiImage, value: 0)
        try backend.copyBox(image, size: size, origin: roi.lo, to: roiImage, size: padded, origin: pad, extent: extent, accumulate: false)
        let sum = try backend.empty(shape: padded)
        try backend.fill(sum, value: 0)
        let text = try prompt.text.map { try model.encodeText([$0]) }
        let globalPrediction = GlobalPrediction(logits: globalHost, size: size, roi: roi, pad: pad, padded: padded)

        for (index, origin) in origins.enumerated() {
            progress?("zoom-in: category \(category + 1)/\(categories), window \(index + 1)/\(origins.count)")
            let windowImage = try backend.empty(shape: [1, 1] + window)
            try backend.copyBox(roiImage, size: padded, origin: origin, to: windowImage, size: window, origin: [0, 0, 0],
                                extent: window, accumulate: false)
            let windowPrompt = try self.windowPrompt(prompt, origin: origin, single: origins.count == 1, roi: roi, extent: extent,
                                                     size: size, prediction: globalPrediction)
            let tokens = try model.encodeImage(windowImage)
            let lowRes = try model.decode(image: tokens, prompts: [windowPrompt], text: text)
            let windowLogits = try backend.empty(shape: window)
            try backend.resize3d(lowRes, out: windowLogits, channels: 1, inSize: model.config.lowResSize, outSize: window,
                                 mode: .trilinear(alignCorners: false))
            try backend.copyBox(windowLogits, size: window, origin: [0, 0, 0], to: sum, size: padded, origin: origin,
                                extent: window, accumulate: true)
            // One wait per window keeps memory bounded however many windows the ROI needs.
            try backend.synchronize()
        }
        let inverse = try backend.tensor(WindowGeometry.inverseCoverage(paddedSize: padded, window: window, overlap: overlap),
                                         shape: padded, dtype: .float32)
        try backend.binary(.multiply, sum, inverse, out: sum)
        try backend.copyBox(sum, size: padded, origin: pad, to: global, size: size, origin: roi.lo, extent: extent, accumulate: false)
        return origins.count
    }

    /// The prompt of one window (spec section 6.3): text unchanged; a box from the user's box when the ROI is one
    /// window, else from the global prediction inside the window; points that fall inside the window.
    private func windowPrompt(_ prompt: Prompt, origin: [Int], single: Bool, roi: WindowGeometry.Box, extent: [Int],
                              size: [Int], prediction: GlobalPrediction) throws -> Prompt {
        var result = Prompt(text: prompt.text)
        if let box = prompt.box {
            if windowBox == .user {
                result.box = box
            } else if single {
                result.box = userBoxInWindow(box, roi: roi, extent: extent, size: size)
            } else {
                result.box = prediction.box(inWindowAt: origin, window: window)
            }
        }
        if !prompt.points.isEmpty {
            // Deterministic: the user's points mapped to full resolution (centre of each point's nearest-resize
            // preimage) that fall in the window, with the box of the global prediction in the window.
            result.points = prompt.points.compactMap { point in
                let full = fullResolution(point, size: size)
                let local = (0..<3).map { full[$0] - roi.lo[$0] + prediction.pad[$0] - origin[$0] }
                guard (0..<3).allSatisfy({ local[$0] >= 0 && local[$0] < window[$0] }) else { return nil }
                return Prompt.Point(d: Float(local[0]), h: Float(local[1]), w: Float(local[2]), positive: point.positive)
            }
            result.box = prediction.box(inWindowAt: origin, window: window)
        }
        return result
    }

    /// The user's zoom-out box as the published code carries it into a single window: the box's cube resized
    /// to full resolution (legacy nearest), cut to the ROI, its bounding box in ROI coordinates (the published
    /// code does not shift it by the window's padding; reproduced).
    private func userBoxInWindow(_ box: [Float], roi: WindowGeometry.Box, extent: [Int], size: [Int]) -> [Float] {
        var lo = [Float](), hi = [Float]()
        for axis in 0..<3 {
            guard let (first, last) = WindowGeometry.nearestPreimage(lo: Int(box[axis]), hi: Int(box[axis + 3]),
                                                                     zoomedSize: window[axis], fullSize: size[axis]) else {
                return [-1, -1, -1, -1, -1, -1]
            }
            let a = max(first, roi.lo[axis]) - roi.lo[axis], b = min(last, roi.lo[axis] + extent[axis] - 1) - roi.lo[axis]
            guard a <= b else { return [-1, -1, -1, -1, -1, -1] }
            lo.append(Float(a))
            hi.append(Float(b))
        }
        return lo + hi
    }

    /// A zoom-out point's position on the full-resolution grid: the centre of its nearest-resize preimage.
    private func fullResolution(_ point: Prompt.Point, size: [Int]) -> [Int] {
        let coordinates = [point.d, point.h, point.w]
        return (0..<3).map { axis in
            let source = Int(coordinates[axis])
            guard let (first, last) = WindowGeometry.nearestPreimage(lo: source, hi: source, zoomedSize: window[axis],
                                                                     fullSize: size[axis]) else {
                return min(Int(Float(source) * Float(size[axis]) / Float(window[axis])), size[axis] - 1)
            }
            return (first + last) / 2
        }
    }
}

/// The global prediction (logits > 0) over the padded ROI, for the window box prompts.
struct GlobalPrediction {
    let logits: [Float]
    let size: [Int]
    let roi: WindowGeometry.Box
    let pad: [Int]
    let padded: [Int]

    /// Bounding box of the prediction inside the window at `origin` of the padded ROI, in window coordinates,
    /// or all −1 when the window holds no foreground (padding counts as background).
    func box(inWindowAt origin: [Int], window: [Int]) -> [Float] {
        var lo = [Int.max, Int.max, Int.max], hi = [-1, -1, -1]
        for d in 0..<window[0] {
            let z = roi.lo[0] - pad[0] + origin[0] + d
            guard z >= roi.lo[0], z <= roi.hi[0], z < size[0] else { continue }
            for h in 0..<window[1] {
                let y = roi.lo[1] - pad[1] + origin[1] + h
                guard y >= roi.lo[1], y <= roi.hi[1], y < size[1] else { continue }
                let row = (z * size[1] + y) * size[2]
                for w in 0..<window[2] {
                    let x = roi.lo[2] - pad[2] + origin[2] + w
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
