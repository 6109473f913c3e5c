import CVulkan
import Foundation

/// Records a whole sequence of dispatches and copies into one command buffer, inserting barriers only
/// where a dispatch touches what an earlier one wrote, and submits it once.
public final class CommandRecorder {
    public struct Timing { public var label: String; public var milliseconds: Double }

    public let device: GPUDevice
    private var commandBuffer: VkCommandBuffer?
    private let fence: VkFence
    private var descriptorPools: [VkDescriptorPool] = []
    private var poolIndex = 0
    private var setsInPool = 0
    private static let setsPerPool = 2048
    private static let buffersPerPool = 2048 * 8

    /// Objects the recorded commands use, kept alive until the GPU is done with them.
    private var retained: [AnyObject] = []
    /// Texel-buffer views made for this submission, destroyed once it has run.
    private var bufferViews: [String: VkBufferView] = [:]
    private var pendingWrites = Set<ObjectIdentifier>()
    private var pendingReads = Set<ObjectIdentifier>()
    private(set) public var referenced = Set<ObjectIdentifier>()
    private(set) public var dispatchCount = 0
    private(set) public var barrierCount = 0

    /// Per-dispatch GPU timestamps, when the device supports them.
    public var profiling = false
    private var queryPool: VkQueryPool?
    private static let maxQueries: UInt32 = 8192
    private var queryLabels: [String] = []
    public private(set) var lastTimings: [Timing] = []
    /// Seconds from each submit until its fence signalled, summed: the device's busy time plus submission
    /// latency, an upper bound of the busy time that needs no timestamps (batch runs report it).
    public private(set) var submitWaitSeconds: Double = 0

    public init(device: GPUDevice) throws {
        self.device = device
        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var fence: VkFence?
        try check(vkCreateFence(device.handle, &fenceInfo, nil, &fence), "vkCreateFence")
        self.fence = fence!
    }

    deinit {
        if commandBuffer != nil { _ = try? submitAndWait() }
        vkDestroyFence(device.handle, fence, nil)
        for pool in descriptorPools { vkDestroyDescriptorPool(device.handle, pool, nil) }
        if let queryPool { vkDestroyQueryPool(device.handle, queryPool, nil) }
    }

    /// True when commands are recorded and not yet submitted.
    public var hasPendingWork: Bool { commandBuffer != nil }

    private func begin() throws -> VkCommandBuffer {
        if let commandBuffer { return commandBuffer }
        var allocateInfo = VkCommandBufferAllocateInfo()
        allocateInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        allocateInfo.commandPool = device.commandPool
        allocateInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        allocateInfo.commandBufferCount = 1
        var buffer: VkCommandBuffer?
        try check(vkAllocateCommandBuffers(device.handle, &allocateInfo, &buffer), "vkAllocateCommandBuffers")
        var beginInfo = VkCommandBufferBeginInfo()
        beginInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        beginInfo.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue
        try check(vkBeginCommandBuffer(buffer, &beginInfo), "vkBeginCommandBuffer")
        commandBuffer = buffer
        if profiling && device.info.timestampsSupported {
            if queryPool == nil {
                var queryInfo = VkQueryPoolCreateInfo()
                queryInfo.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO
                queryInfo.queryType = VK_QUERY_TYPE_TIMESTAMP
                queryInfo.queryCount = CommandRecorder.maxQueries
                var pool: VkQueryPool?
                try check(vkCreateQueryPool(device.handle, &queryInfo, nil, &pool), "vkCreateQueryPool")
                queryPool = pool
            }
            vkCmdResetQueryPool(buffer, queryPool, 0, CommandRecorder.maxQueries)
            queryLabels = []
        }
        return buffer!
    }

    /// Makes everything recorded so far visible to what follows (compute and transfer alike).
    public func barrier() throws {
        let buffer = try begin()
        var memoryBarrier = VkMemoryBarrier()
        memoryBarrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        memoryBarrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        memoryBarrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue
            | VK_ACCESS_TRANSFER_READ_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        let stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue
        vkCmdPipelineBarrier(buffer, stages, stages, 0, 1, &memoryBarrier, 0, nil, 0, nil)
        pendingWrites.removeAll(keepingCapacity: true)
        pendingReads.removeAll(keepingCapacity: true)
        barrierCount += 1
    }

    /// Inserts a barrier if this access conflicts with an unsynchronised earlier one (RAW, WAW or WAR).
    private func track(_ accesses: [(GPUBuffer, BufferBinding.Access)]) throws {
        let hazard = accesses.contains { buffer, access in
            let id = ObjectIdentifier(buffer)
            return pendingWrites.contains(id) || (access != .read && pendingReads.contains(id))
        }
        if hazard { try barrier() }
        for (buffer, access) in accesses {
            let id = ObjectIdentifier(buffer)
            if access == .read { pendingReads.insert(id) } else { pendingWrites.insert(id) }
            if referenced.insert(id).inserted { retained.append(buffer) }
        }
    }

    private func descriptorSet(for pipeline: ComputePipeline) throws -> VkDescriptorSet {
        if poolIndex == descriptorPools.count || setsInPool == CommandRecorder.setsPerPool {
            if setsInPool == CommandRecorder.setsPerPool { poolIndex += 1 }
            setsInPool = 0
            if poolIndex == descriptorPools.count {
                var sizes = [VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER].map {
                    VkDescriptorPoolSize(type: $0, descriptorCount: UInt32(CommandRecorder.buffersPerPool))
                }
                var poolInfo = VkDescriptorPoolCreateInfo()
                poolInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
                poolInfo.maxSets = UInt32(CommandRecorder.setsPerPool)
                poolInfo.poolSizeCount = UInt32(sizes.count)
                var pool: VkDescriptorPool?
                try sizes.withUnsafeMutableBufferPointer { pointer in
                    poolInfo.pPoolSizes = UnsafePointer(pointer.baseAddress)
                    try check(vkCreateDescriptorPool(device.handle, &poolInfo, nil, &pool), "vkCreateDescriptorPool")
                }
                descriptorPools.append(pool!)
            }
        }
        var layout: VkDescriptorSetLayout? = pipeline.setLayout
        var allocateInfo = VkDescriptorSetAllocateInfo()
        allocateInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
        allocateInfo.descriptorPool = descriptorPools[poolIndex]
        allocateInfo.descriptorSetCount = 1
        var set: VkDescriptorSet?
        try withUnsafePointer(to: &layout) { layouts in
            allocateInfo.pSetLayouts = layouts
            try check(vkAllocateDescriptorSets(device.handle, &allocateInfo, &set), "vkAllocateDescriptorSets")
        }
        setsInPool += 1
        return set!
    }

    /// Records one dispatch of `pipeline` over `groups` work groups.
    public func dispatch(_ pipeline: ComputePipeline, bindings: [BufferBinding], push: [UInt32] = [],
                         groups: (x: Int, y: Int, z: Int), label: String? = nil) throws {
        precondition(bindings.count == pipeline.bindingCount, "\(pipeline.name): \(bindings.count) bindings for \(pipeline.bindingCount)")
        precondition(push.count * 4 <= pipeline.pushConstantBytes, "\(pipeline.name): push constants too large")
        let limit = device.info.maxComputeWorkGroupCount
        guard groups.x >= 1, groups.y >= 1, groups.z >= 1,
              groups.x <= Int(limit.0), groups.y <= Int(limit.1), groups.z <= Int(limit.2) else {
            throw VulkanError.unsupported("\(pipeline.name): dispatch of \(groups.x)x\(groups.y)x\(groups.z) work groups is outside the device limit \(limit.0)x\(limit.1)x\(limit.2)")
        }
        for (i, binding) in bindings.enumerated() {
            guard (binding.texel != nil) == pipeline.texelBindings.contains(i) else {
                preconditionFailure("\(pipeline.name): binding \(i) must\(binding.texel == nil ? "" : " not") be a texel buffer")
            }
            let limit = binding.texel.map { Int(device.info.maxTexelBufferElements) * $0.bytes } ?? Int(device.info.maxStorageBufferRange)
            if binding.range > limit || binding.offset + binding.range > binding.buffer.size {
                throw VulkanError.unsupported("\(pipeline.name): binding of \(binding.range) bytes at \(binding.offset) exceeds the buffer or the device's binding limit of \(limit) bytes")
            }
        }
        try track(bindings.map { ($0.buffer, $0.access) })
        let buffer = try begin()
        let set = try descriptorSet(for: pipeline)
        let infos = bindings.map { VkDescriptorBufferInfo(buffer: $0.buffer.handle, offset: VkDeviceSize($0.offset), range: VkDeviceSize($0.range)) }
        let views: [VkBufferView?] = try bindings.map { try $0.texel == nil ? nil : view(for: $0) }
        infos.withUnsafeBufferPointer { infoPointer in
            views.withUnsafeBufferPointer { viewPointer in
                var writes = (0..<bindings.count).map { i -> VkWriteDescriptorSet in
                    var write = VkWriteDescriptorSet()
                    write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
                    write.dstSet = set
                    write.dstBinding = UInt32(i)
                    write.descriptorCount = 1
                    if views[i] != nil {
                        write.descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                        write.pTexelBufferView = viewPointer.baseAddress! + i
                    } else {
                        write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                        write.pBufferInfo = infoPointer.baseAddress! + i
                    }
                    return write
                }
                vkUpdateDescriptorSets(device.handle, UInt32(writes.count), &writes, 0, nil)
            }
        }
        vkCmdBindPipeline(buffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.handle)
        var sets: VkDescriptorSet? = set
        vkCmdBindDescriptorSets(buffer, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout, 0, 1, &sets, 0, nil)
        if !push.isEmpty {
            push.withUnsafeBytes { bytes in
                vkCmdPushConstants(buffer, pipeline.layout, VK_SHADER_STAGE_COMPUTE_BIT.rawValue, 0, UInt32(bytes.count), bytes.baseAddress)
            }
        }
        let timed = queryPool != nil && profiling && UInt32(queryLabels.count * 2 + 2) <= CommandRecorder.maxQueries
        if timed {
            vkCmdWriteTimestamp(buffer, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queryPool, UInt32(queryLabels.count * 2))
        }
        vkCmdDispatch(buffer, UInt32(groups.x), UInt32(groups.y), UInt32(groups.z))
        if timed {
            vkCmdWriteTimestamp(buffer, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queryPool, UInt32(queryLabels.count * 2 + 1))
            queryLabels.append(label ?? pipeline.name)
        }
        retained.append(pipeline)
        dispatchCount += 1
    }

    /// The texel view of a binding, made once per submission.
    private func view(for binding: BufferBinding) throws -> VkBufferView {
        let key = "\(ObjectIdentifier(binding.buffer).hashValue)|\(binding.offset)|\(binding.range)|\(String(describing: binding.texel))"
        if let existing = bufferViews[key] { return existing }
        var info = VkBufferViewCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO
        info.buffer = binding.buffer.handle
        switch binding.texel {
        case .rgba16f: info.format = VK_FORMAT_R16G16B16A16_SFLOAT
        case .rgba32ui: info.format = VK_FORMAT_R32G32B32A32_UINT
        case .rgba32f, nil: info.format = VK_FORMAT_R32G32B32A32_SFLOAT
        }
        info.offset = VkDeviceSize(binding.offset)
        info.range = VkDeviceSize(binding.range)
        var view: VkBufferView?
        try check(vkCreateBufferView(device.handle, &info, nil, &view), "vkCreateBufferView")
        bufferViews[key] = view!
        return view!
    }

    /// Records a buffer-to-buffer copy.
    public func copy(from source: GPUBuffer, sourceOffset: Int = 0, to destination: GPUBuffer,
                     destinationOffset: Int = 0, bytes: Int) throws {
        try track([(source, .read), (destination, .write)])
        let buffer = try begin()
        var region = VkBufferCopy(srcOffset: VkDeviceSize(sourceOffset), dstOffset: VkDeviceSize(destinationOffset), size: VkDeviceSize(bytes))
        vkCmdCopyBuffer(buffer, source.handle, destination.handle, 1, &region)
    }

    /// Records a fill of `bytes` (a multiple of 4) with a 32-bit pattern.
    public func fill(_ destination: GPUBuffer, offset: Int = 0, bytes: Int, pattern: UInt32) throws {
        try track([(destination, .write)])
        let buffer = try begin()
        vkCmdFillBuffer(buffer, destination.handle, VkDeviceSize(offset), VkDeviceSize(bytes), pattern)
    }

    /// Keeps `object` alive until the recorded work has finished.
    public func retain(_ object: AnyObject) { retained.append(object) }

    /// Submits everything recorded, waits for it, and releases what it held. No-op when nothing is recorded.
    public func submitAndWait() throws {
        guard let buffer = commandBuffer else { return }
        commandBuffer = nil
        defer {
            var freed: VkCommandBuffer? = buffer
            vkFreeCommandBuffers(device.handle, device.commandPool, 1, &freed)
            for pool in descriptorPools { vkResetDescriptorPool(device.handle, pool, 0) }
            poolIndex = 0
            setsInPool = 0
            for view in bufferViews.values { vkDestroyBufferView(device.handle, view, nil) }
            bufferViews.removeAll(keepingCapacity: true)
            retained.removeAll(keepingCapacity: true)
            referenced.removeAll(keepingCapacity: true)
            pendingReads.removeAll(keepingCapacity: true)
            pendingWrites.removeAll(keepingCapacity: true)
        }
        try check(vkEndCommandBuffer(buffer), "vkEndCommandBuffer")
        var submit = VkSubmitInfo()
        submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
        submit.commandBufferCount = 1
        var buffers: VkCommandBuffer? = buffer
        let submitted = DispatchTime.now().uptimeNanoseconds
        try withUnsafePointer(to: &buffers) { pointer in
            submit.pCommandBuffers = pointer
            try check(vkQueueSubmit(device.queue, 1, &submit, fence), "vkQueueSubmit")
        }
        var fences: VkFence? = fence
        try check(vkWaitForFences(device.handle, 1, &fences, 1, UInt64.max), "vkWaitForFences")
        submitWaitSeconds += Double(DispatchTime.now().uptimeNanoseconds - submitted) / 1e9
        try check(vkResetFences(device.handle, 1, &fences), "vkResetFences")
        if let queryPool, !queryLabels.isEmpty {
            var stamps = [UInt64](repeating: 0, count: queryLabels.count * 2)
            try check(vkGetQueryPoolResults(device.handle, queryPool, 0, UInt32(stamps.count), stamps.count * 8, &stamps, 8,
                                            VK_QUERY_RESULT_64_BIT.rawValue | VK_QUERY_RESULT_WAIT_BIT.rawValue),
                      "vkGetQueryPoolResults")
            let period = Double(device.info.timestampPeriodNs)
            lastTimings = queryLabels.enumerated().map { i, label in
                Timing(label: label, milliseconds: Double(stamps[2 * i + 1] &- stamps[2 * i]) * period / 1e6)
            }
            queryLabels = []
        }
    }
}
