import CVulkan
import Foundation

/// Sub-allocates tensors out of large `VkDeviceMemory` blocks, so thousands of tensors cost a few allocations.
final class MemoryAllocator {
    /// One `VkDeviceMemory` with a first-fit free list; mapped once if host-visible.
    final class Block {
        let memory: VkDeviceMemory
        let size: UInt64
        let mapped: UnsafeMutableRawPointer?
        let dedicated: Bool
        var free: [(offset: UInt64, size: UInt64)]

        init(memory: VkDeviceMemory, size: UInt64, mapped: UnsafeMutableRawPointer?, dedicated: Bool) {
            self.memory = memory
            self.size = size
            self.mapped = mapped
            self.dedicated = dedicated
            free = [(0, size)]
        }

        func allocate(size: UInt64, alignment: UInt64) -> UInt64? {
            for (i, range) in free.enumerated() {
                let start = (range.offset + alignment - 1) / alignment * alignment
                let end = start + size
                guard end <= range.offset + range.size else { continue }
                var replacement: [(UInt64, UInt64)] = []
                if start > range.offset { replacement.append((range.offset, start - range.offset)) }
                if end < range.offset + range.size { replacement.append((end, range.offset + range.size - end)) }
                free.replaceSubrange(i...i, with: replacement.map { (offset: $0.0, size: $0.1) })
                return start
            }
            return nil
        }

        func release(offset: UInt64, size: UInt64) {
            let index = free.firstIndex { $0.offset > offset } ?? free.count
            free.insert((offset, size), at: index)
            // Coalesce with the neighbours so large tensors can reuse the space.
            var i = max(index - 1, 0)
            while i + 1 < free.count {
                if free[i].offset + free[i].size == free[i + 1].offset {
                    free[i].size += free[i + 1].size
                    free.remove(at: i + 1)
                } else if i >= index {
                    break
                } else {
                    i += 1
                }
            }
        }

        var isEmpty: Bool { free.count == 1 && free[0].size == size }
    }

    struct Allocation {
        let block: Block
        let offset: UInt64
        let size: UInt64
        var mapped: UnsafeMutableRawPointer? { block.mapped.map { $0 + Int(offset) } }
    }

    private let device: VkDevice
    private let memoryProperties: VkPhysicalDeviceMemoryProperties
    private let blockSize: UInt64
    private let maxAllocation: UInt64
    private var blocks: [UInt32: [Block]] = [:]
    private let lock = NSLock()
    private(set) var allocatedBytes: UInt64 = 0
    private(set) var blockCount = 0

    init(device: VkDevice, physicalDevice: VkPhysicalDevice, info: DeviceInfo) {
        self.device = device
        var properties = VkPhysicalDeviceMemoryProperties()
        vkGetPhysicalDeviceMemoryProperties(physicalDevice, &properties)
        memoryProperties = properties
        maxAllocation = info.maxMemoryAllocationSize > 0 ? info.maxMemoryAllocationSize : 1 << 30
        blockSize = min(256 << 20, maxAllocation)
    }

    /// The first memory type allowed by `typeBits` with all `required` flags.
    func memoryType(typeBits: UInt32, required: VkMemoryPropertyFlags) -> UInt32? {
        withUnsafeBytes(of: memoryProperties.memoryTypes) { raw in
            let types = raw.bindMemory(to: VkMemoryType.self)
            for i in 0..<Int(memoryProperties.memoryTypeCount)
            where typeBits & (1 << UInt32(i)) != 0 && types[i].propertyFlags & required == required {
                return UInt32(i)
            }
            return nil
        }
    }

    func isHostVisible(_ type: UInt32) -> Bool {
        withUnsafeBytes(of: memoryProperties.memoryTypes) { raw in
            raw.bindMemory(to: VkMemoryType.self)[Int(type)].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue != 0
        }
    }

    func allocate(requirements: VkMemoryRequirements, type: UInt32) throws -> Allocation {
        lock.lock()
        defer { lock.unlock() }
        let size = requirements.size
        let alignment = max(requirements.alignment, 256)
        guard size <= maxAllocation else {
            throw VulkanError.outOfMemory("a buffer of \(size) bytes exceeds maxMemoryAllocationSize \(maxAllocation)")
        }
        // Large requests get a dedicated block so they do not fragment the shared ones.
        if size > blockSize / 2 {
            let block = try newBlock(size: size, type: type, dedicated: true)
            _ = block.allocate(size: size, alignment: alignment)
            return Allocation(block: block, offset: 0, size: size)
        }
        for block in blocks[type, default: []] where !block.dedicated {
            if let offset = block.allocate(size: size, alignment: alignment) {
                return Allocation(block: block, offset: offset, size: size)
            }
        }
        let block = try newBlock(size: blockSize, type: type, dedicated: false)
        guard let offset = block.allocate(size: size, alignment: alignment) else {
            throw VulkanError.outOfMemory("sub-allocation of \(size) bytes failed in a fresh block")
        }
        return Allocation(block: block, offset: offset, size: size)
    }

    func free(_ allocation: Allocation, type: UInt32) {
        lock.lock()
        defer { lock.unlock() }
        allocation.block.release(offset: allocation.offset, size: allocation.size)
        // Dedicated blocks go back at once; shared blocks stay for reuse by the next tensors.
        if allocation.block.dedicated {
            blocks[type]?.removeAll { $0 === allocation.block }
            destroy(allocation.block)
        }
    }

    private func newBlock(size: UInt64, type: UInt32, dedicated: Bool) throws -> Block {
        var info = VkMemoryAllocateInfo()
        info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
        info.allocationSize = size
        info.memoryTypeIndex = type
        var memory: VkDeviceMemory?
        try check(vkAllocateMemory(device, &info, nil, &memory), "vkAllocateMemory(\(size) bytes)")
        guard let memory else { throw VulkanError.outOfMemory("vkAllocateMemory returned nothing") }
        var mapped: UnsafeMutableRawPointer?
        if isHostVisible(type) {
            try check(vkMapMemory(device, memory, 0, VkDeviceSize(VK_WHOLE_SIZE), 0, &mapped), "vkMapMemory")
        }
        let block = Block(memory: memory, size: size, mapped: mapped, dedicated: dedicated)
        blocks[type, default: []].append(block)
        allocatedBytes += size
        blockCount += 1
        return block
    }

    private func destroy(_ block: Block) {
        if block.mapped != nil { vkUnmapMemory(device, block.memory) }
        vkFreeMemory(device, block.memory, nil)
        allocatedBytes -= block.size
        blockCount -= 1
    }

    func destroyAll() {
        for (_, list) in blocks { list.forEach(destroy) }
        blocks = [:]
    }
}
