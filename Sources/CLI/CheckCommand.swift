import ArgumentParser
import Foundation
import Kernels

/// `segvol check`: every kernel variant the device runs against the CPU reference, on awkward sizes.
/// The parity tests do this under `swift test`; this command does it where only the binary is (a GPU box).
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check every kernel variant this device runs against the CPU reference (awkward sizes, seeded inputs).")

    @OptionGroup var selection: DeviceSelection
    var device: String? { selection.device }

    func run() throws {
        reportingErrors {
            let gpu = try VulkanBackend(selector: device)
            let cpu = CPUBackend()
            print("device: \(gpu.deviceName)")
            var failures = 0
            let checks = ParityCheck.all(gpu)
            // Names padded to the longest, never cut.
            let width = checks.map(\.name.count).max() ?? 0
            for check in checks {
                check.select()
                defer { check.reset() }
                let line = check.name.padding(toLength: width, withPad: " ", startingAt: 0)
                do {
                    let expected = try check.run(cpu)
                    let actual = try check.run(gpu)
                    let error = maxRelativeError(actual, expected)
                    let ok = error <= check.tolerance
                    if !ok { failures += 1 }
                    print(line + String(format: " error %.2e (tolerance %.1e) %@", error, check.tolerance, ok ? "ok" : "FAIL"))
                } catch {
                    failures += 1
                    print(line + " FAIL: \(error)")
                }
            }
            if failures > 0 { fail("\(failures) checks failed") }
            print("all checks passed")
        }
    }
}

/// max |a − e| / max |e|.
func maxRelativeError(_ actual: [Float], _ expected: [Float]) -> Float {
    guard actual.count == expected.count else { return .infinity }
    var diff: Float = 0, reference: Float = 0
    for i in 0..<actual.count {
        if actual[i].isNaN { return .infinity }
        diff = max(diff, abs(actual[i] - expected[i]))
        reference = max(reference, abs(expected[i]))
    }
    return diff / max(reference, 1e-30)
}

struct ParityCheck {
    let name: String
    let tolerance: Float
    var select: () -> Void = {}
    var reset: () -> Void = {}
    /// Builds the inputs on a backend, runs the op and reads the result.
    let run: (Backend) throws -> [Float]

    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
    }

    static func all(_ gpu: VulkanBackend) -> [ParityCheck] {
        gemms(gpu) + attentions(gpu) + layerNorms(gpu) + convTransposeK2S2Paths + others
    }

    /// One rounding to fp16 on each side (2^-11 round-to-nearest on the CPU, under 2^-10 on a device that
    /// truncates), added to a check's tolerance when its output is fp16.
    static let halfRounding: Float = 0x1p-11 + 0x1p-10

    static func label(_ dtype: DType) -> String { dtype == .float16 ? "fp16" : "fp32" }

    static func gemms(_ gpu: VulkanBackend) -> [ParityCheck] {
        let shapes = [
            GemmShape(m: 37, n: 53, k: 29, activation: .gelu),
            GemmShape(m: 130, n: 67, k: 64, activation: .relu),
            GemmShape(m: 1, n: 97, k: 128),
            GemmShape(m: 70, n: 132, k: 100, batch: 3, activation: .quickGelu, strideB: 0),
            GemmShape(m: 29, n: 44, k: 36, batch: 2, bLayout: .kn),
        ]
        // Storage of A, B and C: fp32, fp16 weights, the transformer blocks' fp16 activations into fp32 and fp16 C.
        let storages: [(a: DType, b: DType, c: DType)] = gpu.supportsHalf
            ? [(.float32, .float32, .float32), (.float32, .float16, .float32), (.float16, .float16, .float32), (.float16, .float16, .float16)]
            : [(.float32, .float32, .float32)]
        var checks: [ParityCheck] = []
        // Each build also split into chunks of 1000-element bindings (rows, columns, k, batch items), the path that
        // operands past maxStorageBufferRange take; a GPU's large limit never takes it otherwise.
        for variant in GemmVariant.allCases where GemmKernel.isSupported(variant, info: gpu.device.info) {
            for storage in storages {
                for (shape, split) in shapes.flatMap({ shape in [(shape, nil), (shape, 1000)] as [(GemmShape, Int?)] }) {
                    checks.append(ParityCheck(
                        name: "gemm \(variant.rawValue) A \(label(storage.a)) B \(label(storage.b)) C \(label(storage.c)) \(shape.batch)x\(shape.m)x\(shape.n)x\(shape.k)"
                            + (split.map { " in \($0)-element bindings" } ?? ""),
                        // Cooperative matrices round A to fp16 as well.
                        tolerance: (variant == .cooperativeMatrix ? 1e-2 : 1e-5) + (storage.c == .float16 ? halfRounding : 0),
                        select: { GemmKernel.forcedVariant = variant; GemmKernel.bindingElementsOverride = split },
                        reset: { GemmKernel.forcedVariant = nil; GemmKernel.bindingElementsOverride = nil },
                        run: { backend in
                            let bCount = shape.strideB == 0 ? shape.n * shape.k : shape.batch * shape.n * shape.k
                            let a = try backend.tensor(values(shape.batch * shape.m * shape.k, seed: 1), shape: [shape.batch * shape.m * shape.k], dtype: storage.a)
                            let b = try backend.tensor(values(bCount, seed: 2), shape: [bCount], dtype: storage.b)
                            let bias = try backend.tensor(values(shape.n, seed: 3), shape: [shape.n], dtype: .float32)
                            let out = try backend.tensor(values(shape.batch * shape.m * shape.n, seed: 4), shape: [shape.batch * shape.m * shape.n], dtype: storage.c)
                            try backend.gemm(a, b, bias: bias, residual: out, out: out, shape)
                            return try backend.read(out)
                        }))
                }
            }
        }
        return checks
    }

    static func attentions(_ gpu: VulkanBackend) -> [ParityCheck] {
        let shapes = [
            AttentionShape(batch: 2, heads: 3, queries: 129, keys: 5, headDim: 24),
            AttentionShape(batch: 1, heads: 8, queries: 7, keys: 2053, headDim: 48),
            AttentionShape(batch: 1, heads: 8, queries: 77, keys: 77, headDim: 64, causal: true),
            AttentionShape(batch: 1, heads: 2, queries: 150, keys: 150, headDim: 16),
        ]
        // Storage of Q, K, V and of out: fp32, then the transformer blocks' fp16.
        let storages: [(qkv: DType, out: DType)] = gpu.supportsHalf ? [(.float32, .float32), (.float16, .float16)] : [(.float32, .float32)]
        return AttentionKernel.Variant.allCases.flatMap { variant in
            storages.flatMap { storage in shapes.map { shape in
                ParityCheck(
                    name: "attention \(variant) \(label(storage.qkv)) \(shape.batch)x\(shape.heads)x\(shape.queries)x\(shape.keys)x\(shape.headDim)\(shape.causal ? " causal" : "")",
                    tolerance: 1e-5 + (storage.out == .float16 ? halfRounding : 0),
                    select: { AttentionKernel.forcedVariant = variant }, reset: { AttentionKernel.forcedVariant = nil },
                    run: { backend in
                        let width = shape.heads * shape.headDim
                        // Packed qkv rows as in the ViT: q at 0, k at E, v at 2E.
                        let rows = max(shape.queries, shape.keys)
                        let qkv = try backend.tensor(values(shape.batch * rows * 3 * width, seed: 5), shape: [shape.batch * rows * 3 * width], dtype: storage.qkv)
                        let out = try backend.empty(shape: [shape.batch * shape.queries * width], dtype: storage.out)
                        try backend.attention(
                            q: .packed(qkv, rows: rows, heads: shape.heads, headDim: shape.headDim, offset: 0, rowStride: 3 * width),
                            k: .packed(qkv, rows: rows, heads: shape.heads, headDim: shape.headDim, offset: width, rowStride: 3 * width),
                            v: .packed(qkv, rows: rows, heads: shape.heads, headDim: shape.headDim, offset: 2 * width, rowStride: 3 * width),
                            out: .packed(out, rows: shape.queries, heads: shape.heads, headDim: shape.headDim), shape)
                        return try backend.read(out)
                    })
            } }
        }
    }

    /// The kernel-2 stride-2 transposed convolution, each path forced in turn (36 channels: the GEMM path's
    /// operands, which 37 are not).
    static var convTransposeK2S2Paths: [ParityCheck] {
        ConvTranspose3dKernel.K2S2Path.allCases.map { path in
            ParityCheck(
                name: "convTranspose3d \(path) 36x3x5x8 -> 11, k=s=2", tolerance: 1e-5,
                select: { ConvTranspose3dKernel.forcedK2S2Path = path }, reset: { ConvTranspose3dKernel.forcedK2S2Path = nil },
                run: { backend in
                    let shape = ConvShape(batch: 2, inChannels: 36, outChannels: 11, inSize: [3, 5, 8], kernel: [2, 2, 2], stride: [2, 2, 2])
                    let x = try backend.tensor(values(2 * 36 * 120, seed: 15), shape: [2, 36, 3, 5, 8], dtype: .float32)
                    let w = try backend.tensor(values(36 * 11 * 8, seed: 16), shape: [36, 11, 2, 2, 2], dtype: .float32)
                    let b = try backend.tensor(values(11, seed: 17), shape: [11], dtype: .float32)
                    let out = try backend.empty(shape: [2, 11] + shape.transposedOutSize)
                    try backend.convTranspose3d(x, weight: w, bias: b, out: out, shape)
                    return try backend.read(out)
                })
        }
    }

    /// Row LayerNorm in place and into fp16 (the transformer blocks' normalised activations), each row variant
    /// forced in turn; dim 772 takes the invocation variant's texel mode, 37 and 3001 its fallback.
    static func layerNorms(_ gpu: VulkanBackend) -> [ParityCheck] {
        let sizes = [(2049, 37), (3, 3001), (5, 772)]
        let outputs: [DType] = gpu.supportsHalf ? [.float32, .float16] : [.float32]
        return LayerNormKernel.RowVariant.allCases.flatMap { variant in outputs.map { output in
            ParityCheck(
                name: "layerNorm \(variant) \(label(output)) out 2049x37, 3x3001 and 5x772",
                tolerance: 2e-6 + (output == .float16 ? halfRounding : 0),
                select: { LayerNormKernel.forcedRowVariant = variant }, reset: { LayerNormKernel.forcedRowVariant = nil },
                run: { backend in
                    var results: [Float] = []
                    for (rows, dim) in sizes {
                        let x = try backend.tensor(values(rows * dim, seed: 6), shape: [rows, dim], dtype: .float32)
                        let w = try backend.tensor(values(dim, seed: 7), shape: [dim], dtype: .float32)
                        let b = try backend.tensor(values(dim, seed: 8), shape: [dim], dtype: .float32)
                        // fp32 in place, as the ViT's blocks do; fp16 into a separate tensor.
                        let out = output == .float32 ? x : try backend.empty(shape: [rows, dim], dtype: .float16)
                        try backend.layerNorm(x, weight: w, bias: b, out: out, rows: rows, dim: dim, eps: 1e-5)
                        results += try backend.read(out)
                    }
                    return results
                })
        } }
    }

    static var others: [ParityCheck] {
        [
            ParityCheck(name: "sampleLayerNorm 2 x 15015", tolerance: 2e-6, run: { backend in
                let x = try backend.tensor(values(2 * 15015, seed: 9), shape: [2, 15015], dtype: .float32)
                let w = try backend.tensor(values(15015, seed: 10), shape: [15015], dtype: .float32)
                let b = try backend.tensor(values(15015, seed: 11), shape: [15015], dtype: .float32)
                try backend.sampleLayerNorm(x, weight: w, bias: b, out: x, samples: 2, sampleSize: 15015, eps: 1e-5)
                return try backend.read(x)
            }),
            ParityCheck(name: "conv3d patch embedding 1x12x48x36 -> 13, k=s=4x16x12", tolerance: 1e-5, run: { backend in
                let shape = ConvShape(inChannels: 1, outChannels: 13, inSize: [12, 48, 36], kernel: [4, 16, 12], stride: [4, 16, 12])
                let x = try backend.tensor(values(12 * 48 * 36, seed: 12), shape: [1, 1, 12, 48, 36], dtype: .float32)
                let w = try backend.tensor(values(13 * 4 * 16 * 12, seed: 13), shape: [13, 1, 4, 16, 12], dtype: .float32)
                let b = try backend.tensor(values(13, seed: 14), shape: [13], dtype: .float32)
                let out = try backend.empty(shape: [1, 13] + shape.convOutSize)
                try backend.conv3d(x, weight: w, bias: b, out: out, shape)
                return try backend.read(out)
            }),
            ParityCheck(name: "convTranspose3d 37x3x5x8 -> 11, k=s=2", tolerance: 1e-5, run: { backend in
                let shape = ConvShape(inChannels: 37, outChannels: 11, inSize: [3, 5, 8], kernel: [2, 2, 2], stride: [2, 2, 2])
                let x = try backend.tensor(values(37 * 120, seed: 15), shape: [1, 37, 3, 5, 8], dtype: .float32)
                let w = try backend.tensor(values(37 * 11 * 8, seed: 16), shape: [37, 11, 2, 2, 2], dtype: .float32)
                let b = try backend.tensor(values(11, seed: 17), shape: [11], dtype: .float32)
                let out = try backend.empty(shape: [1, 11] + shape.transposedOutSize)
                try backend.convTranspose3d(x, weight: w, bias: b, out: out, shape)
                return try backend.read(out)
            }),
            ParityCheck(name: "resize3d trilinear 2x5x11x7 -> 13x4x30", tolerance: 1e-6, run: { backend in
                let x = try backend.tensor(values(2 * 5 * 11 * 7, seed: 18), shape: [2, 5, 11, 7], dtype: .float32)
                let out = try backend.empty(shape: [2, 13, 4, 30])
                try backend.resize3d(x, out: out, channels: 2, inSize: [5, 11, 7], outSize: [13, 4, 30], mode: .trilinear(alignCorners: false))
                return try backend.read(out)
            }),
            ParityCheck(name: "boundingBox 17x33x65 and reduce variance", tolerance: 1e-6, run: { backend in
                let x = try backend.tensor(values(17 * 33 * 65, seed: 19), shape: [17, 33, 65], dtype: .float32)
                let box = try backend.empty(shape: [6])
                try backend.boundingBox(x, size: [17, 33, 65], threshold: 0.998, out: box)
                let variance = try backend.empty(shape: [1])
                try backend.reduce(.variance, x, out: variance)
                return try backend.read(box) + backend.read(variance)
            }),
            // Not a model op: `bench kernels`' peak probe. A GPU's fused multiply-add rounds once where the reference
            // rounds twice: under an ulp per step, 160 steps.
            ParityCheck(name: "fma ceiling 333 sums x 40 rounds", tolerance: 2e-5, run: { backend in
                guard let gpu = backend as? VulkanBackend else { return CPUBackend.fmaCeilingSums(count: 333, rounds: 40) }
                let out = try gpu.empty(shape: [333])
                try gpu.fmaCeiling(out: out, rounds: 40)
                return try gpu.read(out)
            }),
        ]
    }
}
