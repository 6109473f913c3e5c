import Foundation
import TestSupport
import Volume
import XCTest

/// Benchmark CTs resampled from the shared one keep their place in space.
final class NIfTIResamplingTests: XCTestCase {
    func world(_ affine: [[Double]], _ voxel: [Double]) -> [Double] {
        (0..<3).map { r in (0..<3).reduce(affine[r][3]) { $0 + affine[r][$1] * voxel[$1] } }
    }

    func testSameSizeIsTheSameImage() throws {
        let image = try NIfTI.read(Fixtures.data("ct/example_ct_sm.nii.gz"))
        let copy = try image.resampled(to: image.header.dims)
        XCTAssertTrue(copy.data == image.data)
        XCTAssertEqual(copy.header.affine, image.header.affine)
    }

    /// Resampled to other sizes, the corners of the volume's box stay where they were (within 1e-3 mm) and the values
    /// stay within the source's range (trilinear interpolation).
    func testResampledVolumeCoversTheSameBox() throws {
        let image = try NIfTI.read(Fixtures.data("ct/example_ct_sm.nii.gz"))
        let old = image.header.dims.map(Double.init)
        for dims in [[61, 50, 15], [200, 150, 47]] {
            let resampled = try image.resampled(to: dims)
            XCTAssertEqual(resampled.header.dims, dims)
            XCTAssertEqual(resampled.data.count, dims.reduce(1, *))
            let new = dims.map(Double.init)
            // The box's far corner is voxel n - 0.5 on either grid.
            for corner in [[-0.5, -0.5, -0.5], [old[0] - 0.5, old[1] - 0.5, old[2] - 0.5]] {
                let sameCorner = (0..<3).map { corner[$0] < 0 ? -0.5 : new[$0] - 0.5 }
                let before = world(image.header.affine, corner), after = world(resampled.header.affine, sameCorner)
                for axis in 0..<3 { XCTAssertEqual(after[axis], before[axis], accuracy: 1e-3, "\(dims) corner \(corner)") }
            }
            let (low, high) = (image.data.min()!, image.data.max()!)
            XCTAssertTrue(resampled.data.allSatisfy { $0 >= low && $0 <= high }, "\(dims): values outside the source's range")
        }
    }
}
