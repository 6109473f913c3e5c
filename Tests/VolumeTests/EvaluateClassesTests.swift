import Foundation
import TestSupport
import Volume
import XCTest

/// `evaluate --classes` maps names through SegVol's vocabulary as `segment` does: the model receives the trained
/// name, which also names the logits file; other names run as typed after a one-line warning.
final class EvaluateClassesTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("segvol-eval-classes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func evaluate(classes: String, extraArguments: [String] = []) throws -> CLIRunner.Result {
        let folder = Fixtures.model("text")
        return try CLIRunner.run([
            "evaluate", "--model", folder.path, "--image", Fixtures.data("ct/example_ct_sm.nii.gz").path,
            "--label", folder.appendingPathComponent("gt.nii.gz").path, "--classes", classes, "--quiet", "--cpu",
        ] + extraArguments)
    }

    /// TotalSegmentator's `kidney_right` runs as "right kidney": the logits match the published code's for "right
    /// kidney" (the fixture, label 1) within the fixtures' tolerance; typed as an unknown spelling, the same label
    /// gave logits 16% off, so the comparison tells the two texts apart.
    func testAliasesBecomeTheTrainedNameAndUnknownNamesWarn() throws {
        let json = scratch.appendingPathComponent("dice.json")
        let run = try evaluate(classes: "1=kidney_right,3=banana peel",
                               extraArguments: ["--json", json.path, "--logits-dir", scratch.path, "--window-box", "user"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("\"banana peel\" is not one of SegVol's training categories"), run.stderr)

        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as! [String: Any]
        XCTAssertEqual((report["classes"] as! [[String: Any]]).map { $0["name"] as! String }, ["right kidney"])
        XCTAssertEqual(report["skipped"] as? [String], ["banana peel"], "label 3 is not in the fixture's gt.nii.gz")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted(), ["dice.json", "right_kidney.npy"])

        let actual = try NPY.readFloat32(scratch.appendingPathComponent("right_kidney.npy")).data
        let expected = try NPY.readFloat32(Fixtures.model("text").appendingPathComponent("logits_right_kidney.npy")).data
        XCTAssertEqual(actual.count, expected.count)
        guard actual.count == expected.count else { return }
        let error = relativeMaxError(actual, expected)
        XCTAssertLessThanOrEqual(error, EvaluateFixtureTests.logitTolerance, "logits max error \(error)")
    }

    /// Checked before the model is read: one line, non-zero exit, nothing written.
    func testRepeatedAndEmptyNamesAreOneLineErrors() throws {
        let cases = [("1=kidney_right,2=Right Kidney", "category \"right kidney\" is given twice"),
                     ("1=liver,2= ", "empty category name in --classes")]
        for (classes, expected) in cases {
            let json = scratch.appendingPathComponent("dice.json")
            let run = try evaluate(classes: classes, extraArguments: ["--json", json.path])
            XCTAssertNotEqual(run.status, 0, classes)
            XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, "\(classes): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(expected), "\(classes): \(run.stderr)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [], "\(classes) wrote output")
        }
    }
}
