import Foundation
import TestSupport
import Volume
import XCTest

/// `segvol evaluate` on the shared CT reproduces the published code's final logits and Dice (fixtures README).
final class EvaluateFixtureTests: XCTestCase {
    /// Tolerances from the fixtures README for a float32 engine.
    static let logitTolerance: Float = 1e-4
    static let maskAgreement = 0.999
    static let diceTolerance = 0.002

    /// The second category of each two-category fixture was made with something the published code does not do:
    /// running the published SegVol code itself (PyTorch, MONAI) on these weights gives right kidney within 8e-8 of
    /// its fixture but misses left kidney by 5e-3 and spleen by 4e-2, and our engine equals the published code on
    /// left kidney within 1e-7. Their box prompts are still checked; their logits are not (issue note).
    static let notFromThePublishedCode: Set<String> = ["left kidney", "spleen"]

    func evaluate(_ fixture: String, extraArguments: [String]) throws {
        let folder = Fixtures.model(fixture)
        let result = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("result.json"))) as! [String: Any]
        let names = result["names"] as! [String]
        let prompts = (result["prompts"] as! [String]).joined(separator: ",")
        let categories = result["categories"] as! [String: [String: Any]]
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("segvol-eval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let classes = names.enumerated().map { "\($0.offset + 1)=\($0.element)" }.joined(separator: ",")
        let json = scratch.appendingPathComponent("dice.json")
        let run = try CLIRunner.run([
            "evaluate", "--model", folder.path, "--image", Fixtures.data("ct/example_ct_sm.nii.gz").path,
            "--label", folder.appendingPathComponent("gt.nii.gz").path, "--classes", classes, "--prompts", prompts,
            "--json", json.path, "--logits-dir", scratch.path, "--quiet", "--window-box", "user",
        ] + extraArguments)
        XCTAssertEqual(run.status, 0, "\(fixture): \(run.stderr)")
        guard run.status == 0 else { return }
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as! [String: Any]
        let rows = report["classes"] as! [[String: Any]]
        for name in names {
            let row = rows.first { $0["name"] as? String == name }
            if let box = categories[name]?["box_zoom_out"] as? [Double] {
                XCTAssertEqual(row?["box_zoom_out"] as? [Double], box, "\(fixture)/\(name): box derived from the label")
            }
            if Self.notFromThePublishedCode.contains(name) { continue }
            let file = name.replacingOccurrences(of: " ", with: "_") + ".npy"
            let expected = try NPY.readFloat32(folder.appendingPathComponent("logits_" + file)).data
            let actual = try NPY.readFloat32(scratch.appendingPathComponent(file)).data
            XCTAssertEqual(actual.count, expected.count, "\(fixture)/\(name): logits size")
            guard actual.count == expected.count else { continue }
            let error = relativeMaxError(actual, expected)
            XCTAssertLessThanOrEqual(error, Self.logitTolerance, "\(fixture)/\(name) \(extraArguments): logits max error \(error)")
            let agree = zip(actual, expected).filter { ($0 > 0) == ($1 > 0) }.count
            XCTAssertGreaterThanOrEqual(Double(agree) / Double(actual.count), Self.maskAgreement, "\(fixture)/\(name): mask agreement")
            let expectedDice = categories[name]?["dice_vs_gt"] as! Double
            XCTAssertEqual(row?["dice"] as? Double ?? -1, expectedDice, accuracy: Self.diceTolerance, "\(fixture)/\(name): Dice")
        }
    }

    func testFixturesOnVulkan() throws {
        _ = try VulkanTesting.backend()
        for fixture in Fixtures.fixtureFolders { try evaluate(fixture, extraArguments: []) }
    }

    func testFixturesOnCPU() throws {
        for fixture in Fixtures.fixtureFolders { try evaluate(fixture, extraArguments: ["--cpu"]) }
    }
}
