import TestSupport
@testable import Volume
import XCTest

/// The window bookkeeping behind shared embeddings and the shared grid, on regions the fixture model never makes
/// (its regions are all the whole crop).
final class ZoomInWindowsTests: XCTestCase {
    let size = [40, 120, 100], window = [16, 64, 64]

    func region(_ lo: [Int], _ hi: [Int]) -> RegionWindows {
        RegionWindows(roi: WindowGeometry.Box(lo: lo, hi: hi), size: size, window: window, overlap: 0.5)
    }

    /// A window's content names what the encoder sees: the same place with another filled part (the rest is zero
    /// padding) is another content; the same place and filled part is the same content, whatever the region.
    func testContentTellsPaddedWindowsApart() {
        // The narrow region is 61 voxels wide: padded by 1 before, its window starts where the wide one's does.
        let wide = region([0, 0, 0], [39, 119, 99]), narrow = region([0, 0, 1], [39, 119, 61])
        XCTAssertEqual(wide.start(of: wide.origins[0]), narrow.start(of: narrow.origins[0]))
        XCTAssertNotEqual(wide.content(at: wide.origins[0]), narrow.content(at: narrow.origins[0]))
        // Both regions hold the first window whole (no padding), so its content is shared.
        let first = region([0, 0, 0], [20, 70, 70])
        XCTAssertEqual(first.content(at: first.origins[0]).filledHi, [16, 64, 64])
        XCTAssertEqual(first.content(at: first.origins[0]), wide.content(at: wide.origins[0]))
    }

    /// Each category's part of a shared grid holds exactly the grid windows that overlap its region, and they
    /// cover every voxel of the region.
    func testSharedGridPartsCoverTheirRegions() {
        var random = SeededRandom(seed: 11)
        for _ in 0..<50 {
            let regions = (0..<3).map { _ -> RegionWindows in
                let lo = (0..<3).map { Int(random.uniform(0, Float(size[$0] - 2))) }
                let hi = (0..<3).map { lo[$0] + Int(random.uniform(1, Float(size[$0] - lo[$0]))) }
                return region(lo, hi)
            }
            let grid = RegionWindows(roi: RegionWindows.union(of: regions.map(\.roi)), size: size, window: window, overlap: 0.5)
            let gridStarts = (0..<3).map { axis in Set(grid.origins.map { $0[axis] }).sorted() }
            for category in regions {
                let part = SharedGridPart(region: category, grid: grid, gridStarts: gridStarts)
                let first = grid.paddedPosition(of: category.roi.lo)
                for origin in grid.origins {
                    let overlaps = (0..<3).allSatisfy { origin[$0] < first[$0] + category.extent[$0] && origin[$0] + window[$0] > first[$0] }
                    XCTAssertEqual(part.contains(origin), overlaps, "window \(origin) for region \(category.roi)")
                }
                let coverage = WindowGeometry.inverseCounts(starts: part.starts, size: part.size, window: window)
                let local = part.local(first)
                for d in [0, category.extent[0] - 1] { for h in [0, category.extent[1] - 1] { for w in [0, category.extent[2] - 1] {
                    let p = [local[0] + d, local[1] + h, local[2] + w]
                    XCTAssertTrue((0..<3).allSatisfy { p[$0] >= 0 && p[$0] < part.size[$0] }, "region corner outside its part")
                    XCTAssertTrue((0..<3).allSatisfy { coverage[$0][p[$0]].isFinite }, "uncovered corner \(p)")
                } } }
            }
        }
    }
}
