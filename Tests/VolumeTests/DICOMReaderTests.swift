import Foundation
import TestSupport
import Volume
import XCTest

/// The DICOM reader against SimpleITK (the shared JPEG 2000 series) and against the NIfTI the test
/// series were written from (every syntax, shuffled files, mixed rescale, multi-frame).
final class DICOMReaderTests: DICOMSeriesTestCase {
    /// Geometry tolerance in millimetres: NIfTI stores the affine as float32, DICOM positions as 16-character decimals.
    private let millimetres = 1e-4

    /// SimpleITK's reading of a folder or file: voxels in stored order and the voxel-to-RAS affine.
    private func simpleITK(_ url: URL) throws -> (data: [Float], dims: [Int], affine: [[Double]]) {
        let npy = scratch.appendingPathComponent("sitk.npy"), json = scratch.appendingPathComponent("sitk.json")
        _ = try PythonReference.run(script: "dicom_checks.py", ["dump", url.path, npy.path, json.path])
        let geometry = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as! [String: Any]
        let lps = geometry["lps"] as! [[Double]]
        // LPS to RAS: negate the first two rows.
        let ras = lps.enumerated().map { r, row in r < 2 ? row.map { -$0 } : row }
        return (try NPY.readFloat32(npy).data, geometry["size"] as! [Int], ras)
    }

    func testSharedJPEG2000SeriesEqualsSimpleITK() throws {
        let folder = Fixtures.data("ct/example_ct_dicom")
        let volume = try DICOMVolume.read(folder)
        let reference = try simpleITK(folder)
        XCTAssertEqual(volume.image.header.dims, reference.dims)
        XCTAssertEqual(volume.image.header.dims, [512, 512, 20])
        XCTAssertTrue(volume.image.data == reference.data, "voxels differ from SimpleITK's")
        XCTAssertLessThan(affineDistance(volume.image.header.affine, reference.affine), millimetres)
        // The slice spacing comes from the positions (2 mm), not Slice Thickness (3 mm).
        XCTAssertEqual(volume.image.header.affine[2][2], 2, accuracy: millimetres)
        XCTAssertEqual(volume.warnings, [])
    }

    func testWrittenSeriesGiveBackTheSourceVolume() throws {
        let series = try generatedSeries()
        let source = try NIfTI.read(series.source)
        for variant in ["explicit-shuffled", "implicit-descending", "deflated", "rle", "jpegls", "multiframe/enhanced-ct.dcm"] {
            let volume = try DICOMVolume.read(series.url(variant))
            XCTAssertEqual(volume.image.header.dims, source.header.dims, variant)
            XCTAssertTrue(volume.image.data == source.data, "\(variant): voxels differ from the source")
            XCTAssertLessThan(affineDistance(volume.image.header.affine, source.header.affine), millimetres, variant)
            // Slices come back in position order whatever the files' names and instance numbers.
            let heights = volume.slices.map { $0.position[2] }
            XCTAssertEqual(heights, heights.sorted(), variant)
        }
    }

    /// Lossy JPEG 2000 cannot give back the source; it must give what SimpleITK (also OpenJPEG) decodes.
    func testLossyJPEG2000EqualsSimpleITK() throws {
        let folder = try generatedSeries().url("j2k-lossy")
        let volume = try DICOMVolume.read(folder)
        let reference = try simpleITK(folder)
        XCTAssertTrue(volume.image.data == reference.data, "voxels differ from SimpleITK's")
        XCTAssertLessThan(affineDistance(volume.image.header.affine, reference.affine), millimetres)
    }

    func testSeriesSelection() throws {
        let series = try generatedSeries()
        let twoSeries = series.url("two-series")
        XCTAssertThrowsError(try DICOMVolume.read(twoSeries)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("1.2.826.0.1.3680043.8.498.10") && message.contains("1.2.826.0.1.3680043.8.498.11"), message)
        }
        let picked = try DICOMVolume.read(twoSeries, seriesUID: "1.2.826.0.1.3680043.8.498.11")
        XCTAssertEqual(picked.series.seriesInstanceUID, "1.2.826.0.1.3680043.8.498.11")
        XCTAssertEqual(picked.slices.count, 30)
        let mr = try DICOMVolume.read(series.url("mr"))
        XCTAssertEqual(mr.warnings.count, 1)
        XCTAssertTrue(mr.warnings[0].contains("MR"), mr.warnings[0])
    }

    /// A header built from an affine reads back with that affine through the sform and through the
    /// qform alone (a rotated, left-handed grid exercises the quaternion and qfac).
    func testNIfTIHeaderFromAffineRoundTrips() throws {
        let angle = 0.3
        let affine: [[Double]] = [
            [0.8 * cos(angle), -0.7 * sin(angle), 0, -120.5],
            [0.8 * sin(angle), 0.7 * cos(angle), 0, 33.25],
            [0, 0, -2.5, 80],
            [0, 0, 0, 1],
        ]
        let header = NIfTIHeader(dims: [4, 3, 2], affine: affine)
        let url = scratch.appendingPathComponent("affine.nii")
        try NIfTI.write(mask: [UInt8](repeating: 1, count: 24), like: header, to: url)
        XCTAssertLessThan(affineDistance(try NIfTI.read(url).header.affine, affine), 1e-5)
        // Zero sform_code (offset 254): readers fall back to the qform.
        var bytes = [UInt8](try Data(contentsOf: url))
        bytes[254] = 0
        try Data(bytes).write(to: url)
        XCTAssertLessThan(affineDistance(try NIfTI.read(url).header.affine, affine), 1e-5)
    }
}
