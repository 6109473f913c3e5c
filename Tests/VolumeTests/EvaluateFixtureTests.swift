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

    /// The fixtures were generated with two things the published code does not do, which the run reproduces:
    /// every zoom-in window gets the user's zoom-out box (`--window-box user`), and every category is decoded with
    /// the first category's prompt tokens (box corners and text token), keeping its own text in the decoder's
    /// text-similarity term (`--prompt-tokens first`). With its own tokens, as in the published code, the second
    /// categories differ: left kidney by 7 % and spleen by 41 % of the fixture's largest logit.
    static let generatorConventions = ["--window-box", "user", "--prompt-tokens", "first"]

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
            "--json", json.path, "--logits-dir", scratch.path, "--quiet",
        ] + Self.generatorConventions + extraArguments)
        XCTAssertEqual(run.status, 0, "\(fixture): \(run.stderr)")
        guard run.status == 0 else { return }
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as! [String: Any]
        let rows = report["classes"] as! [[String: Any]]
        for name in names {
            let row = rows.first { $0["name"] as? String == name }
            if let box = categories[name]?["box_zoom_out"] as? [Double] {
                XCTAssertEqual(row?["box_zoom_out"] as? [Double], box, "\(fixture)/\(name): box derived from the label")
            }
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

    /// The first category's tokens are defined only where its window prompt is its own prompt unchanged.
    func testFirstCategoryTokensNeedTheUserBoxInEveryWindow() throws {
        let folder = Fixtures.model("text-box")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("segvol-eval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let json = scratch.appendingPathComponent("dice.json")
        let run = try CLIRunner.run([
            "evaluate", "--model", folder.path, "--image", Fixtures.data("ct/example_ct_sm.nii.gz").path,
            "--label", folder.appendingPathComponent("gt.nii.gz").path, "--classes", "1=liver,2=spleen", "--prompts", "box,text",
            "--json", json.path, "--prompt-tokens", "first", "--cpu", "--quiet",
        ])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("--window-box user"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: json.path), "nothing written")
    }
}
