import Kernels
import TestSupport
import XCTest

/// Row and whole-sample LayerNorm: Vulkan against the CPU reference (Double accumulation) on awkward sizes
/// and inputs offset by +100, where a one-pass E[x²] - E[x]² in fp32 would lose the variance.
final class LayerNormTests: XCTestCase {
    let cpu = CPUBackend()
    // Inputs around 0: fp32 sums in another order than the Double reference; observed up to 4e-7 of max |ref|.
    let tolerance: Float = 2e-6
    // Inputs around +100: x - mean in fp32 is only known to ulp(100) = 7.6e-6, which is 1.3e-5 of the unit
    // output after dividing by std 0.58 (observed up to 1e-5). A one-pass E[x²] - E[x]² would be off by ~1e-3.
    let offsetTolerance: Float = 3e-5

    /// Runs `body` once per row variant (work group per row, invocation per row), each forced in turn.
    func forEachRowVariant(_ body: (LayerNormKernel.RowVariant) throws -> Void) rethrows {
        defer { LayerNormKernel.forcedRowVariant = nil }
        for variant in LayerNormKernel.RowVariant.allCases {
            LayerNormKernel.forcedRowVariant = variant
            try body(variant)
        }
    }

    /// Dims that are multiples of 4 take the invocation variant's texel path; the others fall back to work groups.
    func testRowLayerNormAwkwardSizes() throws {
        let gpu = try VulkanTesting.backend()
        try forEachRowVariant { variant in try checkRowSizes(gpu, variant) }
    }

    func checkRowSizes(_ gpu: VulkanBackend, _ variant: LayerNormKernel.RowVariant) throws {
        var random = SeededRandom(seed: 11)
        for (rows, dim) in [(1, 1), (5, 7), (2049, 37), (5, 768), (3, 3001), (1, 768), (7, 36), (2049, 772), (1, 4)] {
            for offset: Float in [0, 100] {
                let x = random.floats(rows * dim).map { $0 + offset }
                let weight = random.floats(dim, 0.5, 1.5), bias = random.floats(dim)
                let expected = try rowNorm(cpu, x, weight, bias, rows: rows, dim: dim, inPlace: false)
                for inPlace in [false, true] {
                    let actual = try rowNorm(gpu, x, weight, bias, rows: rows, dim: dim, inPlace: inPlace)
                    XCTAssertLessThan(relativeMaxError(actual, expected), offset == 0 ? tolerance : offsetTolerance,
                                      "layerNorm \(variant) rows \(rows) dim \(dim) offset \(offset) in place \(inPlace)")
                }
            }
        }
    }

    /// Which row pipeline ran, read from the profiler's labels: the invocation variant takes its texel mode
    /// where the dim is a multiple of 4 and falls back to work groups elsewhere.
    func testInvocationRowsTakeTheTexelModeWhereTheDimAllows() throws {
        let gpu = try VulkanTesting.backend()
        LayerNormKernel.forcedRowVariant = .invocation
        defer { LayerNormKernel.forcedRowVariant = nil }
        for (dim, mode) in [(772, "MODE4"), (37, "MODE0")] {
            let x = try gpu.empty(shape: [3, dim]), out = try gpu.empty(shape: [3, dim])
            let weight = try gpu.empty(shape: [dim]), bias = try gpu.empty(shape: [dim])
            let labels = try gpu.dispatchLabels {
                try gpu.layerNorm(x, weight: weight, bias: bias, out: out, rows: 3, dim: dim, eps: 1e-5)
            }
            XCTAssertEqual(labels.map { $0.split(separator: "-").prefix(2).joined(separator: "-") }, ["layernorm-\(mode)"], "dim \(dim)")
        }
    }

    func testRowLayerNormHalfWeights() throws {
        let gpu = try VulkanTesting.backend()
        var random = SeededRandom(seed: 12)
        let rows = 9, dim = 200
        let x = random.floats(rows * dim), weight = random.floats(dim, 0.5, 1.5), bias = random.floats(dim)
        try forEachRowVariant { variant in
            var results: [[Float]] = []
            for backend in [cpu, gpu] as [Backend] {
                let tx = try backend.tensor(x, shape: [rows, dim], dtype: .float32)
                let out = try backend.empty(shape: [rows, dim])
                try backend.layerNorm(tx, weight: backend.tensor(weight, shape: [dim], dtype: .float16),
                                      bias: backend.tensor(bias, shape: [dim], dtype: .float16), out: out, rows: rows, dim: dim, eps: 1e-5)
                results.append(try backend.read(out))
            }
            XCTAssertLessThan(relativeMaxError(results[1], results[0]), tolerance, "\(variant): fp16 weights are widened identically")
        }
    }

    /// An fp16 output (the transformer blocks' normalised activations): the same fp32 arithmetic, each value rounded
    /// once to fp16 by both backends.
    func testRowLayerNormHalfOutput() throws {
        let gpu = try VulkanTesting.backend()
        try XCTSkipUnless(gpu.supportsHalf, "\(gpu.deviceName) has no fp16 storage")
        try forEachRowVariant { variant in try checkHalfOutput(gpu, variant) }
    }

    func checkHalfOutput(_ gpu: VulkanBackend, _ variant: LayerNormKernel.RowVariant) throws {
        var random = SeededRandom(seed: 14)
        for (rows, dim) in [(5, 7), (2049, 37), (3, 3001), (6, 772)] {
            for offset: Float in [0, 100] {
                let x = random.floats(rows * dim).map { $0 + offset }
                let weight = random.floats(dim, 0.5, 1.5), bias = random.floats(dim)
                var results: [[Float]] = []
                for backend in [cpu, gpu] as [Backend] {
                    let out = try backend.empty(shape: [rows, dim], dtype: .float16)
                    try backend.layerNorm(backend.tensor(x, shape: [rows, dim], dtype: .float32),
                                          weight: backend.tensor(weight, shape: [dim], dtype: .float32),
                                          bias: backend.tensor(bias, shape: [dim], dtype: .float32), out: out, rows: rows, dim: dim, eps: 1e-5)
                    XCTAssertEqual(out.dtype, .float16)
                    results.append(try backend.read(out))
                }
                let error = relativeMaxError(results[1], results[0])
                XCTAssertLessThan(error, (offset == 0 ? tolerance : offsetTolerance) + halfRoundingTolerance,
                                  "layerNorm \(variant) fp16 out rows \(rows) dim \(dim) offset \(offset): error \(error)")
            }
        }
    }

    func testSampleLayerNormAwkwardSizes() throws {
        let gpu = try VulkanTesting.backend()
        var random = SeededRandom(seed: 13)
        for sampleSize in [1, 1000, 3 * 5 * 7 * 11 * 13, 1_048_583] {
            let offset: Float = sampleSize == 1000 ? 0 : 100
            let x = random.floats(2 * sampleSize).map { $0 + offset }
            let weight = random.floats(sampleSize, 0.5, 1.5), bias = random.floats(sampleSize)
            let expected = try sampleNorm(cpu, x, weight, bias, sampleSize: sampleSize, inPlace: false)
            for inPlace in [false, true] {
                let actual = try sampleNorm(gpu, x, weight, bias, sampleSize: sampleSize, inPlace: inPlace)
                XCTAssertLessThan(relativeMaxError(actual, expected), offset == 0 ? tolerance : offsetTolerance,
                                  "sampleLayerNorm size \(sampleSize) offset \(offset) in place \(inPlace)")
            }
        }
    }

    private func rowNorm(_ backend: Backend, _ x: [Float], _ weight: [Float], _ bias: [Float], rows: Int, dim: Int,
                         inPlace: Bool) throws -> [Float] {
        let tx = try backend.tensor(x, shape: [rows, dim], dtype: .float32)
        let out = inPlace ? tx : try backend.empty(shape: [rows, dim])
        try backend.layerNorm(tx, weight: backend.tensor(weight, shape: [dim], dtype: .float32),
                              bias: backend.tensor(bias, shape: [dim], dtype: .float32), out: out, rows: rows, dim: dim, eps: 1e-5)
        return try backend.read(out)
    }

    private func sampleNorm(_ backend: Backend, _ x: [Float], _ weight: [Float], _ bias: [Float], sampleSize: Int,
                            inPlace: Bool) throws -> [Float] {
        let samples = x.count / sampleSize
        let tx = try backend.tensor(x, shape: [samples, sampleSize], dtype: .float32)
        let out = inPlace ? tx : try backend.empty(shape: [samples, sampleSize])
        try backend.sampleLayerNorm(tx, weight: backend.tensor(weight, shape: [sampleSize], dtype: .float32),
                                    bias: backend.tensor(bias, shape: [sampleSize], dtype: .float32), out: out,
                                    samples: samples, sampleSize: sampleSize, eps: 1e-6)
        return try backend.read(out)
    }
}
