/// The op interface the SegVol graph is written against. `CPUBackend` (plain loops, the reference)
/// and `VulkanBackend` (GLSL compute shaders) implement it; parity tests compare them op by op.
///
/// Ops on the Vulkan backend are recorded, not run: results are ready after `synchronize()` or `read`.
/// All sizes are in elements; tensors are row-major.
public protocol Backend: AnyObject {
    /// "cpu" or "vulkan".
    var kind: String { get }
    /// The device the backend runs on, for reports.
    var deviceName: String { get }
    /// Whether fp16 tensors are stored as fp16 (else a request for fp16 gets an fp32 tensor).
    var supportsHalf: Bool { get }

    // MARK: Memory
    /// A new tensor holding `values` (stored as `dtype` where supported).
    func tensor(_ values: [Float], shape: [Int], dtype: DType) throws -> Tensor
    /// A new tensor of `dtype` (fp16 only where supported, else fp32); contents undefined until written.
    func empty(shape: [Int], dtype: DType) throws -> Tensor
    /// Overwrites `tensor` with `values` (ordered after work already recorded).
    func write(_ values: [Float], into tensor: Tensor) throws
    /// The tensor's values; waits for the recorded work that produces them.
    func read(_ tensor: Tensor) throws -> [Float]
    /// Runs everything recorded so far and waits for it.
    func synchronize() throws

    // MARK: Linear algebra
    /// C = act(A·Bᵀ + bias) + residual, batched. `residual` may be `out` itself (in-place x += f(x)).
    /// A, B and C may be fp16 (the residual has C's dtype); sums are fp32 and C is rounded once.
    func gemm(_ a: Tensor, _ b: Tensor, bias: Tensor?, residual: Tensor?, out: Tensor, _ shape: GemmShape) throws
    /// softmax(Q·Kᵀ·scale [+ causal mask])·V per batch and head, without storing the score matrix.
    /// Q, K and V share one dtype; they and out may be fp16 (scores, softmax and sums are fp32).
    func attention(q: AttentionOperand, k: AttentionOperand, v: AttentionOperand, out: AttentionOperand,
                   _ shape: AttentionShape) throws

    // MARK: Normalisation
    /// LayerNorm over the last `dim` values of each of `rows` rows, affine of size `dim`; `out` may be fp16.
    func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, rows: Int, dim: Int, eps: Float) throws
    /// LayerNorm over each whole sample of `sampleSize` values, with an element-wise affine of that size.
    func sampleLayerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, out: Tensor, samples: Int, sampleSize: Int,
                         eps: Float) throws

    // MARK: Convolution and resampling (NCDHW)
    /// Conv3d with weight (Cout, Cin, kD, kH, kW).
    func conv3d(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor, _ shape: ConvShape) throws
    /// ConvTranspose3d with weight (Cin, Cout, kD, kH, kW).
    func convTranspose3d(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor, _ shape: ConvShape) throws
    /// Resizes `channels` volumes of `inSize` to `outSize` (D, H, W).
    func resize3d(_ x: Tensor, out: Tensor, channels: Int, inSize: [Int], outSize: [Int], mode: ResizeMode) throws

    // MARK: Element-wise and data movement
    /// out[i] = a[i] op b[(i / inner) % b.count]: b broadcast over a block of b.count · inner elements, each of its
    /// elements repeated over `inner` consecutive ones (1: a trailing block); b.count · inner must divide a.count.
    func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, out: Tensor, inner: Int) throws
    /// out[i] = f(x[i]).
    func unary(_ op: UnaryOp, _ x: Tensor, out: Tensor) throws
    /// Copies `count` elements from `source[sourceOffset...]` to `destination[destinationOffset...]`.
    func copy(_ source: Tensor, sourceOffset: Int, to destination: Tensor, destinationOffset: Int, count: Int) throws
    /// Sets every element to `value`.
    func fill(_ tensor: Tensor, value: Float) throws
    /// out row r = table row indices[r]; rows of `rowSize` elements.
    func gatherRows(_ table: Tensor, indices: [Int], rowSize: Int, out: Tensor) throws
    /// Permutes the axes of a tensor of `shape` (at most 5 axes): out axis i is input axis permutation[i].
    func permute(_ x: Tensor, out: Tensor, shape: [Int], permutation: [Int]) throws

    /// Copies (or adds, with `accumulate`) the box of `extent` voxels at `sourceOrigin` of a (D, H, W) volume to
    /// `destinationOrigin` of another. Source voxels outside the source read as 0 (origins may be negative);
    /// destination voxels outside the destination are skipped. Window extraction and write-back use it.
    func copyBox(_ source: Tensor, size sourceSize: [Int], origin sourceOrigin: [Int], to destination: Tensor,
                 size destinationSize: [Int], origin destinationOrigin: [Int], extent: [Int], accumulate: Bool) throws

    // MARK: Reductions
    /// Reduces all of `x` to out[0] (a 1-element tensor). Variance is the population variance.
    func reduce(_ op: ReduceOp, _ x: Tensor, out: Tensor) throws
    /// Bounding box of x > threshold over a (D, H, W) volume: out = [d0, h0, w0, d1, h1, w1] inclusive, or all -1 if empty.
    func boundingBox(_ x: Tensor, size: [Int], threshold: Float, out: Tensor) throws
}

extension Backend {
    /// A new fp32 tensor; contents undefined until written.
    public func empty(shape: [Int]) throws -> Tensor { try empty(shape: shape, dtype: .float32) }

    /// out[i] = a[i] op b[i % b.count]; b.count must divide a.count (broadcast of a trailing block).
    public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, out: Tensor) throws {
        try binary(op, a, b, out: out, inner: 1)
    }
}

/// The checks both backends make before a binary op.
func validateBinary(_ a: Tensor, _ b: Tensor, out: Tensor, inner: Int) throws {
    try require(b.count > 0 && inner > 0 && a.count % (b.count * inner) == 0 && out.count == a.count,
                "binary: b (\(b.count)) repeated \(inner) times must divide a (\(a.count)) and out (\(out.count)) must equal a")
    try require([a, b, out].allSatisfy { $0.dtype == .float32 }, "binary: only fp32 tensors")
}

public enum Activation: Int32, Sendable {
    case none = 0, relu = 1, gelu = 2, quickGelu = 3
}

/// Sizes of a (batched) GEMM; strides are per batch item, in elements (0 for B broadcasts one matrix).
public struct GemmShape: Sendable {
    /// How B is laid out: `.nk` is a PyTorch Linear weight (out, in); `.kn` is a plain K x N matrix.
    public enum BLayout: Int32, Sendable { case nk = 0, kn = 1 }
    public var m: Int, n: Int, k: Int
    public var batch: Int
    public var bLayout: BLayout
    public var activation: Activation
    public var strideA: Int, strideB: Int, strideC: Int

    public init(m: Int, n: Int, k: Int, batch: Int = 1, bLayout: BLayout = .nk, activation: Activation = .none,
                strideA: Int? = nil, strideB: Int? = nil, strideC: Int? = nil) {
        self.m = m; self.n = n; self.k = k
        self.batch = batch
        self.bLayout = bLayout
        self.activation = activation
        self.strideA = strideA ?? m * k
        self.strideB = strideB ?? n * k
        self.strideC = strideC ?? m * n
    }

    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(batch) }
}

/// A strided view of one attention operand: element (b, h, row, c) is at
/// offset + b·batchStride + h·headStride + row·rowStride + c.
public struct AttentionOperand {
    public var tensor: Tensor
    public var offset: Int
    public var rowStride: Int
    public var headStride: Int
    public var batchStride: Int

    public init(_ tensor: Tensor, offset: Int = 0, rowStride: Int, headStride: Int, batchStride: Int) {
        self.tensor = tensor
        self.offset = offset
        self.rowStride = rowStride
        self.headStride = headStride
        self.batchStride = batchStride
    }

    /// Heads side by side in rows of heads·headDim values: the layout after a Linear projection.
    public static func packed(_ tensor: Tensor, rows: Int, heads: Int, headDim: Int, offset: Int = 0, rowStride: Int? = nil) -> AttentionOperand {
        let stride = rowStride ?? heads * headDim
        return AttentionOperand(tensor, offset: offset, rowStride: stride, headStride: headDim, batchStride: rows * stride)
    }
}

public struct AttentionShape: Sendable {
    public var batch: Int, heads: Int, queries: Int, keys: Int, headDim: Int
    public var scale: Float
    public var causal: Bool

    public init(batch: Int, heads: Int, queries: Int, keys: Int, headDim: Int, scale: Float? = nil, causal: Bool = false) {
        self.batch = batch; self.heads = heads; self.queries = queries; self.keys = keys; self.headDim = headDim
        self.scale = scale ?? 1 / Float(headDim).squareRoot()
        self.causal = causal
    }

    public var flops: Double { 4 * Double(batch * heads) * Double(queries) * Double(keys) * Double(headDim) }
}

/// Sizes of a 3D (transposed) convolution over NCDHW tensors.
public struct ConvShape: Sendable {
    public var batch: Int, inChannels: Int, outChannels: Int
    public var inSize: [Int], kernel: [Int], stride: [Int], padding: [Int]

    public init(batch: Int = 1, inChannels: Int, outChannels: Int, inSize: [Int], kernel: [Int], stride: [Int],
                padding: [Int] = [0, 0, 0]) {
        self.batch = batch; self.inChannels = inChannels; self.outChannels = outChannels
        self.inSize = inSize; self.kernel = kernel; self.stride = stride; self.padding = padding
    }

    /// Output size of the forward convolution.
    public var convOutSize: [Int] { (0..<3).map { (inSize[$0] + 2 * padding[$0] - kernel[$0]) / stride[$0] + 1 } }
    /// Output size of the transposed convolution.
    public var transposedOutSize: [Int] { (0..<3).map { (inSize[$0] - 1) * stride[$0] - 2 * padding[$0] + kernel[$0] } }
}

public enum ResizeMode: Equatable, Sendable {
    /// PyTorch trilinear.
    case trilinear(alignCorners: Bool)
    /// PyTorch legacy "nearest": source = floor(dst · in / out).
    case nearest
    /// PyTorch "nearest-exact": source = floor((dst + 0.5) · in / out).
    case nearestExact
}

public enum BinaryOp: Int32, Sendable { case add = 0, multiply = 1 }

public enum UnaryOp: Equatable, Sendable {
    case sigmoid, relu, gelu, quickGelu
    /// x · scale + shift.
    case affine(scale: Float, shift: Float)
    /// min(max(x, lo), hi).
    case clamp(lo: Float, hi: Float)
}

public enum ReduceOp: Int32, Sendable { case min = 0, max = 1, sum = 2, mean = 3, variance = 4 }
