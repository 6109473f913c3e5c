import Kernels
import TestSupport
import XCTest

/// Conv3d and ConvTranspose3d: Vulkan (each variant) against the CPU reference on seeded random inputs.
final class ConvolutionTests: XCTestCase {
    let cpu = CPUBackend()
    /// fp32 sums of up to ~1000 products in a different order than the reference loops.
    let tolerance: Float = 1e-5

    private func conv(_ backend: Backend, transposed: Bool, _ shape: ConvShape, x: [Float], weight: [Float],
                      bias: [Float]?, weightType: DType = .float32) throws -> [Float] {
        let tx = try backend.tensor(x, shape: [shape.batch, shape.inChannels] + shape.inSize, dtype: .float32)
        let wShape = (transposed ? [shape.inChannels, shape.outChannels] : [shape.outChannels, shape.inChannels]) + shape.kernel
        let tw = try backend.tensor(weight, shape: wShape, dtype: weightType)
        let tb = try bias.map { try backend.tensor($0, shape: [$0.count], dtype: weightType) }
        let outSize = transposed ? shape.transposedOutSize : shape.convOutSize
        let out = try backend.empty(shape: [shape.batch, shape.outChannels] + outSize)
        if transposed {
            try backend.convTranspose3d(tx, weight: tw, bias: tb, out: out, shape)
        } else {
            try backend.conv3d(tx, weight: tw, bias: tb, out: out, shape)
        }
        return try backend.read(out)
    }

    private func check(transposed: Bool, _ shapes: [ConvShape], seed: UInt64, weightType: DType = .float32,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let gpu = try VulkanTesting.backend()
        var random = SeededRandom(seed: seed)
        for (index, shape) in shapes.enumerated() {
            let x = random.floats(shape.batch * shape.inChannels * shape.inSize.reduce(1, *))
            let weight = random.floats(shape.inChannels * shape.outChannels * shape.kernel.reduce(1, *))
            // Every other case without a bias.
            let bias = index % 2 == 0 ? random.floats(shape.outChannels) : nil
            let expected = try conv(cpu, transposed: transposed, shape, x: x, weight: weight, bias: bias, weightType: weightType)
            let actual = try conv(gpu, transposed: transposed, shape, x: x, weight: weight, bias: bias, weightType: weightType)
            let error = relativeMaxError(actual, expected)
            XCTAssertLessThan(error, tolerance, "\(transposed ? "convTranspose3d" : "conv3d") \(shape)", file: file, line: line)
        }
    }

    /// Outputs over 128 MiB (lavapipe's maxStorageBufferRange) run in runs of whole batch items: the decoder's
    /// kernel-2 upscaling of many categories at once, and a conv3d on the general path with odd item sizes, so its
    /// runs start at offsets that are not multiples of the binding alignment.
    func testBatchLargerThanOneBinding() throws {
        let gpu = try VulkanTesting.backend()
        let shapes = [
            (true, ConvShape(batch: 9, inChannels: 3, outChannels: 8, inSize: [16, 64, 68], kernel: [2, 2, 2], stride: [2, 2, 2])),
            // Channels a multiple of 4: the GEMM path on CPU devices.
            (true, ConvShape(batch: 9, inChannels: 4, outChannels: 8, inSize: [16, 64, 68], kernel: [2, 2, 2], stride: [2, 2, 2])),
            (false, ConvShape(batch: 90, inChannels: 1, outChannels: 3, inSize: [31, 63, 67], kernel: [1, 1, 1], stride: [1, 1, 1])),
        ]
        var random = SeededRandom(seed: 14)
        for (transposed, shape) in shapes {
            let outSize = transposed ? shape.transposedOutSize : shape.convOutSize
            let outBytes = shape.batch * shape.outChannels * outSize.reduce(1, *) * 4
            if outBytes <= Int(gpu.device.info.maxStorageBufferRange) {
                print("ConvolutionTests: \(gpu.deviceName) binds \(gpu.device.info.maxStorageBufferRange) bytes; \(shape) runs in one piece")
            }
            let x = random.floats(shape.batch * shape.inChannels * shape.inSize.reduce(1, *))
            let weight = random.floats(shape.inChannels * shape.outChannels * shape.kernel.reduce(1, *))
            let bias = random.floats(shape.outChannels)
            let expected = try conv(cpu, transposed: transposed, shape, x: x, weight: weight, bias: bias)
            let actual = try conv(gpu, transposed: transposed, shape, x: x, weight: weight, bias: bias)
            XCTAssertLessThan(relativeMaxError(actual, expected), tolerance, "\(transposed ? "convTranspose3d" : "conv3d") \(shape)")
        }
    }

    func testConv3dGeneral() throws {
        try check(transposed: false, [
            ConvShape(batch: 2, inChannels: 3, outChannels: 5, inSize: [7, 9, 11], kernel: [3, 2, 3], stride: [2, 1, 2], padding: [1, 0, 1]),
            ConvShape(inChannels: 4, outChannels: 13, inSize: [5, 5, 6], kernel: [3, 3, 3], stride: [1, 1, 1], padding: [1, 1, 1]),
            ConvShape(inChannels: 1, outChannels: 7, inSize: [5, 6, 7], kernel: [1, 1, 1], stride: [1, 1, 1]),
            ConvShape(batch: 3, inChannels: 2, outChannels: 9, inSize: [6, 7, 9], kernel: [2, 3, 2], stride: [3, 2, 4], padding: [2, 1, 0]),
        ], seed: 11)
    }

    /// kernel = stride, no padding: the vec4 patch path (kW, W multiples of 4) and a ragged case on the general path.
    func testConv3dPatchEmbedding() throws {
        try check(transposed: false, [
            ConvShape(inChannels: 1, outChannels: 11, inSize: [8, 32, 48], kernel: [4, 16, 16], stride: [4, 16, 16]),
            ConvShape(batch: 2, inChannels: 3, outChannels: 13, inSize: [4, 8, 24], kernel: [2, 4, 8], stride: [2, 4, 8]),
            ConvShape(inChannels: 2, outChannels: 7, inSize: [4, 6, 15], kernel: [2, 3, 5], stride: [2, 3, 5]),
            ConvShape(inChannels: 1, outChannels: 17, inSize: [3, 5, 12], kernel: [1, 1, 4], stride: [1, 1, 4]),
        ], seed: 12)
    }

    /// fp16 weight and bias storage (the CPU backend holds the same half-rounded values).
    func testHalfWeights() throws {
        let gpu = try VulkanTesting.backend()
        try XCTSkipUnless(gpu.supportsHalf, "device without fp16 storage")
        try check(transposed: false, [
            ConvShape(inChannels: 2, outChannels: 9, inSize: [4, 16, 16], kernel: [2, 8, 8], stride: [2, 8, 8]),
            ConvShape(inChannels: 3, outChannels: 5, inSize: [5, 6, 7], kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1]),
        ], seed: 13, weightType: .float16)
        try forEachK2S2Path { _ in
            try check(transposed: true, [
                ConvShape(inChannels: 7, outChannels: 5, inSize: [3, 5, 4], kernel: [2, 2, 2], stride: [2, 2, 2]),
                ConvShape(inChannels: 3, outChannels: 4, inSize: [3, 4, 5], kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1]),
                ConvShape(batch: 2, inChannels: 8, outChannels: 7, inSize: [3, 5, 4], kernel: [2, 2, 2], stride: [2, 2, 2]),
            ], seed: 14, weightType: .float16)
        }
    }

    func testConvTranspose3dGeneral() throws {
        try check(transposed: true, [
            ConvShape(batch: 2, inChannels: 5, outChannels: 7, inSize: [3, 4, 5], kernel: [3, 3, 3], stride: [2, 2, 2], padding: [1, 1, 1]),
            ConvShape(inChannels: 3, outChannels: 11, inSize: [4, 3, 5], kernel: [2, 3, 1], stride: [1, 2, 3], padding: [0, 1, 0]),
            // Kernel 2 stride 2 with W not a multiple of 4 takes the general path.
            ConvShape(inChannels: 6, outChannels: 3, inSize: [2, 3, 5], kernel: [2, 2, 2], stride: [2, 2, 2]),
        ], seed: 15)
    }

    /// Runs `body` with each kernel-2 stride-2 path forced in turn.
    private func forEachK2S2Path(_ body: (ConvTranspose3dKernel.K2S2Path) throws -> Void) rethrows {
        defer { ConvTranspose3dKernel.forcedK2S2Path = nil }
        for path in ConvTranspose3dKernel.K2S2Path.allCases {
            ConvTranspose3dKernel.forcedK2S2Path = path
            try body(path)
        }
    }

    /// The kernel-2 stride-2 paths: odd channel counts (which the GEMM path leaves to the direct kernel), a voxel
    /// count that leaves half a block, and for the GEMM path co·8 rows and D·H·W columns that are not multiples of
    /// its 32 x 16 block.
    func testConvTranspose3dKernel2Stride2() throws {
        try forEachK2S2Path { _ in
            try check(transposed: true, [
                ConvShape(batch: 2, inChannels: 7, outChannels: 5, inSize: [3, 5, 4], kernel: [2, 2, 2], stride: [2, 2, 2]),
                ConvShape(inChannels: 13, outChannels: 6, inSize: [2, 4, 8], kernel: [2, 2, 2], stride: [2, 2, 2]),
                ConvShape(inChannels: 64, outChannels: 16, inSize: [4, 8, 8], kernel: [2, 2, 2], stride: [2, 2, 2]),
                ConvShape(batch: 3, inChannels: 12, outChannels: 5, inSize: [3, 5, 4], kernel: [2, 2, 2], stride: [2, 2, 2]),
                ConvShape(inChannels: 20, outChannels: 3, inSize: [2, 3, 12], kernel: [2, 2, 2], stride: [2, 2, 2]),
            ], seed: 16)
        }
    }

    /// Which kernel each forced path dispatched, from the profiler's labels: the GEMM where its operands allow
    /// (channels a multiple of 4), the direct kernel otherwise.
    func testKernel2Stride2PathLabels() throws {
        let gpu = try VulkanTesting.backend()
        let cases: [(inChannels: Int, path: ConvTranspose3dKernel.K2S2Path, label: String)] = [
            (12, .gemm, "conv_transpose3d k2s2 gemm"), (7, .gemm, "conv_transpose3d_k2s2"), (12, .direct, "conv_transpose3d_k2s2"),
        ]
        defer { ConvTranspose3dKernel.forcedK2S2Path = nil }
        for (inChannels, path, label) in cases {
            ConvTranspose3dKernel.forcedK2S2Path = path
            let shape = ConvShape(inChannels: inChannels, outChannels: 4, inSize: [2, 3, 4], kernel: [2, 2, 2], stride: [2, 2, 2])
            let x = try gpu.empty(shape: [1, inChannels, 2, 3, 4]), w = try gpu.empty(shape: [inChannels, 4, 2, 2, 2])
            let b = try gpu.empty(shape: [4]), out = try gpu.empty(shape: [1, 4] + shape.transposedOutSize)
            let labels = try gpu.dispatchLabels { try gpu.convTranspose3d(x, weight: w, bias: b, out: out, shape) }
            XCTAssertEqual(labels.map { String($0.prefix(label.count)) }, [label], "\(inChannels) channels, \(path)")
        }
    }

    func testShapeMismatchIsRejected() throws {
        let gpu = try VulkanTesting.backend()
        let shape = ConvShape(inChannels: 2, outChannels: 3, inSize: [4, 4, 4], kernel: [2, 2, 2], stride: [2, 2, 2])
        for backend in [cpu, gpu] as [Backend] {
            let x = try backend.empty(shape: [1, 2, 4, 4, 4])
            let w = try backend.empty(shape: [3, 2, 2, 2, 2])
            let wrongOut = try backend.empty(shape: [1, 3, 2, 2, 3])
            XCTAssertThrowsError(try backend.conv3d(x, weight: w, bias: nil, out: wrongOut, shape))
            XCTAssertThrowsError(try backend.convTranspose3d(x, weight: w, bias: nil, out: wrongOut, shape))
        }
    }
}
