import Foundation
import TestSupport
import XCTest

/// `segvol bench kernels --json`: the rows' fields and what "% of peak" is measured against.
final class KernelBenchCommandTests: XCTestCase {
    func testRowsCarryTheirPeakAndItsSource() throws {
        _ = try VulkanTesting.backend()
        let run = try CLIRunner.run(["bench", "kernels", "--filter", "conv3d", "--runs", "1", "--warmup", "0",
                                     "--skip-cpu-reference", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let rows = try run.stdout.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0))
        }
        let kernels = rows.compactMap { $0["kernel"] as? String }
        let conv = try XCTUnwrap(rows.first { $0["kernel"] as? String == "conv3d" }, run.stdout)
        let gflops = try XCTUnwrap(conv["gflops"] as? Double)
        let share = try XCTUnwrap(conv["peak_share"] as? Double)
        let peak = try XCTUnwrap(conv["peak_gflops"] as? Double)
        XCTAssertEqual(share, 100 * gflops / peak, accuracy: 1e-9 * share)
        if kernels.first == "fma_ceiling" {
            // No data sheet for this device (lavapipe): the peak is the multiply-add ceiling, measured in the same run.
            XCTAssertGreaterThan(try XCTUnwrap(rows[0]["gflops"] as? Double), 0)
            XCTAssertEqual(conv["peak_source"] as? String, "measured")
        } else {
            XCTAssertEqual(conv["peak_source"] as? String, "data sheet", run.stdout)
            XCTAssertFalse(kernels.contains("fma_ceiling"), run.stdout)
        }
        XCTAssertEqual(kernels.filter { $0 == "conv3d" }.count, 1, run.stdout)
    }

    /// `--variant` keeps only the kernel rows of variants whose name contains its text.
    func testVariantFilterKeepsOnlyMatchingVariants() throws {
        _ = try VulkanTesting.backend()
        for (variant, expected) in [("auto", ["conv3d"]), ("no-such-variant", [])] {
            let run = try CLIRunner.run(["bench", "kernels", "--filter", "conv3d", "--variant", variant, "--runs", "1",
                                         "--warmup", "0", "--skip-cpu-reference", "--json"])
            XCTAssertEqual(run.status, 0, run.stderr)
            let kernels = try run.stdout.split(separator: "\n").map {
                try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0))["kernel"] as? String
            }
            XCTAssertEqual(kernels.filter { $0 != "fma_ceiling" }, expected, run.stdout)
        }
    }
}
