import Foundation
import Kernels
import Model

/// SegVol's zoom-out-zoom-in inference on one preprocessed CT: a global pass on the volume resized to the
/// spatial size, then sliding windows at full resolution over each category's region of interest.
public final class ZoomPipeline {
    public struct CategoryResult {
        /// Logits after the global pass, on the cropped full-resolution grid (D, H, W); empty unless
        /// `keepsZoomOutLogits`.
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

    /// Where the zoom-in windows go.
    public enum WindowGrid: String, CaseIterable, Sendable {
        /// Each category's own windows over its own region, as the published code; a window whose content another
        /// category already encoded reuses that embedding, so results equal running each category alone.
        case exact
        /// One grid over the union of the categories' regions: every window is encoded once per case and each
        /// category is decoded in the windows that touch its region. Masks differ slightly from exact.
        case shared
    }

    /// Which prompt makes the prompt encoder's tokens (box corners, points, text token) in each decode.
    public enum PromptTokens: String, CaseIterable, Sendable {
        /// Each category's own prompt: the published model.
        case own
        /// The first category's prompt for every category, each keeping its own text in the decoder's text-similarity
        /// term: how the shared fixtures' second categories were generated (not the published model). Needs the
        /// user's box in every window, the exact window grid and no point prompts, where the first category's
        /// window prompt is its own prompt unchanged.
        case first
    }

    /// What the last `run` did, for batch reports and benchmarks.
    public struct Statistics: Sendable {
        public var zoomOutSeconds = 0.0
        public var zoomInSeconds = 0.0
        /// Zoom-in windows run through the image encoder.
        public var windowsEncoded = 0
        /// Zoom-in windows run through the mask decoder, summed over categories.
        public var windowsDecoded = 0
    }

    public let model: SegVolModel
    public var zoomIn = true
    public var windowBox = WindowBox.published
    public var windowGrid = WindowGrid.exact
    public var promptTokens = PromptTokens.own
    public var overlap = 0.5
    /// Whether results carry the zoom-out logits (evaluate reports their Dice); batch runs skip those host copies.
    public var keepsZoomOutLogits = true
    /// Called with a short status line before each long step.
    public var progress: ((String) -> Void)?
    public internal(set) var statistics = Statistics()
    var backend: Backend { model.backend }
    var window: [Int] { model.config.spatialSize }

    public init(model: SegVolModel) {
        self.model = model
    }

    /// One category on its way through the zoom-in pass.
    struct ZoomInCategory {
        let index: Int
        let prompt: Prompt
        /// Zoom-out logits on the crop grid; the zoom-in result overwrites the ROI.
        let global: Tensor
        let globalHost: [Float]
        let region: RegionWindows
        /// The prompt's text embedding (1, E) from the zoom-out pass, reused by every window.
        let text: Tensor?
        var prediction: GlobalPrediction { GlobalPrediction(logits: globalHost, size: global.shape, roi: region.roi) }
    }

    /// Runs every category; prompts are in zoom-out (spatial size) coordinates.
    public func run(_ volume: PreprocessedVolume, prompts: [Prompt]) throws -> [CategoryResult] {
        statistics = Statistics()
        if promptTokens == .first {
            guard !zoomIn || (windowBox == .user && windowGrid == .exact), prompts.allSatisfy({ $0.points.isEmpty }) else {
                throw PipelineError("the first category's prompt tokens need --window-box user, the exact window grid and no point prompts")
            }
        }
        let start = Date()
        let image = try backend.tensor(volume.data, shape: volume.shape, dtype: .float32)
        let zoomOut = try backend.empty(shape: [1, 1] + window)
        try backend.resize3d(image, out: zoomOut, channels: 1, inSize: volume.shape, outSize: window, mode: .nearestExact)
        progress?("zoom-out pass: \(prompts.count) categories")
        let tokens = try model.encodeImage(zoomOut)
        // The text tower runs once per case: zoom-out and every zoom-in window take their rows from this batch.
        let names = prompts.compactMap(\.text)
        let text = names.isEmpty ? nil : try model.encodeText(names)
        var textRows = [Tensor?](repeating: nil, count: prompts.count)
        if zoomIn, let text {
            for (row, c) in prompts.indices.filter({ prompts[$0].text != nil }).enumerated() {
                textRows[c] = try model.textRows(text, [row])
            }
        }
        let logits = try model.segment(image: tokens, prompts: prompts,
                                       tokenPrompts: promptTokens == .first ? prompts.map { _ in prompts[0] } : nil, text: text)

        // Each category's logits on the crop grid and the box of its foreground, all recorded before one wait.
        let voxels = model.config.spatialVolume
        var globals: [Tensor] = [], boxes: [Tensor] = []
        for c in prompts.indices {
            let single = try backend.empty(shape: window)
            try backend.copy(logits, sourceOffset: c * voxels, to: single, destinationOffset: 0, count: voxels)
            let global = try backend.empty(shape: volume.shape)
            try backend.resize3d(single, out: global, channels: 1, inSize: window, outSize: volume.shape, mode: .nearest)
            globals.append(global)
            if zoomIn {
                let box = try backend.empty(shape: [6])
                try backend.boundingBox(global, size: volume.shape, threshold: 0, out: box)
                boxes.append(box)
            }
        }
        var results: [CategoryResult] = []
        var categories: [ZoomInCategory] = []
        var hostCopies: [[Float]] = []
        for (c, prompt) in prompts.enumerated() {
            // A host copy serves the reported zoom-out logits and the window boxes of box and point prompts.
            let needsHostCopy = keepsZoomOutLogits || prompt.box != nil || !prompt.points.isEmpty
            let zoomOutLogits = needsHostCopy ? try backend.read(globals[c]) : []
            hostCopies.append(zoomOutLogits)
            results.append(CategoryResult(zoomOutLogits: keepsZoomOutLogits ? zoomOutLogits : [], logits: [], windows: 0, seconds: 0))
            if zoomIn, let foreground = try foregroundBox(boxes[c]) {
                let roi = WindowGeometry.regionOfInterest(foreground: foreground, size: volume.shape, window: window)
                let region = RegionWindows(roi: roi, size: volume.shape, window: window, overlap: overlap)
                categories.append(ZoomInCategory(index: c, prompt: prompt, global: globals[c], globalHost: zoomOutLogits, region: region,
                                                 text: textRows[c]))
            }
        }
        statistics.zoomOutSeconds = Date().timeIntervalSince(start)

        let zoomInStart = Date()
        var zoomInSeconds = [Double](repeating: 0, count: prompts.count)
        switch windowGrid {
        case .exact:
            zoomInSeconds = try refineEach(categories, image: image, of: prompts.count,
                                           tokenPrompt: promptTokens == .first ? prompts.first.map { ($0, textRows[0]) } : nil)
        case .shared where !categories.isEmpty:
            let windows = try refineOnSharedGrid(categories, image: image)
            let share = Date().timeIntervalSince(zoomInStart) / Double(categories.count)
            for category in categories {
                zoomInSeconds[category.index] = share
                results[category.index].windows = windows[category.index] ?? 0
            }
        case .shared:
            break
        }
        for category in categories where windowGrid == .exact {
            results[category.index].windows = category.region.origins.count
        }
        for c in results.indices {
            let refined = categories.contains { $0.index == c }
            results[c].logits = refined || hostCopies[c].isEmpty ? try backend.read(globals[c]) : hostCopies[c]
        }
        statistics.zoomInSeconds = Date().timeIntervalSince(zoomInStart)
        for c in results.indices {
            results[c].seconds = statistics.zoomOutSeconds / Double(prompts.count) + zoomInSeconds[c]
        }
        return results
    }

    /// The foreground box a `boundingBox` of logits > 0 (sigmoid > 0.5) wrote, or nil when nothing is foreground.
    private func foregroundBox(_ box: Tensor) throws -> WindowGeometry.Box? {
        let values = try backend.read(box).map { Int($0) }
        guard values[0] >= 0 else { return nil }
        return WindowGeometry.Box(lo: Array(values[0..<3]), hi: Array(values[3..<6]))
    }

    /// The exact zoom-in pass: each category's windows over its ROI, averaged, written into its logits. Returns
    /// each category's seconds. `tokenPrompt`: the prompt, with its text embedding, whose tokens every window's
    /// decode uses (PromptTokens.first).
    private func refineEach(_ categories: [ZoomInCategory], image: Tensor, of count: Int,
                            tokenPrompt: (prompt: Prompt, text: Tensor?)?) throws -> [Double] {
        let embeddings = WindowEmbeddings(uses: categories.flatMap { category in
            category.region.origins.map { category.region.content(at: $0) }
        })
        var seconds = [Double](repeating: 0, count: count)
        for category in categories {
            let categoryStart = Date()
            let region = category.region
            let sum = try backend.empty(shape: region.padded)
            try backend.fill(sum, value: 0)
            let prediction = category.prediction
            for (index, origin) in region.origins.enumerated() {
                progress?("zoom-in: category \(category.index + 1)/\(count), window \(index + 1)/\(region.origins.count)")
                let content = region.content(at: origin)
                let tokens = try embeddings.tokens(for: content) { try encodeWindow($0, image: image) }
                let prompt = windowPrompt(category.prompt, start: content.start, singleWindow: region.origins.count == 1 ? region : nil,
                                          prediction: prediction)
                try addWindowLogits(tokens: tokens, prompt: prompt, text: category.text, into: sum, size: region.padded, at: origin,
                                    promptTokens: tokenPrompt)
                // One wait per window keeps memory bounded however many windows the ROI needs.
                try backend.synchronize()
            }
            try divideByCoverage(sum, size: region.padded,
                                 inverseCounts: WindowGeometry.inverseCounts(paddedSize: region.padded, window: window, overlap: overlap))
            try backend.copyBox(sum, size: region.padded, origin: region.pad, to: category.global, size: category.global.shape,
                                origin: region.roi.lo, extent: region.extent, accumulate: false)
            seconds[category.index] = Date().timeIntervalSince(categoryStart)
        }
        return seconds
    }

    /// Divides the summed logits of a box of `size` by the number of windows covering each voxel: three broadcast
    /// multiplies by the per-axis 1 / count, so no volume-sized array is built on the host or uploaded.
    func divideByCoverage(_ sum: Tensor, size: [Int], inverseCounts: [[Float]]) throws {
        for axis in 0..<3 {
            let factors = try backend.tensor(inverseCounts[axis], shape: [size[axis]], dtype: .float32)
            try backend.binary(.multiply, sum, factors, out: sum, inner: size[(axis + 1)...].reduce(1, *))
        }
    }

    /// The image embedding of one window: its content cut from the crop, zeros elsewhere, through the encoder.
    func encodeWindow(_ content: WindowContent, image: Tensor) throws -> Tensor {
        let windowImage = try backend.empty(shape: [1, 1] + window)
        try backend.fill(windowImage, value: 0)
        try backend.copyBox(image, size: image.shape, origin: content.filledLo, to: windowImage, size: window,
                            origin: (0..<3).map { content.filledLo[$0] - content.start[$0] },
                            extent: (0..<3).map { content.filledHi[$0] - content.filledLo[$0] }, accumulate: false)
        statistics.windowsEncoded += 1
        return try model.encodeImage(windowImage)
    }

    /// Decodes one category in one window and adds its logits, resized to the window, into `sum` at `origin`.
    func addWindowLogits(tokens: Tensor, prompt: Prompt, text: Tensor?, into sum: Tensor, size: [Int], at origin: [Int],
                         promptTokens: (prompt: Prompt, text: Tensor?)? = nil) throws {
        let lowRes = try model.decode(image: tokens, prompts: [prompt], text: text,
                                      tokens: promptTokens.map { ([$0.prompt], $0.text) })
        let windowLogits = try backend.empty(shape: window)
        try backend.resize3d(lowRes, out: windowLogits, channels: 1, inSize: model.config.lowResSize, outSize: window,
                             mode: .trilinear(alignCorners: false))
        try backend.copyBox(windowLogits, size: window, origin: [0, 0, 0], to: sum, size: size, origin: origin,
                            extent: window, accumulate: true)
        statistics.windowsDecoded += 1
    }

    /// The prompt of one window (spec section 6.3): text unchanged; a box from the user's box when the region is
    /// one window (`singleWindow`), else from the global prediction inside the window; points inside the window.
    func windowPrompt(_ prompt: Prompt, start: [Int], singleWindow: RegionWindows?, prediction: GlobalPrediction) -> Prompt {
        let size = prediction.size
        var result = Prompt(text: prompt.text)
        if let box = prompt.box {
            if windowBox == .user {
                result.box = box
            } else if let region = singleWindow {
                result.box = userBoxInWindow(box, roi: region.roi, extent: region.extent, size: size)
            } else {
                result.box = prediction.box(inWindowStartingAt: start, window: window)
            }
        }
        if !prompt.points.isEmpty {
            // Deterministic: the user's points mapped to full resolution (centre of each point's nearest-resize
            // preimage) that fall in the window, with the box of the global prediction in the window.
            result.points = prompt.points.compactMap { point in
                let full = fullResolution(point, size: size)
                let local = (0..<3).map { full[$0] - start[$0] }
                guard (0..<3).allSatisfy({ local[$0] >= 0 && local[$0] < window[$0] }) else { return nil }
                return Prompt.Point(d: Float(local[0]), h: Float(local[1]), w: Float(local[2]), positive: point.positive)
            }
            result.box = prediction.box(inWindowStartingAt: start, window: window)
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
