import Foundation
import VulkanRuntime

/// The GPU backend: each op is a GLSL shader in `Shaders/` plus a small host-side type in `Vulkan/Ops/`
/// that knows its push constants and dispatch size. Ops are recorded into one command buffer and
/// submitted when the host needs a result (`read`, `synchronize`).
public final class VulkanBackend: Backend {
    public let kind = "vulkan"
    public let device: GPUDevice
    public let recorder: CommandRecorder
    public var deviceName: String { device.info.name }
    public var supportsHalf: Bool { device.info.supportsHalf }

    /// Scratch tensors of multi-pass kernels, kept and grown so recorded passes do not each hold their own.
    private var scratchTensors: [String: Tensor] = [:]

    /// Push-constant block size of every pipeline: the 128 bytes every Vulkan device guarantees.
    static let pushConstantBytes = 128

    public init(device: GPUDevice) throws {
        self.device = device
        recorder = try CommandRecorder(device: device)
    }

    /// Opens the device picked by `selector` (index or name), `$SEGVOL_DEVICE`, or the best one.
    public convenience init(selector: String? = nil) throws {
        try self.init(device: try GPUDevice(selector: selector))
    }

    // MARK: Memory

    public func tensor(_ values: [Float], shape: [Int], dtype: DType = .float32) throws -> Tensor {
        try require(values.count == shape.reduce(1, *), "tensor: \(values.count) values for shape \(shape)")
        let stored: DType = dtype == .float16 && supportsHalf ? .float16 : .float32
        let tensor = Tensor(shape: shape, dtype: stored, storage: try device.makeBuffer(bytes: values.count * stored.size))
        try write(values, into: tensor)
        return tensor
    }

    public func empty(shape: [Int], dtype: DType) throws -> Tensor {
        let stored: DType = dtype == .float16 && supportsHalf ? .float16 : .float32
        return Tensor(shape: shape, dtype: stored, storage: try device.makeBuffer(bytes: shape.reduce(1, *) * stored.size))
    }

    public func write(_ values: [Float], into tensor: Tensor) throws {
        try require(values.count == tensor.count, "write: \(values.count) values into a tensor of \(tensor.count)")
        let target = buffer(tensor)
        // Mapped memory no recorded command uses can be written at once; otherwise go through the stream.
        if let mapped = target.mapped, !recorder.referenced.contains(ObjectIdentifier(target)) {
            store(values, dtype: tensor.dtype, to: mapped)
            return
        }
        let staging = try device.makeBuffer(bytes: tensor.byteCount, location: .staging)
        store(values, dtype: tensor.dtype, to: staging.mapped!)
        try recorder.copy(from: staging, to: target, bytes: tensor.byteCount)
        recorder.retain(staging)
    }

    public func read(_ tensor: Tensor) throws -> [Float] {
        let source = buffer(tensor)
        if source.mapped != nil {
            try synchronize()
            return load(tensor.count, dtype: tensor.dtype, from: source.mapped!)
        }
        let staging = try device.makeBuffer(bytes: tensor.byteCount, location: .staging)
        try recorder.copy(from: source, to: staging, bytes: tensor.byteCount)
        try synchronize()
        return load(tensor.count, dtype: tensor.dtype, from: staging.mapped!)
    }

    public func synchronize() throws { try recorder.submitAndWait() }

    private func store(_ values: [Float], dtype: DType, to pointer: UnsafeMutableRawPointer) {
        switch dtype {
        case .float32:
            values.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        case .float16:
            let halves = pointer.bindMemory(to: Float16.self, capacity: values.count)
            for i in 0..<values.count { halves[i] = Float16(values[i]) }
        }
    }

    private func load(_ count: Int, dtype: DType, from pointer: UnsafeMutableRawPointer) -> [Float] {
        switch dtype {
        case .float32:
            return Array(UnsafeBufferPointer(start: pointer.bindMemory(to: Float.self, capacity: count), count: count))
        case .float16:
            let halves = pointer.bindMemory(to: Float16.self, capacity: count)
            return (0..<count).map { Float(halves[$0]) }
        }
    }

    // MARK: Helpers for the op types

    /// A scratch tensor of at least `count` floats, shared by every call of one kernel (the recorder orders reuse).
    func scratch(_ name: String, count: Int) throws -> Tensor {
        if let existing = scratchTensors[name], existing.count >= count { return existing }
        let tensor = try empty(shape: [max(count, scratchTensors[name]?.count ?? 0)])
        scratchTensors[name] = tensor
        return tensor
    }

    /// The GPU buffer behind a tensor of this backend.
    func buffer(_ tensor: Tensor) -> GPUBuffer {
        guard let buffer = tensor.storage as? GPUBuffer, buffer.device === device else {
            preconditionFailure("a tensor of another backend was passed to the Vulkan backend")
        }
        return buffer
    }

    /// The pipeline for `Shaders/<shader>.comp` with `defines`, built on first use.
    /// `texelBindings` are read as `samplerBuffer`s (vec4 texels), the rest are storage buffers.
    func pipeline(_ shader: String, defines: [(String, String)] = [], bindings: Int, texelBindings: Set<Int> = [],
                  optimize: Bool = true) throws -> ComputePipeline {
        try device.pipeline(name: shader + defines.map { "-\($0.0)\($0.1)" }.joined(),
                            source: try ShaderLibrary.source(shader + ".comp"), defines: defines,
                            bindingCount: bindings, texelBindings: texelBindings, pushConstantBytes: VulkanBackend.pushConstantBytes,
                            optimize: optimize)
    }

    /// The texel format a tensor is read through: four of its elements per texel, or with `packed` (fp16 only)
    /// eight, as words the shader unpacks.
    func texelFormat(_ tensor: Tensor, packed: Bool = false) -> BufferBinding.TexelFormat {
        tensor.dtype == .float32 ? .rgba32f : packed ? .rgba32ui : .rgba16f
    }

    /// Whether a tensor range can be read as texels (vec4, or eight halves with `packed`): the start aligned for
    /// texel views, whole texels, and at most maxTexelBufferElements texels. lavapipe loads texels about four
    /// times faster than storage.
    func texelReadable(_ tensor: Tensor, offset: Int = 0, count: Int? = nil, packed: Bool = false) -> Bool {
        let bytes = (count ?? tensor.count - offset) * tensor.dtype.size
        let texelBytes = texelFormat(tensor, packed: packed).bytes
        return (offset * tensor.dtype.size) % Int(max(device.info.minTexelBufferOffsetAlignment, 1)) == 0
            && bytes % texelBytes == 0 && bytes / texelBytes <= Int(device.info.maxTexelBufferElements)
    }

    /// A texel-buffer binding of `count` elements from `offset` (see `texelReadable`).
    func texelBinding(_ tensor: Tensor, offset: Int = 0, count: Int? = nil, packed: Bool = false) -> BufferBinding {
        .texel(buffer(tensor), offset: offset * tensor.dtype.size, range: (count ?? tensor.count - offset) * tensor.dtype.size,
               format: texelFormat(tensor, packed: packed))
    }

    /// A binding of the whole tensor (or `count` elements from `offset`).
    func binding(_ tensor: Tensor, _ access: BufferBinding.Access, offset: Int = 0, count: Int? = nil) -> BufferBinding {
        BufferBinding(buffer(tensor), offset: offset * tensor.dtype.size,
                      range: (count ?? tensor.count - offset) * tensor.dtype.size, access: access)
    }

    /// Work groups covering `invocations` 1D invocations of `localSize`, folded into y past the x limit;
    /// shaders recover the index with `foldedIndex()` from common.glsl.
    func grid(_ invocations: Int, localSize: Int) -> (x: Int, y: Int, z: Int) {
        let groups = max(1, (invocations + localSize - 1) / localSize)
        let maxX = Int(device.info.maxComputeWorkGroupCount.0)
        if groups <= maxX { return (groups, 1, 1) }
        let y = (groups + maxX - 1) / maxX
        return ((groups + y - 1) / y, y, 1)
    }

    /// Largest element count one binding may hold, a multiple of 1024 so chunk offsets stay aligned.
    func maxBindingElements(_ dtype: DType = .float32) -> Int {
        Int(device.info.maxStorageBufferRange) / dtype.size / 1024 * 1024
    }
}

/// A binding of elements [start, end) of a tensor that begins at an offset the device accepts; the shader
/// adds `offset` (start's position inside the binding) to its indices.
struct BindingWindow {
    let binding: BufferBinding
    let offset: Int
    let count: Int
    private let alignedStart: Int

    init(_ backend: VulkanBackend, _ tensor: Tensor, start: Int, end: Int, access: BufferBinding.Access) {
        // At least 16 bytes, so a view whose start is a multiple of 4 elements stays vec4-aligned inside the
        // binding; the texel alignment too, so the same window can be read as texels.
        let info = backend.device.info
        let bytes = max(16, Int(info.minStorageBufferOffsetAlignment), Int(info.minTexelBufferOffsetAlignment))
        let alignment = bytes / tensor.dtype.size
        alignedStart = start / alignment * alignment
        offset = start - alignedStart
        count = end - alignedStart
        binding = backend.binding(tensor, access, offset: alignedStart, count: count)
    }

    /// The same window as a texel binding (see `VulkanBackend.texelFormat`), or nil where the device cannot view it so.
    func texelBinding(_ backend: VulkanBackend, _ tensor: Tensor, packed: Bool = false) -> BufferBinding? {
        let perTexel = backend.texelFormat(tensor, packed: packed).bytes / tensor.dtype.size
        let whole = (count + perTexel - 1) / perTexel * perTexel
        guard alignedStart + whole <= tensor.count,
              backend.texelReadable(tensor, offset: alignedStart, count: whole, packed: packed) else { return nil }
        return backend.texelBinding(tensor, offset: alignedStart, count: whole, packed: packed)
    }

    /// Two windows as texel bindings (a GEMM's A and B, the attention's Q and K), or nil unless both can be.
    static func texelPair(_ backend: VulkanBackend, _ first: (window: BindingWindow, tensor: Tensor),
                          _ second: (window: BindingWindow, tensor: Tensor), packed: Bool) -> (BufferBinding, BufferBinding)? {
        guard let one = first.window.texelBinding(backend, first.tensor, packed: packed),
              let two = second.window.texelBinding(backend, second.tensor, packed: packed) else { return nil }
        return (one, two)
    }
}

/// Push constants as 32-bit words.
extension Int { var word: UInt32 { UInt32(truncatingIfNeeded: self) } }
extension Float { var word: UInt32 { bitPattern } }
extension Int32 { var word: UInt32 { UInt32(bitPattern: self) } }
