import Kernels

/// The shapes SegVol runs at the published size (S = 32x256x256, E = 768, 2048 tokens).
extension KernelCase {
    static var all: [KernelCase] {
        gemms + [
            attention(heads: 12, queries: 2048, keys: 2048, headDim: 64, note: "ViT self-attention"),
            attention(heads: 12, queries: 2048, keys: 2048, headDim: 64, note: "ViT self-attention, --precision fp16", storage: .float16),
            attention(heads: 8, queries: 7, keys: 2048, headDim: 48, note: "decoder token-to-image"),
            attention(heads: 8, queries: 2048, keys: 7, headDim: 48, note: "decoder image-to-token"),
            layerNorm,
            patchEmbedding,
            convTranspose(batch: 1, inChannels: 768, outChannels: 192, inSize: [8, 16, 16], note: "decoder upscaling 1"),
            convTranspose(batch: 1, inChannels: 192, outChannels: 48, inSize: [16, 32, 32], note: "decoder upscaling 2"),
            convTranspose(batch: 10, inChannels: 768, outChannels: 192, inSize: [8, 16, 16], note: "decoder upscaling 1, 10 categories"),
            convTranspose(batch: 10, inChannels: 192, outChannels: 48, inSize: [16, 32, 32], note: "decoder upscaling 2, 10 categories"),
            trilinear,
        ]
    }

    /// The ViT's GEMMs with fp32 weights, with fp16 weights (fp32 accumulation), then with fp16 weights and
    /// activations (A and C, as under --precision fp16).
    static var gemms: [KernelCase] {
        [(DType.float32, DType.float32), (.float16, .float32), (.float16, .float16)].flatMap { weights, activations in
            [(2048, 2304, 768, "ViT qkv"), (2048, 3072, 768, "ViT MLP up"), (2048, 768, 3072, "ViT MLP down")].map { m, n, k, note in
                gemm(m: m, n: n, k: k, weights: weights, activations: activations, note: note)
            }
        }
    }

    static func gemm(m: Int, n: Int, k: Int, weights: DType, activations: DType, note: String) -> KernelCase {
        let shape = GemmShape(m: m, n: n, k: k)
        return KernelCase(
            name: activations == .float16 ? "gemm_fp16" : weights == .float16 ? "gemm_fp16w" : "gemm", shape: "\(m)x\(n)x\(k)",
            flops: shape.flops,
            extra: ["m": m, "n": n, "k": k, "note": note, "weights": weights == .float16 ? "fp16" : "fp32",
                    "activations": activations == .float16 ? "fp16" : "fp32"],
            // The register kernel also in steps of four along k, against its eight (two texels, or eight halves in one).
            variants: { gemmVariants($0) + [stepsOfFour] },
            make: { backend in
                let a = try random(backend, m * k, seed: 1, dtype: activations).reshaped([m, k])
                let b = try random(backend, n * k, seed: 2, dtype: weights).reshaped([n, k])
                let bias = try random(backend, n, seed: 3)
                let out = try backend.empty(shape: [m, n], dtype: activations)
                return { try backend.gemm(a, b, bias: bias, residual: nil, out: out, shape) }
            })
    }

    /// Every GEMM variant the device runs, each forced in turn.
    static func gemmVariants(_ backend: VulkanBackend) -> [KernelVariant] {
        GemmVariant.allCases.filter { GemmKernel.isSupported($0, info: backend.device.info) }.map { variant in
            KernelVariant(name: variant.rawValue, select: { GemmKernel.forcedVariant = variant },
                          reset: { GemmKernel.forcedVariant = nil })
        }
    }

    static let stepsOfFour = KernelVariant(
        name: "registerBlockedK4",
        select: { GemmKernel.forcedVariant = .registerBlocked; GemmKernel.forcesStepsOfFour = true },
        reset: { GemmKernel.forcedVariant = nil; GemmKernel.forcesStepsOfFour = false })

    static let scoresInStepsOfFour = KernelVariant(
        name: "k4", select: { AttentionKernel.forcesStepsOfFour = true }, reset: { AttentionKernel.forcesStepsOfFour = false })

    /// Attention with Q, K, V and out stored as `storage`.
    static func attention(heads: Int, queries: Int, keys: Int, headDim: Int, note: String, storage: DType = .float32) -> KernelCase {
        let shape = AttentionShape(batch: 1, heads: heads, queries: queries, keys: keys, headDim: headDim)
        let width = heads * headDim
        return KernelCase(
            name: storage == .float16 ? "attention_fp16" : "attention", shape: "\(heads)x\(queries)x\(keys)x\(headDim)", flops: shape.flops,
            extra: ["heads": heads, "queries": queries, "keys": keys, "head_dim": headDim, "note": note],
            // The scores step also in steps of four along the head dim, against its eight.
            variants: { _ in [.automatic, scoresInStepsOfFour] },
            make: { backend in
                let q = try random(backend, queries * width, seed: 4, dtype: storage)
                let k = try random(backend, keys * width, seed: 5, dtype: storage)
                let v = try random(backend, keys * width, seed: 6, dtype: storage)
                let out = try backend.empty(shape: [queries, width], dtype: storage)
                return {
                    try backend.attention(q: .packed(q, rows: queries, heads: heads, headDim: headDim),
                                          k: .packed(k, rows: keys, heads: heads, headDim: headDim),
                                          v: .packed(v, rows: keys, heads: heads, headDim: headDim),
                                          out: .packed(out, rows: queries, heads: heads, headDim: headDim), shape)
                }
            })
    }

    static var layerNorm: KernelCase {
        let rows = 2048, dim = 768
        return KernelCase(
            name: "layernorm", shape: "\(rows)x\(dim)", bytes: Double(2 * rows * dim * 4),
            make: { backend in
                let x = try random(backend, rows * dim, seed: 7)
                let w = try random(backend, dim, seed: 8), b = try random(backend, dim, seed: 9)
                let out = try backend.empty(shape: [rows, dim])
                return { try backend.layerNorm(x, weight: w, bias: b, out: out, rows: rows, dim: dim, eps: 1e-5) }
            })
    }

    static var patchEmbedding: KernelCase {
        let shape = ConvShape(inChannels: 1, outChannels: 768, inSize: [32, 256, 256], kernel: [4, 16, 16], stride: [4, 16, 16])
        return KernelCase(
            name: "conv3d", shape: "1x32x256x256->768 k=s=4x16x16", flops: 2 * 2048 * 1024 * 768,
            extra: ["note": "patch embedding shape (the model runs it as two permutes and a GEMM)"],
            make: { backend in
                let x = try random(backend, 32 * 256 * 256, seed: 10)
                let w = try random(backend, 768 * 1024, seed: 11).reshaped([768, 1, 4, 16, 16])
                let b = try random(backend, 768, seed: 12)
                let out = try backend.empty(shape: [1, 768, 8, 16, 16])
                return { try backend.conv3d(x, weight: w, bias: b, out: out, shape) }
            })
    }

    static func convTranspose(batch: Int, inChannels: Int, outChannels: Int, inSize: [Int], note: String) -> KernelCase {
        let shape = ConvShape(batch: batch, inChannels: inChannels, outChannels: outChannels, inSize: inSize,
                              kernel: [2, 2, 2], stride: [2, 2, 2])
        let voxels = inSize.reduce(1, *)
        return KernelCase(
            name: "conv_transpose3d", shape: "\(batch)x\(inChannels)x\(inSize.map(String.init).joined(separator: "x"))->\(outChannels) k=s=2",
            flops: Double(2 * batch * inChannels * outChannels * 8 * voxels),
            extra: ["note": note],
            variants: { _ in
                ConvTranspose3dKernel.K2S2Path.allCases.map { path in
                    KernelVariant(name: "\(path)", select: { ConvTranspose3dKernel.forcedK2S2Path = path },
                                  reset: { ConvTranspose3dKernel.forcedK2S2Path = nil })
                }
            },
            make: { backend in
                let x = try random(backend, batch * inChannels * voxels, seed: 13)
                let w = try random(backend, inChannels * outChannels * 8, seed: 14).reshaped([inChannels, outChannels, 2, 2, 2])
                let b = try random(backend, outChannels, seed: 15)
                let out = try backend.empty(shape: [batch, outChannels] + shape.transposedOutSize)
                return { try backend.convTranspose3d(x, weight: w, bias: b, out: out, shape) }
            })
    }

    static var trilinear: KernelCase {
        let inSize = [32, 64, 64], outSize = [32, 256, 256]
        return KernelCase(
            name: "resize3d", shape: "32x64x64->32x256x256 trilinear", bytes: Double((32 * 64 * 64 + 32 * 256 * 256) * 4),
            make: { backend in
                let x = try random(backend, 32 * 64 * 64, seed: 16)
                let out = try backend.empty(shape: outSize)
                return { try backend.resize3d(x, out: out, channels: 1, inSize: inSize, outSize: outSize, mode: .trilinear(alignCorners: false)) }
            })
    }
}
