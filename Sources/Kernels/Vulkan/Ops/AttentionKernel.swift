import VulkanRuntime

/// Attention without ever storing the whole score matrix. Two variants:
/// - `.blocked` (lavapipe, every shape): chunks of query rows of one batch item, all heads at once, in three
///   register-blocked steps through a scratch matrix of chunk x keys scores: `attention_scores.comp`
///   (S = scale·Q·Kᵀ, GEMM-like), `attention_softmax.comp` (P = exp(S − max) in place, 1/Σ per row) and
///   `attention_values.comp` (out = P·V / Σ, GEMM-like). The loads per FMA are those of the GEMM shader.
/// - `.sharedTiles`, `attention_tiled.comp` (desktop GPUs, FlashAttention-2 style): the work group stages
///   blocks of K and V rows in shared memory and each invocation owns one query row; an online softmax over
///   all keys per block of queries of one (head, batch).
/// Both have fp16 builds (`QKV_HALF`: Q, K and V stored as fp16; `OUT_HALF`: out), chosen by the operands' dtypes.
public struct AttentionKernel {
    public enum Variant: Sendable, CaseIterable { case sharedTiles, blocked }

    /// Overrides the device-based choice (tests run both variants on one device); nil selects by device.
    nonisolated(unsafe) public static var forcedVariant: Variant?

    static let maxHeadDim = 128

    /// The compile-time configuration of one pipeline.
    struct Config {
        var localSize: Int, rows: Int, sharedKeys: Int

        var queriesPerGroup: Int { localSize * rows }
    }

    /// On lavapipe the blocked variant beat the register one on every measured shape, 7 x 2048 and 77 x 77 included.
    static func variant(for device: DeviceInfo) -> Variant {
        forcedVariant ?? (device.kind == .cpu ? .blocked : .sharedTiles)
    }

    /// Caps the query rows of one chunk of the blocked variant (tests force several chunks); nil: as many as fit.
    nonisolated(unsafe) public static var blockedChunkRows: Int?
    /// Steps the blocked scores' head-dim loop by four (one texel of Q and of K per step) even where eight would do:
    /// two texels each, or one of eight fp16 values (tests and benchmarks compare the two).
    nonisolated(unsafe) public static var forcesStepsOfFour = false

    static func config(headDim: Int, device: DeviceInfo) -> Config {
        // K and V tiles of vec4 rows take 32·keys·⌈headDim/4⌉ bytes; at most 64 keys, a multiple of 4.
        let fitting = Int(device.maxComputeSharedMemorySize) / (32 * ((headDim + 3) / 4))
        return Config(localSize: 64, rows: 1, sharedKeys: max(4, min(64, fitting / 4 * 4)))
    }

    static func record(_ backend: VulkanBackend, q: AttentionOperand, k: AttentionOperand, v: AttentionOperand,
                       out: AttentionOperand, _ shape: AttentionShape) throws {
        try validateAttention(q: q, k: k, v: v, out: out, shape)
        try require(shape.headDim <= maxHeadDim, "attention: head dim \(shape.headDim) exceeds \(maxHeadDim)")
        let info = backend.device.info
        let variant = variant(for: info)
        if variant == .blocked { return try recordBlocked(backend, q: q, k: k, v: v, out: out, shape) }
        let config = config(headDim: shape.headDim, device: info)
        let pipeline = try backend.pipeline("attention_tiled", defines: [
            ("HEAD_DIM", "\(shape.headDim)"), ("LOCAL_SIZE", "\(config.localSize)"), ("ROWS", "\(config.rows)"),
            ("SHARED_KEYS", "\(config.sharedKeys)"),
        ] + storageDefines(q: q, out: out), bindings: 4)

        // All batch items in one dispatch when the views fit a binding, else one dispatch per item.
        let operands = [(q, shape.queries), (k, shape.keys), (v, shape.keys), (out, shape.queries)]
        func windows(_ first: Int, _ count: Int) -> [BindingWindow] {
            operands.enumerated().map { index, item in
                BindingWindow(backend, item.0.tensor, start: item.0.offset + first * item.0.batchStride,
                              end: attentionExtent(item.0, shape, rows: item.1, batches: first + count),
                              access: index == 3 ? .write : .read)
            }
        }
        let batchesPerDispatch = fitBindings(backend, windows(0, shape.batch), operands.map(\.0)) ? shape.batch : 1
        var first = 0
        while first < shape.batch {
            let count = min(batchesPerDispatch, shape.batch - first)
            let views = windows(first, count)
            try require(fitBindings(backend, views, operands.map(\.0)), "attention: one batch item of a view spans more than one binding")
            var push: [UInt32] = [shape.queries.word, shape.keys.word, (shape.causal ? 1 : 0).word, shape.scale.word]
            for (window, (operand, _)) in zip(views, operands) {
                push += [window.offset.word, operand.rowStride.word, operand.headStride.word, operand.batchStride.word]
            }
            let groups = (x: (shape.queries + config.queriesPerGroup - 1) / config.queriesPerGroup, y: shape.heads, z: count)
            try backend.recorder.dispatch(pipeline, bindings: views.map(\.binding), push: push, groups: groups)
            first += count
        }
    }
}

extension AttentionKernel {
    /// The defines of the fp16 builds: Q, K and V share a dtype, out has its own.
    static func storageDefines(q: AttentionOperand, out: AttentionOperand) -> [(String, String)] {
        [("QKV_HALF", q.tensor.dtype == .float16 ? "1" : "0"), ("OUT_HALF", out.tensor.dtype == .float16 ? "1" : "0")]
    }

    /// Whether every view's window fits one binding, counted in elements of its tensor's dtype.
    static func fitBindings(_ backend: VulkanBackend, _ windows: [BindingWindow], _ operands: [AttentionOperand]) -> Bool {
        zip(windows, operands).allSatisfy { $0.count <= backend.maxBindingElements($1.tensor.dtype) }
    }

    /// Register block of the values shader (BM x BN): 16x16 took the ViT's values step from 0.93 to 0.86 of
    /// the scores step's time on lavapipe (two interleaved forward profiles each) against 16x8.
    static let block = (rows: 16, columns: 16)
    /// Register block of the scores shader, its rows a multiple of `block.rows` so chunks suit both shaders: 32x16
    /// (12 x 2048 x 2048 x 64 on lavapipe 10 % faster than 16x8 in fp32, 18 % in fp16) unless there are fewer than
    /// 32 queries (the decoder's 7 would compute 25 clamped rows per block).
    static func scoreBlock(queries: Int) -> (rows: Int, columns: Int) { queries >= 32 ? (32, 16) : (16, 8) }
    /// Scratch scores per chunk, in floats (64 MiB): larger chunks measured faster (more work groups per
    /// dispatch, fewer dispatches), and the scratch is held for the backend's life.
    static let scratchElements = 1 << 24

    static func recordBlocked(_ backend: VulkanBackend, q: AttentionOperand, k: AttentionOperand, v: AttentionOperand,
                              out: AttentionOperand, _ shape: AttentionShape) throws {
        // Scratch rows are padded to whole score blocks so the scores shader stores whole vec4s per row.
        let scoreBlock = scoreBlock(queries: shape.queries)
        let paddedKeys = (shape.keys + scoreBlock.columns - 1) / scoreBlock.columns * scoreBlock.columns
        let limit = backend.maxBindingElements()
        let fitting = min(scratchElements, limit) / (shape.heads * paddedKeys) / scoreBlock.rows * scoreBlock.rows
        try require(fitting > 0, "attention: \(shape.heads) heads of \(scoreBlock.rows) score rows of \(shape.keys) keys exceed the scratch")
        // Equal chunks of whole register blocks, so the last one is not a sliver.
        let chunkCount = (shape.queries + fitting - 1) / fitting
        let balanced = ((shape.queries + chunkCount - 1) / chunkCount + scoreBlock.rows - 1) / scoreBlock.rows * scoreBlock.rows
        let chunk = min(shape.queries, balanced, blockedChunkRows ?? Int.max)
        let scores = try backend.scratch("attention.scores", count: shape.heads * chunk * paddedKeys)
        let inverseSums = try backend.scratch("attention.sums", count: shape.heads * chunk)

        func aligned(_ operands: [AttentionOperand], to multiple: Int = 4) -> Bool {
            operands.flatMap { [$0.offset, $0.rowStride, $0.headStride, $0.batchStride] }.allSatisfy { $0 % multiple == 0 }
                && shape.headDim % multiple == 0
        }
        let storage = storageDefines(q: q, out: out)
        // The softmax reads two vec4s per loop trip, so rows must hold whole multiples of 8 scores.
        try require(paddedKeys % 8 == 0, "attention: score rows of \(paddedKeys) are not a multiple of 8")
        let softmaxTexels = backend.texelReadable(scores)
        let softmaxPipeline = try backend.pipeline("attention_softmax", defines: [("TEXEL", softmaxTexels ? "1" : "0")],
                                                   bindings: softmaxTexels ? 3 : 2, texelBindings: softmaxTexels ? [2] : [])
        let localSize = 64
        let blocksN = (shape.keys + scoreBlock.columns - 1) / scoreBlock.columns
        let valueBlocksN = (shape.headDim + block.columns - 1) / block.columns

        for b in 0..<shape.batch {
            let operands = [(q, shape.queries), (k, shape.keys), (v, shape.keys), (out, shape.queries)]
            let views = operands.enumerated().map { index, item in
                BindingWindow(backend, item.0.tensor, start: item.0.offset + b * item.0.batchStride,
                              end: attentionExtent(item.0, shape, rows: item.1, batches: b + 1),
                              access: index == 3 ? .write : .read)
            }
            try require(fitBindings(backend, views, operands.map(\.0)), "attention: one batch item of a view spans more than one binding")
            // vec4 loads where the views are aligned; then texel loads (lavapipe's fast path) where they can be viewed so.
            let scoresVec4 = aligned([q, k]), valuesVec4 = aligned([v])
            func scoreTexels(packed: Bool) -> (BufferBinding, BufferBinding)? {
                BindingWindow.texelPair(backend, (views[0], q.tensor), (views[1], k.tensor), packed: packed)
            }
            // fp16 Q and K eight halves per texel where everything is a multiple of 8: half the fetches.
            let packedScoreTexels = scoresVec4 && q.tensor.dtype == .float16 && !forcesStepsOfFour && aligned([q, k], to: 8)
                && views[0].offset % 8 == 0 && views[1].offset % 8 == 0 ? scoreTexels(packed: true) : nil
            let scoresTexels = scoresVec4 ? packedScoreTexels ?? scoreTexels(packed: false) : nil
            // Unpacked texels step the head dim by eight (two per operand) where it allows: eight multiply-adds per
            // sum between lavapipe's fetch calls instead of four, the same sums in the same order.
            let eightSteps = scoresTexels != nil && packedScoreTexels == nil && shape.headDim % 8 == 0 && !forcesStepsOfFour
            let valuesTexels = valuesVec4 && backend.texelReadable(scores)
                ? views[2].texelBinding(backend, v.tensor).map { (backend.texelBinding(scores), $0) } : nil
            let scoresPipeline = try backend.pipeline(
                "attention_scores", defines: [("VEC4", scoresVec4 ? "1" : "0"), ("TEXEL", scoresTexels != nil ? "1" : "0"),
                                              ("BM", "\(scoreBlock.rows)"), ("BN", "\(scoreBlock.columns)")] + storage
                    + (packedScoreTexels != nil ? [("PACK8", "1")] : eightSteps ? [("K8", "1")] : []),
                bindings: 3, texelBindings: scoresTexels != nil ? [0, 1] : [])
            let valuesPipeline = try backend.pipeline(
                "attention_values", defines: [("VEC4", valuesVec4 ? "1" : "0"), ("TEXEL", valuesTexels != nil ? "1" : "0"),
                                              ("BM", "\(block.rows)"), ("BN", "\(block.columns)")] + storage,
                bindings: 4, texelBindings: valuesTexels != nil ? [0, 2] : [])
            for first in stride(from: 0, to: shape.queries, by: chunk) {
                let rows = min(chunk, shape.queries - first)
                let scoreBlocksM = (rows + scoreBlock.rows - 1) / scoreBlock.rows
                let blocksM = (rows + block.rows - 1) / block.rows
                let causal = shape.causal ? 1 : 0
                let scoreBlocks = shape.heads * scoreBlocksM * blocksN
                var grid = backend.grid(scoreBlocks, localSize: localSize)
                try backend.recorder.dispatch(scoresPipeline, bindings: [
                    scoresTexels?.0 ?? views[0].binding, scoresTexels?.1 ?? views[1].binding, backend.binding(scores, .write),
                ], push: [
                    rows.word, shape.keys.word, shape.headDim.word, paddedKeys.word, blocksN.word, scoreBlocksM.word, scoreBlocks.word,
                    causal.word, first.word, shape.scale.word,
                    (views[0].offset + first * q.rowStride).word, q.rowStride.word, q.headStride.word,
                    views[1].offset.word, k.rowStride.word, k.headStride.word,
                ], groups: grid)

                let rowCount = shape.heads * rows
                grid = backend.grid(rowCount, localSize: localSize)
                let softmaxBindings = [backend.binding(scores, .write), backend.binding(inverseSums, .write)]
                    + (softmaxTexels ? [backend.texelBinding(scores)] : [])
                try backend.recorder.dispatch(softmaxPipeline, bindings: softmaxBindings, push: [
                    rows.word, shape.keys.word, paddedKeys.word, rowCount.word, causal.word, first.word,
                ], groups: grid)

                let valueBlocks = shape.heads * blocksM * valueBlocksN
                grid = backend.grid(valueBlocks, localSize: localSize)
                try backend.recorder.dispatch(valuesPipeline, bindings: [
                    valuesTexels?.0 ?? backend.binding(scores, .read), backend.binding(inverseSums, .read),
                    valuesTexels?.1 ?? views[2].binding, views[3].binding,
                ], push: [
                    rows.word, shape.keys.word, shape.headDim.word, paddedKeys.word, valueBlocksN.word, blocksM.word, valueBlocks.word,
                    causal.word, first.word,
                    views[2].offset.word, v.rowStride.word, v.headStride.word,
                    (views[3].offset + first * out.rowStride).word, out.rowStride.word, out.headStride.word,
                ], groups: grid)
            }
        }
    }
}

extension VulkanBackend {
    public func attention(q: AttentionOperand, k: AttentionOperand, v: AttentionOperand, out: AttentionOperand,
                          _ shape: AttentionShape) throws {
        try AttentionKernel.record(self, q: q, k: k, v: v, out: out, shape)
    }
}
