import Foundation
import TestSupport
import Volume
import XCTest

/// DICOM-SEG output, read back with pydicom and highdicom and compared voxel for voxel with the
/// NIfTI masks after the geometry is applied (frames placed by source reference and by position).
final class DICOMSegmentationTests: DICOMSeriesTestCase {
    private func checkSEG(_ seg: URL, masks: URL, series: URL) throws -> [String: Any] {
        let report = try PythonReference.run(script: "dicom_checks.py", ["check-seg", seg.path, masks.path, series.path])
        return try JSONSerialization.jsonObject(with: Data(report.utf8)) as! [String: Any]
    }

    private func assertReferencesSource(_ report: [String: Any], instances: Int, file: StaticString = #filePath, line: UInt = #line) {
        for key in ["same_study", "same_frame_of_reference", "same_patient", "referenced_series"] {
            XCTAssertEqual(report[key] as? Bool, true, key, file: file, line: line)
        }
        XCTAssertEqual(report["referenced_instances"] as? Int, instances, file: file, line: line)
        XCTAssertEqual(report["empty_frames"] as? Int, 0, file: file, line: line)
        for segment in report["segments"] as! [[String: Any]] {
            XCTAssertEqual(segment["mismatch_by_reference"] as? Int, 0, "\(segment["label"]!)", file: file, line: line)
            XCTAssertEqual(segment["mismatch_by_position"] as? Int, 0, "\(segment["label"]!)", file: file, line: line)
            XCTAssertEqual(segment["frames"] as? Int, segment["slices_present"] as? Int, "frames only where present", file: file, line: line)
        }
    }

    /// Errors and warnings of dicom3tools' `dciodvfy`, which checks a file against the standard's IOD rules.
    private func validate(_ url: URL) throws -> [String] {
        let validator = "/usr/bin/dciodvfy"
        guard FileManager.default.isExecutableFile(atPath: validator) else {
            if VulkanTesting.isCI { XCTFail("CI requires dciodvfy (dicom3tools, tools/setup.sh)") }
            throw XCTSkip("dciodvfy not installed (dicom3tools; tools/setup.sh installs it)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: validator)
        process.arguments = [url.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.split(separator: "\n").map(String.init).filter { $0.contains("Error") || $0.contains("Warning") }
    }

    /// Hand-made masks: frames only on the slices a segment covers, none for an empty segment.
    func testWriterKeepsFramesWhereSegmentsArePresent() throws {
        let folder = try generatedSeries().url("explicit-shuffled")
        let volume = try DICOMVolume.read(folder)
        let dims = volume.image.header.dims, plane = dims[0] * dims[1]
        var box = [Bool](repeating: false, count: volume.image.data.count)
        for k in 3...5 { for j in 20..<40 { for i in 30..<70 { box[k * plane + j * dims[0] + i] = true } } }
        var dot = [Bool](repeating: false, count: box.count)
        dot[20 * plane + 7 * dims[0] + 90] = true
        let empty = [Bool](repeating: false, count: box.count)
        var lesion = [Bool](repeating: false, count: box.count)
        for k in 10...11 { for j in 50..<55 { for i in 60..<66 { lesion[k * plane + j * dims[0] + i] = true } } }
        let segments = [SegmentationSegment(label: "liver", mask: box), SegmentationSegment(label: "right kidney", mask: dot),
                        SegmentationSegment(label: "tumour", mask: empty),
                        SegmentationSegment(label: "right suprarenal tumor", mask: lesion)]
        let seg = scratch.appendingPathComponent("seg.dcm"), masks = scratch.appendingPathComponent("masks")
        try FileManager.default.createDirectory(at: masks, withIntermediateDirectories: true)
        for segment in segments {
            try NIfTI.write(mask: segment.mask.map { $0 ? 1 : 0 }, like: volume.image.header,
                            to: masks.appendingPathComponent(segment.label.replacingOccurrences(of: " ", with: "_") + ".nii.gz"))
        }
        let algorithm = SegmentationAlgorithm(name: "SegVol", version: "test", source: "tests")
        try DICOMSegmentation.write(segments, source: volume, algorithm: algorithm, to: seg)

        XCTAssertEqual(try validate(seg), [])
        let report = try checkSEG(seg, masks: masks, series: folder)
        assertReferencesSource(report, instances: 30)
        let described = report["segments"] as! [[String: Any]]
        XCTAssertEqual(described.map { $0["frames"] as! Int }, [3, 1, 0, 2])
        // Tumours: Neoplasm (morphologically abnormal), the suprarenal one in the right adrenal gland.
        XCTAssertEqual(described.map { $0["type"] as! String }, ["10200004", "64033007", "108369006", "108369006"])
        XCTAssertEqual(described[1]["modifier"] as? String, "24028007", "right")
        XCTAssertEqual(described.map { $0["category"] as! String }, ["91723000", "91723000", "49755003", "49755003"])
        XCTAssertEqual(described.map { $0["region"] as? String }, [nil, nil, nil, "23451007"])
        XCTAssertEqual(described[3]["region_modifier"] as? String, "24028007", "right")
    }

    func testSegmentCodes() {
        XCTAssertEqual(SegmentCodes.coding(for: "Liver").type.value, "10200004")
        XCTAssertEqual(SegmentCodes.coding(for: "left_kidney").modifier?.meaning, "Left")
        XCTAssertEqual(SegmentCodes.coding(for: "right adrenal gland").type.meaning, "Adrenal gland")
        XCTAssertEqual(SegmentCodes.coding(for: "IVC").type.value, "64131007")
        XCTAssertEqual(SegmentCodes.coding(for: "kidney cyst").type.meaning, "Cyst")
        XCTAssertEqual(SegmentCodes.coding(for: "kidney cyst").region?.meaning, "Kidney")
    }

    /// `segment --out-seg` on the shared JPEG 2000 series (a copy with the UIDs its anonymisation
    /// emptied), and on that series converted to NIfTI and flipped, with --reference-dicom.
    func testSegmentWritesASEGOverTheSourceSeries() throws {
        let series = scratch.appendingPathComponent("series")
        _ = try PythonReference.run(script: "dicom_checks.py", ["add-uids", Fixtures.data("ct/example_ct_dicom").path, series.path])
        let converted = scratch.appendingPathComponent("ct.nii.gz"), flipped = scratch.appendingPathComponent("flipped.nii.gz")
        XCTAssertEqual(try CLIRunner.run(["convert", "--image", series.path, "--out", converted.path]).status, 0)
        _ = try PythonReference.run(script: "dicom_checks.py", ["flip", converted.path, flipped.path])

        for (name, input) in [("dicom", ["--image", series.path]), ("nifti", ["--image", flipped.path, "--reference-dicom", series.path])] {
            let seg = scratch.appendingPathComponent("\(name).dcm"), masks = scratch.appendingPathComponent("masks-\(name)")
            let run = try CLIRunner.run(["segment", "--model", Fixtures.model("text-box").path] + input
                + ["--text", "liver", "--text", "spleen", "--out-dir", masks.path, "--out-seg", seg.path, "--no-zoom-in", "--cpu", "--quiet"])
            XCTAssertEqual(run.status, 0, run.stderr)
            let report = try checkSEG(seg, masks: masks, series: series)
            assertReferencesSource(report, instances: 20)
            XCTAssertEqual((report["segments"] as! [[String: Any]]).map { $0["label"] as! String }, ["liver", "spleen"], name)
            XCTAssertEqual((report["segments"] as! [[String: Any]])[0]["algorithm_version"] as? String, "model text-box, engine 0.1.0")
        }
    }

    /// Each bad request: non-zero exit, one line naming the problem, no file written.
    func testBadSEGRequestsAreOneLineAndWriteNothing() throws {
        let model = Fixtures.model("text-box").path
        let ct = Fixtures.data("ct/example_ct_sm.nii.gz").path
        let seg = scratch.appendingPathComponent("seg.dcm")
        let anonymised = Fixtures.data("ct/example_ct_dicom").path
        let cases: [([String], String)] = [
            (["--image", ct, "--out-seg", seg.path], "give --reference-dicom"),
            (["--image", anonymised, "--out-seg", seg.path], "the source series has no StudyInstanceUID"),
            (["--image", ct, "--reference-dicom", anonymised, "--out-seg", seg.path], "is not the reference series' grid"),
            (["--image", ct, "--reference-dicom", anonymised, "--out", seg.path], "--reference-dicom is for --out-seg"),
        ]
        for (arguments, expected) in cases {
            let run = try CLIRunner.run(["segment", "--model", model, "--text", "liver", "--no-zoom-in", "--cpu"] + arguments)
            XCTAssertNotEqual(run.status, 0, "\(arguments)")
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, "one line for \(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(expected), "\(arguments): \(run.stderr)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [], "\(arguments) wrote output")
        }
    }
}
