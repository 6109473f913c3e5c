import CVulkan
import Foundation

/// A logical device with one compute queue: buffers, pipelines (built once, cached) and submission.
public final class GPUDevice {
    public let instance: VulkanInstance
    public let info: DeviceInfo
    public let handle: VkDevice
    let physical: VkPhysicalDevice
    let queue: VkQueue
    let queueFamily: UInt32
    let commandPool: VkCommandPool
    let pipelineCache: VkPipelineCache
    let allocator: MemoryAllocator
    private let compiler: ShaderCompiler
    private var pipelines: [String: ComputePipeline] = [:]
    private let deviceMemoryType: UInt32
    private let stagingMemoryType: UInt32

    /// Opens the device chosen by `selector` (index or name; see `VulkanInstance.select`).
    public convenience init(selector: String? = nil) throws {
        let instance = try VulkanInstance()
        try self.init(instance: instance, device: try instance.select(selector))
    }

    public init(instance: VulkanInstance, device info: DeviceInfo) throws {
        self.instance = instance
        self.info = info
        physical = instance.physicalDevices[info.index]

        var familyCount: UInt32 = 0
        vkGetPhysicalDeviceQueueFamilyProperties(physical, &familyCount, nil)
        var families = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(familyCount))
        vkGetPhysicalDeviceQueueFamilyProperties(physical, &familyCount, &families)
        // Prefer a compute family without graphics (an async compute queue), else any with compute.
        let compute = VK_QUEUE_COMPUTE_BIT.rawValue, graphics = VK_QUEUE_GRAPHICS_BIT.rawValue
        guard let family = families.indices.first(where: { families[$0].queueFlags & compute != 0 && families[$0].queueFlags & graphics == 0 })
            ?? families.indices.first(where: { families[$0].queueFlags & compute != 0 }) else {
            throw VulkanError.noDevice("\(info.name) has no compute queue")
        }
        queueFamily = UInt32(family)

        var device: VkDevice?
        try GPUDevice.createDevice(physical: physical, info: info, family: queueFamily, device: &device)
        guard let device else { throw VulkanError.noDevice("vkCreateDevice returned no device") }
        handle = device

        var queue: VkQueue?
        vkGetDeviceQueue(device, queueFamily, 0, &queue)
        guard let queue else { throw VulkanError.noDevice("vkGetDeviceQueue returned no queue") }
        self.queue = queue

        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue
        poolInfo.queueFamilyIndex = queueFamily
        var pool: VkCommandPool?
        try check(vkCreateCommandPool(device, &poolInfo, nil, &pool), "vkCreateCommandPool")
        commandPool = pool!

        var cacheInfo = VkPipelineCacheCreateInfo()
        cacheInfo.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO
        var cache: VkPipelineCache?
        try check(vkCreatePipelineCache(device, &cacheInfo, nil, &cache), "vkCreatePipelineCache")
        pipelineCache = cache!

        allocator = MemoryAllocator(device: device, physicalDevice: physical, info: info)
        compiler = try ShaderCompiler(deviceKey: "\(info.name)|\(info.driverVersion)|\(info.apiVersion)")

        // Probe the memory types a storage buffer may use.
        var probeInfo = VkBufferCreateInfo()
        probeInfo.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        probeInfo.size = 256
        probeInfo.usage = GPUDevice.bufferUsage
        var probe: VkBuffer?
        try check(vkCreateBuffer(device, &probeInfo, nil, &probe), "vkCreateBuffer")
        var requirements = VkMemoryRequirements()
        vkGetBufferMemoryRequirements(device, probe, &requirements)
        vkDestroyBuffer(device, probe, nil)
        let local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue
        let hostCoherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
        // Unified memory (lavapipe, integrated GPUs): tensors are mapped and need no staging copies.
        let hostCached = hostCoherent | VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue
        let unified = info.unifiedMemory ? allocator.memoryType(typeBits: requirements.memoryTypeBits, required: local | hostCached) : nil
        guard let deviceType = unified ?? allocator.memoryType(typeBits: requirements.memoryTypeBits, required: local)
            ?? allocator.memoryType(typeBits: requirements.memoryTypeBits, required: 0),
            let stagingType = allocator.memoryType(typeBits: requirements.memoryTypeBits,
                                                   required: hostCached)
            ?? allocator.memoryType(typeBits: requirements.memoryTypeBits, required: hostCoherent) else {
            throw VulkanError.noDevice("\(info.name) has no usable memory type for storage buffers")
        }
        deviceMemoryType = deviceType
        stagingMemoryType = stagingType
    }

    deinit {
        vkDeviceWaitIdle(handle)
        pipelines = [:]
        allocator.destroyAll()
        vkDestroyPipelineCache(handle, pipelineCache, nil)
        vkDestroyCommandPool(handle, commandPool, nil)
        vkDestroyDevice(handle, nil)
    }

    static let bufferUsage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
        | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT.rawValue

    private static func createDevice(physical: VkPhysicalDevice, info: DeviceInfo, family: UInt32,
                                     device: inout VkDevice?) throws {
        var priority: Float = 1
        var queueInfo = VkDeviceQueueCreateInfo()
        queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
        queueInfo.queueFamilyIndex = family
        queueInfo.queueCount = 1

        // Enable what was detected, nothing more.
        var features11 = VkPhysicalDeviceVulkan11Features()
        features11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES
        features11.storageBuffer16BitAccess = info.storageBuffer16BitAccess ? 1 : 0
        var features12 = VkPhysicalDeviceVulkan12Features()
        features12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES
        features12.shaderFloat16 = info.shaderFloat16 ? 1 : 0
        var cooperative = VkPhysicalDeviceCooperativeMatrixFeaturesNV()
        cooperative.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV
        cooperative.cooperativeMatrix = 1

        var extensionNames: [String] = []
        if info.nvCooperativeMatrix { extensionNames.append("VK_NV_cooperative_matrix") }
        let cNames = extensionNames.map { strdup($0) }
        defer { cNames.forEach { free($0) } }
        var namePointers = cNames.map { UnsafePointer($0) }

        let useFeatureChain = info.apiVersion >= vkMakeVersion(1, 2, 0)
        try withUnsafeMutablePointer(to: &cooperative) { coop in
            features12.pNext = info.nvCooperativeMatrix ? UnsafeMutableRawPointer(coop) : nil
            try withUnsafeMutablePointer(to: &features12) { f12 in
                features11.pNext = UnsafeMutableRawPointer(f12)
                try withUnsafeMutablePointer(to: &features11) { f11 in
                    try withUnsafePointer(to: &priority) { prio in
                        queueInfo.pQueuePriorities = prio
                        try withUnsafePointer(to: &queueInfo) { queues in
                            try namePointers.withUnsafeMutableBufferPointer { names in
                                var createInfo = VkDeviceCreateInfo()
                                createInfo.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
                                createInfo.pNext = useFeatureChain ? UnsafeRawPointer(f11) : nil
                                createInfo.queueCreateInfoCount = 1
                                createInfo.pQueueCreateInfos = queues
                                createInfo.enabledExtensionCount = UInt32(names.count)
                                createInfo.ppEnabledExtensionNames = names.isEmpty ? nil : UnsafePointer(names.baseAddress)
                                try check(vkCreateDevice(physical, &createInfo, nil, &device), "vkCreateDevice(\(info.name))")
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: Buffers

    /// A buffer of `bytes` (at least 4) in device memory, or in host memory for `.staging`.
    public func makeBuffer(bytes: Int, location: GPUBuffer.Location = .device) throws -> GPUBuffer {
        let size = max(bytes, 4)
        var bufferInfo = VkBufferCreateInfo()
        bufferInfo.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        bufferInfo.size = VkDeviceSize(size)
        bufferInfo.usage = GPUDevice.bufferUsage
        bufferInfo.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var buffer: VkBuffer?
        try check(vkCreateBuffer(handle, &bufferInfo, nil, &buffer), "vkCreateBuffer(\(size) bytes)")
        guard let buffer else { throw VulkanError.outOfMemory("vkCreateBuffer returned nothing") }
        var requirements = VkMemoryRequirements()
        vkGetBufferMemoryRequirements(handle, buffer, &requirements)
        let type = location == .device ? deviceMemoryType : stagingMemoryType
        let allocation: MemoryAllocator.Allocation
        do {
            allocation = try allocator.allocate(requirements: requirements, type: type)
            try check(vkBindBufferMemory(handle, buffer, allocation.block.memory, allocation.offset), "vkBindBufferMemory")
        } catch {
            vkDestroyBuffer(handle, buffer, nil)
            throw error
        }
        return GPUBuffer(device: self, handle: buffer, size: size, location: location, allocation: allocation, memoryType: type)
    }

    /// True when device buffers are host-mapped (no staging copies needed).
    public var unifiedMemory: Bool { allocator.isHostVisible(deviceMemoryType) }

    /// Bytes held in `VkDeviceMemory` blocks, and how many blocks.
    public var memoryInUse: (bytes: UInt64, blocks: Int) { (allocator.allocatedBytes, allocator.blockCount) }

    // MARK: Pipelines

    /// The pipeline for `source` with `defines`, compiled and created on first use only.
    /// `texelBindings` are read through uniform texel buffers (`samplerBuffer`), the rest are storage buffers.
    /// `source` is only evaluated when the pipeline is not built yet (it is on every dispatch's path).
    public func pipeline(name: String, source: @autoclosure () throws -> String, defines: [(String, String)] = [],
                         bindingCount: Int, texelBindings: Set<Int> = [], pushConstantBytes: Int,
                         optimize: Bool = true) throws -> ComputePipeline {
        let key = name + "|" + defines.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "|" + texelBindings.sorted().map(String.init).joined(separator: ",")
            + (optimize ? "" : "|O0")
        if let cached = pipelines[key] { return cached }
        let spirv = try compiler.compile(name: name, source: try source(), defines: defines, optimize: optimize)
        let pipeline = try ComputePipeline(device: self, name: name, spirv: spirv, bindingCount: bindingCount,
                                           texelBindings: texelBindings, pushConstantBytes: pushConstantBytes)
        pipelines[key] = pipeline
        return pipeline
    }

    public var pipelineCount: Int { pipelines.count }

    /// Compiles a shader without creating a pipeline (used to check sources).
    public func compileSPIRV(name: String, source: String, defines: [(String, String)] = [], optimize: Bool = true) throws -> [UInt32] {
        try compiler.compile(name: name, source: source, defines: defines, optimize: optimize)
    }
}
