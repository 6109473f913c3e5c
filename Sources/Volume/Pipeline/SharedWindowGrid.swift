import Foundation
import Kernels

extension ZoomPipeline {
    /// The shared-grid zoom-in pass (`WindowGrid.shared`): one sliding-window grid over the union of the categories'
    /// regions; each window is encoded once and decoded for every category whose region it touches, and each
    /// category averages its windows over its own region. Returns the windows each category was decoded in.
    func refineOnSharedGrid(_ categories: [ZoomInCategory], image: Tensor) throws -> [Int: Int] {
        let grid = RegionWindows(roi: RegionWindows.union(of: categories.map(\.region.roi)), size: image.shape,
                                 window: window, overlap: overlap)
        let gridStarts = (0..<3).map { axis in Set(grid.origins.map { $0[axis] }).sorted() }
        let parts = categories.map { SharedGridPart(region: $0.region, grid: grid, gridStarts: gridStarts) }
        let sums = try parts.map { part -> Tensor in
            let sum = try backend.empty(shape: part.size)
            try backend.fill(sum, value: 0)
            return sum
        }
        let predictions = categories.map(\.prediction)
        var windows: [Int: Int] = [:]
        for (index, origin) in grid.origins.enumerated() {
            let members = parts.indices.filter { parts[$0].contains(origin) }
            guard !members.isEmpty else { continue }
            progress?("zoom-in (shared grid): window \(index + 1)/\(grid.origins.count) for \(members.count) categories")
            let content = grid.content(at: origin)
            let tokens = try encodeWindow(content, image: image)
            for m in members {
                let prompt = windowPrompt(categories[m].prompt, start: content.start,
                                          singleWindow: grid.origins.count == 1 ? grid : nil, prediction: predictions[m])
                try addWindowLogits(tokens: tokens, prompt: prompt, text: categories[m].text, into: sums[m], size: parts[m].size,
                                    at: parts[m].local(origin))
                windows[categories[m].index, default: 0] += 1
            }
            // One wait per window keeps memory bounded however many windows the grid has.
            try backend.synchronize()
        }
        for (m, category) in categories.enumerated() {
            let part = parts[m], region = category.region
            try divideByCoverage(sums[m], size: part.size,
                                 inverseCounts: WindowGeometry.inverseCounts(starts: part.starts, size: part.size, window: window))
            try backend.copyBox(sums[m], size: part.size, origin: part.local(grid.paddedPosition(of: region.roi.lo)),
                                to: category.global, size: category.global.shape, origin: region.roi.lo, extent: region.extent,
                                accumulate: false)
        }
        return windows
    }
}

extension RegionWindows {
    /// Where a crop voxel lies in the padded region (the coordinates of `origins`).
    func paddedPosition(of voxel: [Int]) -> [Int] {
        (0..<3).map { voxel[$0] - roi.lo[$0] + pad[$0] }
    }
}

/// One category's part of the shared grid: along each axis the grid's windows that overlap the category's region,
/// and the box they cover, in the grid's padded coordinates. Overlap per axis makes the part a grid of its own.
struct SharedGridPart {
    let lo: [Int]
    let size: [Int]
    /// Window starts per axis, relative to `lo`.
    let starts: [[Int]]

    init(region: RegionWindows, grid: RegionWindows, gridStarts: [[Int]]) {
        let first = grid.paddedPosition(of: region.roi.lo)
        var lo: [Int] = [], size: [Int] = [], starts: [[Int]] = []
        for axis in 0..<3 {
            let end = first[axis] + region.extent[axis], width = grid.window[axis]
            let chosen = gridStarts[axis].filter { $0 < end && $0 + width > first[axis] }
            lo.append(chosen[0])
            size.append(chosen[chosen.count - 1] + width - chosen[0])
            starts.append(chosen.map { $0 - chosen[0] })
        }
        self.lo = lo
        self.size = size
        self.starts = starts
    }

    func local(_ position: [Int]) -> [Int] {
        (0..<3).map { position[$0] - lo[$0] }
    }

    /// Whether the grid's window at `origin` is one of this part's.
    func contains(_ origin: [Int]) -> Bool {
        (0..<3).allSatisfy { starts[$0].contains(origin[$0] - lo[$0]) }
    }
}
