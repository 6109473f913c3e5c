import Foundation
import TestSupport
import Volume
import XCTest

/// `segvol dicom-info` and `segvol convert`, and bad DICOM input as a one-line error with nothing written.
final class DICOMCommandTests: DICOMSeriesTestCase {
    func testDICOMInfoListsEverySeriesAndCountsSkippedFiles() throws {
        let series = try generatedSeries()
        let folder = scratch.appendingPathComponent("mixed")
        try FileManager.default.copyItem(at: series.url("two-series"), to: folder)
        try Data("readme".utf8).write(to: folder.appendingPathComponent("README.txt"))
        let run = try CLIRunner.run(["dicom-info", folder.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, run.stdout)
        for (uid, syntax) in [("1.2.826.0.1.3680043.8.498.10", "Explicit VR Little Endian"), ("1.2.826.0.1.3680043.8.498.11", "Implicit VR Little Endian")] {
            let line = lines.first { $0.hasPrefix(uid) } ?? ""
            for expected in ["CT", "30 slices of 122x101", "spacing 3 x 3 x 3 mm", syntax] {
                XCTAssertTrue(line.contains(expected), "\(uid): \(expected) missing from \(line)")
            }
        }
        XCTAssertEqual(lines.last, "2 series; 1 files skipped (not DICOM, or DICOM without an image)")
    }

    func testConvertWritesTheVolumeTheModelSees() throws {
        let series = try generatedSeries()
        let source = try NIfTI.read(series.source)
        let out = scratch.appendingPathComponent("ct.nii.gz")
        let run = try CLIRunner.run(["convert", "--image", series.url("two-series").path, "--series", "1.2.826.0.1.3680043.8.498.10",
                                     "--out", out.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let converted = try NIfTI.read(out)
        XCTAssertEqual(converted.header.datatype, 4, "int16: every Hounsfield value fits")
        XCTAssertTrue(converted.data == source.data, "voxels differ from the source")
        XCTAssertLessThan(affineDistance(converted.header.affine, source.header.affine), 1e-4)
        // Lossy JPEG 2000 after rescale is still integral: int16 again, and what the reader returns.
        let lossy = scratch.appendingPathComponent("lossy.nii.gz")
        XCTAssertEqual(try CLIRunner.run(["convert", "--image", series.url("j2k-lossy").path, "--out", lossy.path]).status, 0)
        XCTAssertTrue(try NIfTI.read(lossy).data == DICOMVolume.read(series.url("j2k-lossy")).image.data)
    }

    /// The same CT as DICOM and as NIfTI gives the same mask on the same grid.
    func testSegmentingDICOMAndNIfTIGivesTheSameMask() throws {
        let series = try generatedSeries()
        let model = Fixtures.model("text-box").path
        var masks: [NIfTIImage] = []
        for image in [series.url("explicit-shuffled"), series.source] {
            let out = scratch.appendingPathComponent("mask-\(masks.count).nii.gz")
            let run = try CLIRunner.run(["segment", "--model", model, "--image", image.path, "--text", "liver",
                                         "--out", out.path, "--no-zoom-in", "--cpu", "--quiet"])
            XCTAssertEqual(run.status, 0, run.stderr)
            masks.append(try NIfTI.read(out))
        }
        XCTAssertTrue(masks[0].data == masks[1].data, "masks differ")
        XCTAssertLessThan(affineDistance(masks[0].header.affine, masks[1].header.affine), 1e-4)
    }

    /// Each bad input: non-zero exit, one line on stderr naming the problem, no output file.
    func testBadInputIsOneLineAndWritesNothing() throws {
        let series = try generatedSeries()
        let out = scratch.appendingPathComponent("out.nii.gz")
        let cases: [(String, String)] = [
            ("not-dicom", "no DICOM image series found (3 files skipped"),
            ("missing-slice", "1 missing slice(s)"),
            ("two-series", "2 CT series; pick one with --series"),
            ("truncated", "truncated: pixel data needs"),
            ("jpeg-baseline", "transfer syntax 1.2.840.10008.1.2.4.50 (JPEG Baseline (Process 1)) is not supported"),
            ("gantry-tilt", "gantry tilt"),
        ]
        for (variant, expected) in cases {
            let run = try CLIRunner.run(["convert", "--image", series.url(variant).path, "--out", out.path])
            XCTAssertNotEqual(run.status, 0, variant)
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, "one line for \(variant): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(expected), "\(variant): \(run.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "\(variant) wrote output")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [])
    }

    func testNonCTSeriesIsAWarning() throws {
        let out = scratch.appendingPathComponent("mr.nii.gz")
        let run = try CLIRunner.run(["convert", "--image", try generatedSeries().url("mr").path, "--out", out.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
        XCTAssertTrue(run.stderr.hasPrefix("segvol: warning:") && run.stderr.contains("modality MR"), run.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.path))
    }
}
