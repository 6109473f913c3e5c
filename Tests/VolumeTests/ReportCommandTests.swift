import Foundation
import TestSupport
import Volume
import XCTest

/// `segvol classes`, `--classes-file`, and the reports `segment` writes: label tables, statistics and preview.
final class ReportCommandTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("segvol-reports-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    var model: String { Fixtures.model("text-box").path }
    var ct: String { Fixtures.data("ct/example_ct_sm.nii.gz").path }

    func testClassesListsTheVocabularyAsAClassesFile() throws {
        let run = try CLIRunner.run(["classes"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = run.stdout.split(separator: "\n").filter { !$0.isEmpty && !$0.hasPrefix("#") }
        XCTAssertEqual(lines.map { $0.prefix { $0 != "#" }.trimmingCharacters(in: .whitespaces) },
                       PromptVocabulary.segVol.categories.map(\.name))
        let kidneys = lines.filter { $0.contains("(TotalSegmentator)") && $0.contains("kidney") }
        XCTAssertEqual(kidneys.count, 2, "right and left kidney with their TotalSegmentator names")

        // Lines of the listing, comments and all, work as a --classes-file.
        let classes = scratch.appendingPathComponent("classes.txt"), summary = scratch.appendingPathComponent("run.json")
        try kidneys.joined(separator: "\n").write(to: classes, atomically: true, encoding: .utf8)
        let segment = try CLIRunner.run(["segment", "--model", model, "--image", ct, "--classes-file", classes.path,
                                         "--json", summary.path, "--no-zoom-in", "--cpu", "--quiet"])
        XCTAssertEqual(segment.status, 0, segment.stderr)
        XCTAssertEqual(segment.stderr, "", "known names: no warning")
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: summary)) as! [String: Any]
        XCTAssertEqual((document["categories"] as! [[String: Any]]).map { $0["name"] as! String }, ["right kidney", "left kidney"])

        let json = try CLIRunner.run(["classes", "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let objects = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [[String: Any]]
        XCTAssertEqual(objects.count, PromptVocabulary.segVol.categories.count)
        let kidney = try XCTUnwrap(objects.first { $0["name"] as? String == "right kidney" })
        XCTAssertEqual(kidney["totalsegmentator"] as? String, "kidney_right")
        XCTAssertEqual(kidney["color"] as? [Int], [212, 126, 151])
    }

    /// One run with a TotalSegmentator alias, a classes file holding a known and an unknown name, and every report.
    func testReportsMatchAnIndependentComputation() throws {
        let classes = scratch.appendingPathComponent("classes.txt")
        try "# organs\nSpleen   # an alias is fine too\n\nbanana\n".write(to: classes, atomically: true, encoding: .utf8)
        let out = scratch.appendingPathComponent("seg.nii.gz"), masks = scratch.appendingPathComponent("masks")
        let statistics = scratch.appendingPathComponent("statistics.json"), preview = scratch.appendingPathComponent("preview.png")
        let summary = scratch.appendingPathComponent("summary.json")
        let run = try CLIRunner.run(["segment", "--model", model, "--image", ct, "--text", "liver", "--text", "kidney_right",
                                     "--classes-file", classes.path, "--out", out.path, "--out-dir", masks.path,
                                     "--statistics", statistics.path, "--preview", preview.path, "--window", "350,50",
                                     "--json", summary.path, "--no-zoom-in", "--cpu", "--quiet"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let warnings = run.stderr.split(separator: "\n")
        XCTAssertEqual(warnings.count, 1, run.stderr)
        XCTAssertTrue(warnings.first?.contains("warning: \"banana\" is not one of SegVol's training categories") == true, run.stderr)

        let names = ["liver", "right kidney", "spleen", "banana"]
        let maskFiles = names.map { masks.appendingPathComponent($0.replacingOccurrences(of: " ", with: "_") + ".nii.gz") }
        for file in maskFiles { XCTAssertTrue(FileManager.default.fileExists(atPath: file.path), file.path) }

        // Label tables beside the label map.
        let table = LabelTable(names: names)
        let labels = try JSONSerialization.jsonObject(with: Data(contentsOf: scratch.appendingPathComponent("seg.labels.json")))
            as! [String: [[String: Any]]]
        XCTAssertEqual(labels["labels"]!.map { $0["name"] as! String }, names)
        XCTAssertEqual(try String(contentsOf: scratch.appendingPathComponent("seg.ctbl"), encoding: .utf8),
                       table.slicerColourTable(fileName: "seg.ctbl"))

        // Statistics against numpy and nibabel on the written masks; sums in a different order: 1e-6 absolute.
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: statistics)) as! [String: Any]
        let categories = report["categories"] as! [[String: Any]]
        XCTAssertEqual(categories.map { $0["name"] as! String }, names)
        XCTAssertEqual(categories.map { $0["label"] as! Int }, [1, 2, 3, 4])
        let reference = try JSONSerialization.jsonObject(
            with: Data(PythonReference.run(script: "statistics_reference.py", [ct] + maskFiles.map(\.path)).utf8)) as! [[String: Any]]
        for (ours, theirs) in zip(categories, reference) {
            let name = ours["name"] as! String
            XCTAssertEqual(ours["voxels"] as? Int, theirs["voxels"] as? Int, name)
            XCTAssertGreaterThan(ours["voxels"] as! Int, 0, "\(name): the tiny model's mask is not empty")
            assertClose(ours["volume_ml"], theirs["volume_ml"], "\(name) volume")
            let hu = ours["hu"] as! [String: Any], referenceHU = theirs["hu"] as! [String: Any]
            for key in ["mean", "std", "min", "median", "max"] { assertClose(hu[key], referenceHU[key], "\(name) \(key)") }
            for key in ["bounding_box_voxels", "bounding_box_size_mm", "bounding_box_ras", "centroid_voxels", "centroid_ras", "centroid_lps"] {
                let a = ours[key] as! [Double], b = theirs[key] as! [Double]
                XCTAssertEqual(a.count, b.count, "\(name) \(key)")
                for (x, y) in zip(a, b) { assertClose(x, y, "\(name) \(key)") }
            }
        }
        // --json beside --statistics takes its counts and boxes from them: the same as the reference's.
        let segmentSummary = try JSONSerialization.jsonObject(with: Data(contentsOf: summary)) as! [String: Any]
        for (category, theirs) in zip(segmentSummary["categories"] as! [[String: Any]], reference) {
            let name = category["name"] as! String
            XCTAssertEqual(category["voxels"] as? Int, theirs["voxels"] as? Int, "\(name): --json voxels")
            XCTAssertEqual((category["bounding_box"] as? [Int])?.map(Double.init), theirs["bounding_box_voxels"] as? [Double],
                           "\(name): --json box")
        }

        // The preview decodes (Pillow) to the pixels the library draws from the written masks.
        let raw = scratch.appendingPathComponent("preview.rgb")
        let size = try PythonReference.run(script: "png_to_rgb.py", [preview.path, raw.path])
        let image = try NIfTI.read(URL(fileURLWithPath: ct))
        let expected = try PreviewRenderer.render(image: image, masks: try maskFiles.map { try NIfTI.read($0).data.map { $0 > 0 ? 1 : 0 } },
                                                  labels: table, window: DisplayWindow(width: 350, level: 50),
                                                  title: "example_ct_sm.nii.gz")
        XCTAssertEqual(size.trimmingCharacters(in: .whitespacesAndNewlines), "\(expected.image.width) \(expected.image.height) RGB")
        let pixels = [UInt8](try Data(contentsOf: raw))
        XCTAssertEqual(pixels, expected.image.pixels)
        for entry in table.entries {
            let found = stride(from: 0, to: pixels.count, by: 3).contains {
                RGB(pixels[$0], pixels[$0 + 1], pixels[$0 + 2]) == entry.colour
            }
            XCTAssertTrue(found, "\(entry.name)'s colour in the preview")
        }
    }

    /// Each bad input: non-zero exit, one line on stderr naming the problem, no output file.
    func testBadReportInputIsOneLineAndWritesNothing() throws {
        let empty = scratch.appendingPathComponent("empty.txt")
        try "# nothing here\n\n".write(to: empty, atomically: true, encoding: .utf8)
        let out = scratch.appendingPathComponent("seg.nii.gz"), preview = scratch.appendingPathComponent("p.png")
        let cases: [([String], String)] = [
            (["--text", "liver", "--preview", preview.path, "--window", "400"], "--window"),
            (["--text", "liver", "--preview", preview.path, "--window", "0,40"], "width must be positive"),
            (["--text", "liver", "--window", "400,40"], "give --preview too"),
            (["--classes-file", scratch.appendingPathComponent("missing.txt").path], "no such file"),
            (["--classes-file", empty.path], "names no categories"),
            (["--text", "kidney_right", "--text", "Right Kidney"], "given twice"),
        ]
        for (arguments, expected) in cases {
            let run = try CLIRunner.run(["segment", "--model", model, "--image", ct, "--out", out.path, "--cpu"] + arguments)
            XCTAssertNotEqual(run.status, 0, "\(arguments)")
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, "one line for \(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(expected), "\(arguments): \(run.stderr)")
            let written = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0 != "empty.txt" }
            XCTAssertEqual(written, [], "\(arguments) wrote files")
        }
    }

    private func assertClose(_ a: Any?, _ b: Any?, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let x = (a as? NSNumber)?.doubleValue, let y = (b as? NSNumber)?.doubleValue else {
            return XCTFail("\(message): \(String(describing: a)) vs \(String(describing: b))", file: file, line: line)
        }
        XCTAssertEqual(x, y, accuracy: 1e-6, message, file: file, line: line)
    }
}
