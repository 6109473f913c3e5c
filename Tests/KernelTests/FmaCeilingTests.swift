import Kernels
import TestSupport
import XCTest

/// The kernel benchmark's arithmetic probe against its CPU reference.
final class FmaCeilingTests: XCTestCase {
    /// A GPU that fuses the multiply-add rounds once where the reference (and lavapipe) round twice: at most an ulp
    /// of the chain per step, 160 steps in the longest case here, and y < 1 damps what came before.
    static let tolerance: Float = 2e-5

    func testSumsMatchTheReference() throws {
        let gpu = try VulkanTesting.backend()
        // Counts that are not multiples of the work group (64); 0 rounds is the chains' start values.
        for (count, rounds) in [(1, 0), (333, 7), (64 * 5 + 1, 40), (1500, 3)] {
            let out = try gpu.empty(shape: [count])
            try gpu.fmaCeiling(out: out, rounds: rounds)
            let expected = CPUBackend.fmaCeilingSums(count: count, rounds: rounds)
            let error = relativeMaxError(try gpu.read(out), expected)
            XCTAssertLessThanOrEqual(error, Self.tolerance, "\(count) sums, \(rounds) rounds: error \(error)")
        }
    }

    func testTheReferenceRunsItsChains() {
        // Invocation 0 has x = 0, so every chain only decays: c · (0.999^n + 0.998^n + 0.997^n + 0.996^n) summed over c.
        let n = 4 * 5
        let decay = [0.999, 0.998, 0.997, 0.996].map { Float(pow(Double($0), Double(n))) }.reduce(0, +)
        let expected = Float((0..<8).reduce(0, +)) * decay
        XCTAssertEqual(CPUBackend.fmaCeilingSums(count: 1, rounds: 5)[0], expected, accuracy: 1e-4)
        XCTAssertEqual(FmaCeilingKernel.flops(count: 10, rounds: 3), 10 * 3 * 256)
    }
}
