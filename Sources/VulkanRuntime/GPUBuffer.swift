import CVulkan

/// A storage buffer bound to a sub-allocation; freed (memory returned to its block) when released.
public final class GPUBuffer {
    public enum Location { case device, staging }

    public let handle: VkBuffer
    public let size: Int
    public let location: Location
    let allocation: MemoryAllocator.Allocation
    let memoryType: UInt32
    /// Strong: a buffer must not outlive the device its memory belongs to.
    public let device: GPUDevice

    /// Host pointer when the memory is host-visible (always on lavapipe and integrated GPUs).
    public var mapped: UnsafeMutableRawPointer? { allocation.mapped }

    init(device: GPUDevice, handle: VkBuffer, size: Int, location: Location,
         allocation: MemoryAllocator.Allocation, memoryType: UInt32) {
        self.device = device
        self.handle = handle
        self.size = size
        self.location = location
        self.allocation = allocation
        self.memoryType = memoryType
    }

    deinit {
        vkDestroyBuffer(device.handle, handle, nil)
        device.allocator.free(allocation, type: memoryType)
    }
}

/// A buffer range given to one binding of a dispatch, with how the kernel uses it (for barriers).
public struct BufferBinding {
    public enum Access { case read, write, readWrite }
    /// How a uniform texel buffer presents the range: four floats or four halves per texel, or four words
    /// (`rgba32ui`: eight halves a shader unpacks itself, half the fetches of `rgba16f`).
    public enum TexelFormat {
        case rgba32f, rgba16f, rgba32ui

        public var bytes: Int { self == .rgba16f ? 8 : 16 }
    }
    public var buffer: GPUBuffer
    public var offset: Int
    public var range: Int
    public var access: Access
    /// Set for bindings the pipeline reads through a texel buffer (lavapipe loads these far faster).
    public var texel: TexelFormat?

    public init(_ buffer: GPUBuffer, offset: Int = 0, range: Int? = nil, access: Access) {
        self.buffer = buffer
        self.offset = offset
        self.range = range ?? (buffer.size - offset)
        self.access = access
    }

    /// A read-only binding through a uniform texel buffer view.
    public static func texel(_ buffer: GPUBuffer, offset: Int = 0, range: Int? = nil, format: TexelFormat) -> BufferBinding {
        var binding = BufferBinding(buffer, offset: offset, range: range, access: .read)
        binding.texel = format
        return binding
    }
}
