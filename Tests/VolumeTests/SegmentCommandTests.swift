import Foundation
import TestSupport
import Volume
import XCTest

/// `segvol segment`: outputs on the input's grid, and bad input as a one-line error with nothing written.
final class SegmentCommandTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("segvol-segment-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    var model: String { Fixtures.model("text-box").path }
    var ct: String { Fixtures.data("ct/example_ct_sm.nii.gz").path }

    func testLabelMapMasksAndJSONLineUpWithTheInput() throws {
        let out = scratch.appendingPathComponent("seg.nii.gz"), json = scratch.appendingPathComponent("stats.json")
        let masks = scratch.appendingPathComponent("masks")
        let run = try CLIRunner.run(["segment", "--model", model, "--image", ct, "--text", "liver", "--text", "spleen",
                                     "--box", "10,10,2,100,90,25", "--out", out.path, "--out-dir", masks.path,
                                     "--json", json.path, "--probabilities", "--cpu", "--quiet"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let input = try NIfTI.read(URL(fileURLWithPath: ct))
        let labels = try NIfTI.read(out)
        XCTAssertEqual(labels.header.dims, input.header.dims)
        XCTAssertEqual(labels.header.affine, input.header.affine)
        XCTAssertEqual(labels.header.datatype, 2, "uint8")
        XCTAssertTrue(Set(labels.data).isSubset(of: [0, 1, 2]))
        let liver = try NIfTI.read(masks.appendingPathComponent("liver.nii.gz"))
        let probability = try NIfTI.read(masks.appendingPathComponent("liver_probability.nii.gz"))
        XCTAssertEqual(liver.header.affine, input.header.affine)
        // The mask is the probability above one half, voxel for voxel (a logit within 6e-8 of 0 rounds to exactly 0.5).
        let disagreeing = zip(liver.data, probability.data).filter { $1 != 0.5 && ($0 > 0) != ($1 > 0.5) }.count
        XCTAssertEqual(disagreeing, 0, "voxels where mask and probability disagree")
        XCTAssertGreaterThan(liver.data.filter { $0 > 0 }.count, 0)
        let stats = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as! [String: Any]
        let categories = stats["categories"] as! [[String: Any]]
        XCTAssertEqual(categories.map { $0["name"] as! String }, ["liver", "spleen"])
        XCTAssertEqual(categories[0]["voxels"] as? Int, liver.data.filter { $0 > 0 }.count)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.contains("partial") }
        XCTAssertEqual(leftovers, [])
    }

    /// `--precision fp16` reaches the model (the Dice against fp32 is PrecisionFixtureTests' job).
    func testHalfPrecisionOption() throws {
        _ = try VulkanTesting.backend()
        let masks = scratch.appendingPathComponent("masks")
        let run = try CLIRunner.run(["segment", "--model", model, "--image", ct, "--text", "liver", "--out-dir", masks.path,
                                     "--precision", "fp16", "--no-zoom-in", "--quiet"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertGreaterThan(try NIfTI.read(masks.appendingPathComponent("liver.nii.gz")).data.filter { $0 > 0 }.count, 0)
        let bad = try CLIRunner.run(["segment", "--model", model, "--image", ct, "--text", "liver", "--out-dir", masks.path,
                                     "--precision", "fp8", "--overwrite"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("fp8"), bad.stderr)
    }

    func testRefusesToOverwrite() throws {
        let out = scratch.appendingPathComponent("seg.nii.gz")
        try Data("keep me".utf8).write(to: out)
        let run = try CLIRunner.run(["segment", "--model", model, "--image", ct, "--text", "liver", "--out", out.path, "--cpu"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("--overwrite"), run.stderr)
        XCTAssertEqual(try String(contentsOf: out, encoding: .utf8), "keep me")
    }

    /// Each bad input: non-zero exit, one line on stderr naming the problem, no output file.
    func testBadInputIsOneLineAndWritesNothing() throws {
        let truncated = scratch.appendingPathComponent("truncated.nii.gz")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: ct))
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        let text = scratch.appendingPathComponent("notes.nii")
        try Data(String(repeating: "not an image ", count: 100).utf8).write(to: text)
        let out = scratch.appendingPathComponent("out.nii.gz")
        let cases: [([String], String)] = [
            (["--image", scratch.appendingPathComponent("missing.nii.gz").path, "--text", "liver"], "no such file"),
            (["--image", truncated.path, "--text", "liver"], "truncated.nii.gz"),
            (["--image", text.path, "--text", "liver"], "notes.nii"),
            (["--image", ct, "--box", "10,10,2,500,90,25"], "outside the image"),
            (["--image", ct, "--box", "50,10,2,40,90,25"], "empty"),
            (["--image", ct, "--point", "1000,1,1"], "outside the image"),
            (["--image", ct], "no prompt"),
        ]
        for (arguments, expected) in cases {
            let run = try CLIRunner.run(["segment", "--model", model, "--out", out.path, "--cpu"] + arguments)
            XCTAssertNotEqual(run.status, 0, "\(arguments)")
            let lines = run.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "one line for \(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(expected), "\(arguments): \(run.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "\(arguments) wrote output")
        }
        let missingModel = try CLIRunner.run(["segment", "--model", scratch.appendingPathComponent("nomodel").path,
                                              "--image", ct, "--text", "liver", "--out", out.path, "--cpu"])
        XCTAssertTrue(missingModel.stderr.contains("BAAI/SegVol"), missingModel.stderr)
    }

    func testConstantImageIsAnError() throws {
        let input = try NIfTI.read(URL(fileURLWithPath: ct))
        let flat = scratch.appendingPathComponent("flat.nii.gz")
        try NIfTI.write(float32: [Float](repeating: 7, count: input.data.count), like: input.header, to: flat)
        let out = scratch.appendingPathComponent("out.nii.gz")
        let run = try CLIRunner.run(["segment", "--model", model, "--image", flat.path, "--text", "liver", "--out", out.path, "--cpu"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.lowercased().contains("constant"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }
}
