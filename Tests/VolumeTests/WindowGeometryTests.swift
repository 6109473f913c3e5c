import Volume
import XCTest

/// The zoom-in geometry reproduces logits2roi_coor and MONAI's dense_patch_slices on hand-worked cases.
final class WindowGeometryTests: XCTestCase {
    func testWindowStarts() {
        // Equal to the window: one window. Larger: steps of half a window, the last clamped to the end.
        XCTAssertEqual(WindowGeometry.starts(size: 16, window: 16), [0])
        XCTAssertEqual(WindowGeometry.starts(size: 30, window: 16), [0, 8, 14])
        XCTAssertEqual(WindowGeometry.starts(size: 24, window: 16), [0, 8])
        XCTAssertEqual(WindowGeometry.starts(size: 121, window: 64), [0, 32, 57])
        XCTAssertEqual(WindowGeometry.starts(size: 17, window: 16), [0, 1])
    }

    func testRegionOfInterestPadsTowardsTheWindow() {
        let roi = WindowGeometry.regionOfInterest(foreground: .init(lo: [10, 0, 100], hi: [12, 50, 120]), size: [30, 96, 121],
                                                  window: [16, 64, 64])
        // d: extent 3, pad 13 -> 6 each side; h: extent 51, pad 13 -> 6, clipped at 0; w: pad 43 -> 21, clipped at the size.
        XCTAssertEqual(roi, .init(lo: [4, 0, 79], hi: [18, 56, 121]))
        let extent = WindowGeometry.extent(of: roi, size: [30, 96, 121])
        XCTAssertEqual(extent, [15, 57, 42])
        XCTAssertEqual(WindowGeometry.padBefore(extent: extent, window: [16, 64, 64]), [0, 3, 11])
        XCTAssertEqual(WindowGeometry.paddedSize(extent: extent, window: [16, 64, 64]), [16, 64, 64])
    }

    func testCoverageIsTheWindowCount() {
        let padded = [24, 5, 3], window = [16, 5, 3]
        let inverse = WindowGeometry.inverseCounts(paddedSize: padded, window: window)
        XCTAssertEqual(WindowGeometry.windows(paddedSize: padded, window: window).count, 2)
        XCTAssertEqual(inverse[0][0], 1)              // d = 0: first window only
        XCTAssertEqual(inverse[0][8], 0.5)            // d = 8: both windows
        XCTAssertEqual(inverse[0][23], 1)             // last slice: second window only
        XCTAssertEqual(inverse[1], [Float](repeating: 1, count: 5))
        XCTAssertEqual(inverse[2], [Float](repeating: 1, count: 3))
    }

    func testNearestPreimage() {
        // 16 -> 30 with legacy nearest: source = floor(j * 16/30); sources 3...4 come from j = 6...9.
        XCTAssertEqual(WindowGeometry.nearestPreimage(lo: 3, hi: 4, zoomedSize: 16, fullSize: 30).map { [$0.0, $0.1] }, [6, 9])
        XCTAssertNil(WindowGeometry.nearestPreimage(lo: 20, hi: 21, zoomedSize: 16, fullSize: 30))
    }
}
