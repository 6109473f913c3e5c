import Foundation
import TestSupport
import Volume
import XCTest

/// `segvol batch` end to end on the shared CT under several names: results equal `segment`'s, failures are recorded,
/// finished cases are skipped, and killed runs resume to a complete output.
final class BatchCommandTests: XCTestCase {
    var scratch: URL!
    var inputs: URL { scratch.appendingPathComponent("in") }
    var out: URL { scratch.appendingPathComponent("out") }
    var model: String { Fixtures.model("text-box").path }
    let ct = Fixtures.data("ct/example_ct_sm.nii.gz")

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("segvol-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Links the shared CT into the input folder under each name.
    func addCases(_ names: [String]) throws {
        for name in names {
            try FileManager.default.createSymbolicLink(at: inputs.appendingPathComponent(name + ".nii.gz"), withDestinationURL: ct)
        }
    }

    func batch(_ arguments: [String]) throws -> CLIRunner.Result {
        try CLIRunner.run(["batch", "--model", model, "--input", inputs.path, "--out-dir", out.path] + arguments)
    }

    func record(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: out.appendingPathComponent(name).appendingPathComponent("run.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    func testGoodCasesEqualSegmentTheBadOneFailsAndASecondRunSkips() throws {
        _ = try VulkanTesting.backend()
        try addCases(["ct_a", "ct_b"])
        let bytes = try Data(contentsOf: ct)
        try bytes.prefix(bytes.count / 2).write(to: inputs.appendingPathComponent("broken.nii.gz"))
        let prompts = ["--text", "liver", "--text", "spleen"]

        let first = try batch(prompts)
        XCTAssertNotEqual(first.status, 0, "a failed case makes the exit status non-zero")
        XCTAssertTrue(first.stdout.contains("1 failed"), first.stdout)

        let reference = scratch.appendingPathComponent("segment.nii.gz")
        let run = try CLIRunner.run(["segment", "--model", model, "--image", ct.path, "--out", reference.path, "--quiet"] + prompts)
        XCTAssertEqual(run.status, 0, run.stderr)
        let expected = try NIfTI.read(reference)
        for name in ["ct_a", "ct_b"] {
            let labels = try NIfTI.read(out.appendingPathComponent(name).appendingPathComponent("segmentation.nii.gz"))
            XCTAssertEqual(labels.header.dims, expected.header.dims)
            XCTAssertEqual(labels.header.affine, expected.header.affine)
            XCTAssertTrue(labels.data == expected.data, "\(name): label map differs from segment --out")
            let json = try record(name)
            XCTAssertEqual(json["status"] as? String, "ok")
            XCTAssertTrue(json["error"] is NSNull)
            XCTAssertEqual((json["input"] as? [String: Any])?["sha256"] as? String, try SHA256.hex(ofFile: ct))
            XCTAssertEqual(json["prompts"] as? [String], ["liver", "spleen"])
            XCTAssertEqual(json["precision"] as? String, "fp32")
            let categories = json["categories"] as! [[String: Any]]
            for (c, category) in categories.enumerated() {
                // Each category's own mask holds at least the voxels the label map gives it.
                let labelled = labels.data.filter { $0 == Float(c + 1) }.count
                XCTAssertGreaterThanOrEqual(category["voxels"] as! Int, labelled)
                XCTAssertGreaterThan(category["volume_ml"] as! Double, 0)
            }
            let seconds = json["seconds"] as! [String: Double]
            XCTAssertEqual(Set(seconds.keys), ["read", "preprocess", "zoom_out", "zoom_in", "write", "total"])
        }
        let broken = try record("broken")
        XCTAssertEqual(broken["status"] as? String, "failed")
        XCTAssertTrue((broken["error"] as? String ?? "").contains("truncated"), "\(broken["error"] ?? "no error")")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("broken/segmentation.nii.gz").path))

        // A second run recomputes nothing that is done: the files are the very same ones.
        let recordBefore = try Data(contentsOf: out.appendingPathComponent("ct_a/run.json"))
        let inodeBefore = try inode(out.appendingPathComponent("ct_a/segmentation.nii.gz"))
        let second = try batch(prompts)
        XCTAssertNotEqual(second.status, 0, "the broken case still fails")
        XCTAssertTrue(second.stdout.contains("skipped ct_a") && second.stdout.contains("skipped ct_b"), second.stdout)
        XCTAssertTrue(second.stdout.contains("0 ok, 1 failed, 2 skipped"), second.stdout)
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("ct_a/run.json")), recordBefore)
        XCTAssertEqual(try inode(out.appendingPathComponent("ct_a/segmentation.nii.gz")), inodeBefore)

        // Other prompts are other work: the cases are recomputed.
        let third = try batch(["--text", "liver", "--no-zoom-in"])
        XCTAssertTrue(third.stdout.contains("2 ok, 1 failed, 0 skipped"), third.stdout)

        let summary = try CLIRunner.run(["summarize", out.path])
        XCTAssertEqual(summary.status, 0, summary.stderr)
        let csv = try String(contentsOf: out.appendingPathComponent("summary.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "case,status,seconds,liver voxels,liver ml,error")
        XCTAssertEqual(csv.count, 4)
        XCTAssertTrue(csv[1].hasPrefix("broken,failed,"), String(csv[1]))
        XCTAssertTrue(csv[2].hasPrefix("ct_a,ok,"), String(csv[2]))
    }

    /// A run killed while it writes (SIGTERM, then SIGKILL) leaves no folder that looks finished, and the next run
    /// ends with every case ok and nothing half-written.
    func testKilledRunsResumeToEveryCaseOk() throws {
        _ = try VulkanTesting.backend()
        let names = ["ct_1", "ct_2", "ct_3", "ct_4"]
        try addCases(names)
        for signal in [SIGTERM, SIGKILL] {
            try? FileManager.default.removeItem(at: out)
            let process = Process()
            process.executableURL = CLIRunner.binary
            process.arguments = ["batch", "--model", model, "--input", inputs.path, "--out-dir", out.path, "--text", "liver", "--quiet"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            // Kill as soon as a case is being written.
            let deadline = Date().addingTimeInterval(300)
            while process.isRunning && Date() < deadline && !entries().contains(where: { $0.contains(".partial-") }) {
                usleep(5_000)
            }
            XCTAssertTrue(process.isRunning, "the batch ended before it could be killed")
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            for name in entries() where !name.hasPrefix(".") {
                XCTAssertEqual(try record(name)["status"] as? String, "ok", "signal \(signal): \(name) looks finished but is not")
                XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name + "/segmentation.nii.gz").path))
            }

            let rerun = try batch(["--text", "liver", "--quiet"])
            XCTAssertEqual(rerun.status, 0, rerun.stdout + rerun.stderr)
            XCTAssertEqual(entries().sorted(), names, "signal \(signal): leftovers beside the cases")
            for name in names {
                XCTAssertEqual(try record(name)["status"] as? String, "ok", name)
                let files = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent(name).path)
                XCTAssertEqual(files.sorted(), ["run.json", "segmentation.ctbl", "segmentation.labels.json", "segmentation.nii.gz", "statistics.json"], "signal \(signal): \(name)")
            }
        }
    }

    /// With 2 and 3 parts, from Slurm array variables, a Kubernetes Indexed Job's index or the options, the parts
    /// are disjoint and together hold every case.
    func testShardsAreDisjointAndCoverEveryCase() throws {
        let names = (0..<7).map { "case_\($0)" }
        for name in names { try Data().write(to: inputs.appendingPathComponent(name + ".nii.gz")) }
        for parts in [2, 3] {
            let sources: [(String, (Int) -> ([String], [String: String]))] = [
                ("slurm", { i in ([], ["SLURM_ARRAY_TASK_ID": "\(4 + i)", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_COUNT": "\(parts)"]) }),
                ("slurm with step 2", { i in ([], ["SLURM_ARRAY_TASK_ID": "\(2 * i)", "SLURM_ARRAY_TASK_MIN": "0",
                                                    "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "\(parts)"]) }),
                ("kubernetes", { i in ([], ["JOB_COMPLETION_INDEX": "\(i)", "SEGVOL_NUM_PARTS": "\(parts)"]) }),
                ("kubernetes with --num-parts", { i in (["--num-parts", "\(parts)"], ["JOB_COMPLETION_INDEX": "\(i)"]) }),
                ("options", { i in (["--num-parts", "\(parts)", "--part-id", "\(i)"], [:]) }),
            ]
            for (source, make) in sources {
                var seen: [String] = []
                for i in 0..<parts {
                    let (arguments, environment) = make(i)
                    let run = try CLIRunner.run(["batch", "--model", model, "--input", inputs.path, "--out-dir", out.path,
                                                 "--text", "liver", "--dry-run"] + arguments, environment: environment)
                    XCTAssertEqual(run.status, 0, "\(source): \(run.stderr)")
                    let part = run.stdout.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }
                    XCTAssertFalse(part.isEmpty, "\(source): part \(i) of \(parts) is empty")
                    XCTAssertTrue(Set(part).isDisjoint(with: seen), "\(source): part \(i) of \(parts) repeats a case")
                    seen += part
                }
                XCTAssertEqual(seen.sorted(), names, "\(source), \(parts) parts: not every case")
            }
        }
        let unsized = try CLIRunner.run(["batch", "--model", model, "--input", inputs.path, "--out-dir", out.path,
                                         "--text", "liver", "--dry-run"], environment: ["JOB_COMPLETION_INDEX": "0"])
        XCTAssertNotEqual(unsized.status, 0)
        XCTAssertTrue(unsized.stderr.contains("SEGVOL_NUM_PARTS"), unsized.stderr)
        let outside = try CLIRunner.run(["batch", "--model", model, "--input", inputs.path, "--out-dir", out.path,
                                         "--text", "liver", "--dry-run", "--num-parts", "2", "--part-id", "2"])
        XCTAssertNotEqual(outside.status, 0)
        XCTAssertEqual(outside.stderr.split(separator: "\n").count, 1, outside.stderr)
    }

    /// A DICOM series folder is one case named after the folder; each case gets statistics.json and a label table as
    /// `segment --statistics` and `--out` write them, and prompts go through the vocabulary.
    func testDICOMFolderCaseWithStatisticsAndLabelTable() throws {
        _ = try VulkanTesting.backend()
        let series = Fixtures.data("ct/example_ct_dicom")
        let prompts = ["--text", "kidney_right", "--no-zoom-in"]
        let run = try CLIRunner.run(["batch", "--model", model, "--input", series.path, "--out-dir", out.path, "--quiet"] + prompts)
        XCTAssertEqual(run.status, 0, run.stderr)
        let folder = out.appendingPathComponent("example_ct_dicom")
        XCTAssertEqual(try record("example_ct_dicom")["prompts"] as? [String], ["right kidney"], "the alias maps to the trained name")
        for file in ["segmentation.nii.gz", "segmentation.labels.json", "segmentation.ctbl", "statistics.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), file)
        }

        let statistics = scratch.appendingPathComponent("segment-statistics.json")
        let single = try CLIRunner.run(["segment", "--model", model, "--image", series.path, "--statistics", statistics.path,
                                        "--quiet"] + prompts)
        XCTAssertEqual(single.status, 0, single.stderr)
        func categories(_ url: URL) throws -> NSArray {
            let document = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            return document["categories"] as! NSArray
        }
        XCTAssertEqual(try categories(folder.appendingPathComponent("statistics.json")), try categories(statistics),
                       "batch's statistics equal segment's")
    }

    func testTwoInputsWithOneNameAreAnErrorBeforeAnyWork() throws {
        let other = scratch.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try addCases(["liver_ct"])
        try FileManager.default.createSymbolicLink(at: other.appendingPathComponent("liver_ct.nii"), withDestinationURL: ct)
        let run = try CLIRunner.run(["batch", "--model", model, "--input", inputs.path, other.path, "--out-dir", out.path,
                                     "--text", "liver"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("in/liver_ct.nii.gz") && run.stderr.contains("other/liver_ct.nii"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "nothing is written before the inputs are checked")
    }

    private func entries() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
    }

    private func inode(_ url: URL) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: url.path)[.systemFileNumber] as! Int
    }
}
