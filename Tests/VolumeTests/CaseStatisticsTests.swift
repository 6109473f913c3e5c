import Foundation
import TestSupport
import Volume
import XCTest

/// Statistics of a mask on its image, against answers worked out by hand on a 4x3x2 image.
final class CaseStatisticsTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("CaseStatisticsTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// int16 voxels equal to their flat index v = i + 4j + 12k, stored with scl_slope 2 and scl_inter -1000
    /// (so HU = 2v - 1000); spacing 2, 3, 4 mm; qform offset (10, 20, 30); `flipped`: rotated 180 degrees about z.
    private func image(flipped: Bool) throws -> NIfTIImage {
        var header = TestNIfTI()
        header.dim = [3, 4, 3, 2, 1, 1, 1, 1]
        header.pixdim = [1, 2, 3, 4, 1, 1, 1, 1]
        header.qformCode = 1
        header.quatern = flipped ? [0, 0, 1] : [0, 0, 0]
        header.qoffset = [10, 20, 30]
        header.slope = 2
        header.intercept = -1000
        let voxels = (0..<24).flatMap { v in withUnsafeBytes(of: Int16(v).littleEndian, Array.init) }
        let url = folder.appendingPathComponent("synthetic.nii")
        try Data(header.bytes(voxels: voxels)).write(to: url)
        return try NIfTI.read(url)
    }

    /// Voxels (1,0,0), (2,1,0), (3,2,1) and (1,1,1): flat indices 1, 6, 23, 17; HU -998, -988, -954, -966.
    private let maskIndices = [1, 6, 23, 17]

    private var mask: [UInt8] {
        var mask = [UInt8](repeating: 0, count: 24)
        for v in maskIndices { mask[v] = 1 }
        return mask
    }

    func testKnownAnswers() throws {
        let statistics = try CategoryStatistics(label: 3, name: "test", mask: mask, image: try image(flipped: false))
        XCTAssertEqual(statistics.label, 3)
        XCTAssertEqual(statistics.voxels, 4)
        XCTAssertEqual(statistics.volumeMl, 4 * 24 / 1000, accuracy: 1e-12)
        let hu = try XCTUnwrap(statistics.hu)
        XCTAssertEqual(hu.mean, -976.5, accuracy: 1e-9)
        // Deviations -21.5, -11.5, 22.5, 10.5: squares sum to 1211; population variance 302.75.
        XCTAssertEqual(hu.std, (302.75).squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(hu.min, -998)
        XCTAssertEqual(hu.median, (-988 + -966) / 2, "mean of the two middle values")
        XCTAssertEqual(hu.max, -954)
        XCTAssertEqual(statistics.boundingBoxVoxels, [1, 0, 0, 3, 2, 1])
        XCTAssertEqual(statistics.boundingBoxSizeMm, [6, 9, 8])
        // x = 2i + 10, y = 3j + 20, z = 4k + 30.
        XCTAssertEqual(statistics.boundingBoxRas, [12, 20, 30, 16, 26, 34])
        XCTAssertEqual(statistics.boundingBoxLps, [-16, -26, 30, -12, -20, 34])
        XCTAssertEqual(statistics.centroidVoxels, [1.75, 1, 0.5])
        XCTAssertEqual(statistics.centroidRas, [13.5, 23, 32])
        XCTAssertEqual(statistics.centroidLps, [-13.5, -23, 32])
    }

    /// With x and y flipped by the qform, the RAS box's corners come from the opposite voxel corners.
    func testFlippedAffine() throws {
        let statistics = try CategoryStatistics(label: 1, name: "test", mask: mask, image: try image(flipped: true))
        // x = -2i + 10, y = -3j + 20, z = 4k + 30.
        XCTAssertEqual(statistics.boundingBoxRas, [4, 14, 30, 8, 20, 34])
        XCTAssertEqual(statistics.boundingBoxLps, [-8, -20, 30, -4, -14, 34])
        XCTAssertEqual(statistics.centroidRas, [6.5, 17, 32])
        XCTAssertEqual(statistics.boundingBoxSizeMm, [6, 9, 8])
    }

    func testOddCountMedianIsTheMiddleValue() throws {
        var mask = self.mask
        mask[23] = 0
        let hu = try XCTUnwrap(try CategoryStatistics(label: 1, name: "test", mask: mask, image: try image(flipped: false)).hu)
        XCTAssertEqual(hu.median, -988)
    }

    func testEmptyMaskWritesNulls() throws {
        let image = try image(flipped: false)
        let empty = try CategoryStatistics(label: 1, name: "none", mask: [UInt8](repeating: 0, count: 24), image: image)
        XCTAssertEqual(empty.voxels, 0)
        XCTAssertEqual(empty.volumeMl, 0)
        XCTAssertNil(empty.hu)
        let report = StatisticsReport(image: "synthetic.nii", header: image.header, categories: [empty])
        let json = try JSONSerialization.jsonObject(with: report.jsonData()) as! [String: Any]
        let category = (json["categories"] as! [[String: Any]])[0]
        XCTAssertTrue(category["hu"] is NSNull)
        XCTAssertTrue(category["centroid_ras"] is NSNull)
        XCTAssertEqual(json["voxel_size_mm"] as? [Double], [2, 3, 4])
    }

    func testMaskOfAnotherSizeIsAnError() throws {
        XCTAssertThrowsError(try CategoryStatistics(label: 1, name: "liver", mask: [1, 0], image: try image(flipped: false))) {
            XCTAssertTrue("\($0)".contains("liver"), "\($0)")
        }
    }
}
