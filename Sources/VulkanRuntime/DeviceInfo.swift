import CVulkan

/// What a physical device is and can do, detected rather than assumed.
public struct DeviceInfo: Sendable {
    public enum Kind: String, Sendable { case discrete, integrated, virtual, cpu, other }

    public var index: Int
    public var name: String
    public var kind: Kind
    public var vendorID: UInt32
    public var deviceID: UInt32
    public var driverName: String
    public var driverInfo: String
    public var driverVersion: UInt32
    public var apiVersion: UInt32
    public var deviceLocalBytes: UInt64
    /// Device-local memory the host also reads through its caches (lavapipe, integrated GPUs): tensors live mapped.
    /// A discrete GPU's resizable BAR is host-visible but uncached: host reads across it crawl, so it does not count.
    public var unifiedMemory: Bool

    // Limits the kernels must respect.
    public var maxStorageBufferRange: UInt64
    public var maxMemoryAllocationSize: UInt64
    public var minStorageBufferOffsetAlignment: UInt64
    public var maxComputeSharedMemorySize: UInt32
    public var maxComputeWorkGroupInvocations: UInt32
    public var maxComputeWorkGroupCount: (UInt32, UInt32, UInt32)
    public var maxPushConstantsSize: UInt32
    public var maxTexelBufferElements: UInt64
    public var minTexelBufferOffsetAlignment: UInt64
    public var timestampPeriodNs: Float
    public var timestampsSupported: Bool

    // Features.
    public var shaderFloat16: Bool
    public var storageBuffer16BitAccess: Bool
    public var subgroupSize: UInt32
    public var subgroupArithmetic: Bool
    public var subgroupShuffle: Bool
    public var extensions: Set<String>
    public var khrCooperativeMatrix: Bool { extensions.contains("VK_KHR_cooperative_matrix") }
    public var nvCooperativeMatrix: Bool { extensions.contains("VK_NV_cooperative_matrix") }
    /// fp16 storage and arithmetic both present: the half-precision kernels can run.
    public var supportsHalf: Bool { shaderFloat16 && storageBuffer16BitAccess }

    public var apiVersionString: String {
        "\(apiVersion >> 22).\((apiVersion >> 12) & 0x3FF).\(apiVersion & 0xFFF)"
    }

    /// Preference order for automatic selection: discrete > integrated > virtual > CPU.
    var rank: Int {
        switch kind {
        case .discrete: return 0
        case .integrated: return 1
        case .virtual: return 2
        case .cpu: return 3
        case .other: return 4
        }
    }
}

extension DeviceInfo {
    /// Whether one memory type is device-local, host-coherent and host-cached on a heap as large as the device's
    /// memory: then tensors can live mapped. A small device-local window (resizable BAR off) does not count, nor does
    /// a large uncached one (a discrete GPU's resizable BAR), through which host reads crawl.
    public static func hasUnifiedMemory(types: [(flags: VkMemoryPropertyFlags, heapBytes: UInt64)], deviceLocalBytes: UInt64) -> Bool {
        let wanted = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue
            | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue
        return types.contains { $0.flags & wanted == wanted && $0.heapBytes >= deviceLocalBytes }
    }

    /// Reads properties, memory, limits, features and extensions of one physical device.
    static func read(_ device: VkPhysicalDevice, index: Int) -> DeviceInfo {
        var properties = VkPhysicalDeviceProperties()
        vkGetPhysicalDeviceProperties(device, &properties)
        let limits = properties.limits

        var memory = VkPhysicalDeviceMemoryProperties()
        vkGetPhysicalDeviceMemoryProperties(device, &memory)
        let heaps = withUnsafeBytes(of: memory.memoryHeaps) { raw in
            raw.bindMemory(to: VkMemoryHeap.self).prefix(Int(memory.memoryHeapCount)).map { $0 }
        }
        let types = withUnsafeBytes(of: memory.memoryTypes) { raw in
            raw.bindMemory(to: VkMemoryType.self).prefix(Int(memory.memoryTypeCount)).map { $0 }
        }
        let localBytes = heaps.filter { $0.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.rawValue != 0 }.map(\.size).max() ?? 0
        let unified = hasUnifiedMemory(types: types.map { ($0.propertyFlags, heaps[Int($0.heapIndex)].size) }, deviceLocalBytes: localBytes)

        var extensionCount: UInt32 = 0
        vkEnumerateDeviceExtensionProperties(device, nil, &extensionCount, nil)
        var extensionProperties = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(extensionCount))
        vkEnumerateDeviceExtensionProperties(device, nil, &extensionCount, &extensionProperties)
        let extensions = Set(extensionProperties.map { cString($0.extensionName) })

        // Vulkan 1.1/1.2 feature and property chains (both lavapipe and desktop drivers are >= 1.2).
        var features11 = VkPhysicalDeviceVulkan11Features()
        features11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES
        var features12 = VkPhysicalDeviceVulkan12Features()
        features12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES
        var subgroup = VkPhysicalDeviceSubgroupProperties()
        subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES
        var driver = VkPhysicalDeviceDriverProperties()
        driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES
        var half = false, storage16 = false
        if properties.apiVersion >= vkMakeVersion(1, 2, 0) {
            withUnsafeMutablePointer(to: &features12) { f12 in
                features11.pNext = UnsafeMutableRawPointer(f12)
                withUnsafeMutablePointer(to: &features11) { f11 in
                    var features2 = VkPhysicalDeviceFeatures2()
                    features2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2
                    features2.pNext = UnsafeMutableRawPointer(f11)
                    vkGetPhysicalDeviceFeatures2(device, &features2)
                }
            }
            half = features12.shaderFloat16 != 0
            storage16 = features11.storageBuffer16BitAccess != 0
            withUnsafeMutablePointer(to: &driver) { drv in
                subgroup.pNext = UnsafeMutableRawPointer(drv)
                withUnsafeMutablePointer(to: &subgroup) { sg in
                    var properties2 = VkPhysicalDeviceProperties2()
                    properties2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
                    properties2.pNext = UnsafeMutableRawPointer(sg)
                    vkGetPhysicalDeviceProperties2(device, &properties2)
                }
            }
        }

        let kind: Kind
        switch properties.deviceType {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: kind = .discrete
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: kind = .integrated
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: kind = .virtual
        case VK_PHYSICAL_DEVICE_TYPE_CPU: kind = .cpu
        default: kind = .other
        }
        let ops = subgroup.supportedOperations
        return DeviceInfo(
            index: index,
            name: cString(properties.deviceName),
            kind: kind,
            vendorID: properties.vendorID,
            deviceID: properties.deviceID,
            driverName: cString(driver.driverName),
            driverInfo: cString(driver.driverInfo),
            driverVersion: properties.driverVersion,
            apiVersion: properties.apiVersion,
            deviceLocalBytes: localBytes,
            unifiedMemory: unified,
            maxStorageBufferRange: UInt64(limits.maxStorageBufferRange),
            maxMemoryAllocationSize: maxAllocation(device),
            minStorageBufferOffsetAlignment: limits.minStorageBufferOffsetAlignment,
            maxComputeSharedMemorySize: limits.maxComputeSharedMemorySize,
            maxComputeWorkGroupInvocations: limits.maxComputeWorkGroupInvocations,
            maxComputeWorkGroupCount: limits.maxComputeWorkGroupCount,
            maxPushConstantsSize: limits.maxPushConstantsSize,
            maxTexelBufferElements: UInt64(limits.maxTexelBufferElements),
            minTexelBufferOffsetAlignment: limits.minTexelBufferOffsetAlignment,
            timestampPeriodNs: limits.timestampPeriod,
            timestampsSupported: limits.timestampComputeAndGraphics != 0,
            shaderFloat16: half,
            storageBuffer16BitAccess: storage16,
            subgroupSize: subgroup.subgroupSize,
            subgroupArithmetic: ops & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT.rawValue != 0,
            subgroupShuffle: ops & VK_SUBGROUP_FEATURE_SHUFFLE_BIT.rawValue != 0,
            extensions: extensions)
    }

    private static func maxAllocation(_ device: VkPhysicalDevice) -> UInt64 {
        var maintenance3 = VkPhysicalDeviceMaintenance3Properties()
        maintenance3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES
        withUnsafeMutablePointer(to: &maintenance3) { m3 in
            var properties2 = VkPhysicalDeviceProperties2()
            properties2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
            properties2.pNext = UnsafeMutableRawPointer(m3)
            vkGetPhysicalDeviceProperties2(device, &properties2)
        }
        return maintenance3.maxMemoryAllocationSize
    }

    /// A multi-line description for `segvol devices`.
    public var summary: String {
        let gib = Double(deviceLocalBytes) / 1_073_741_824
        let mib = { (v: UInt64) in String(format: "%.0f MiB", Double(v) / 1_048_576) }
        var lines = ["[\(index)] \(name)"]
        lines.append("    type: \(kind.rawValue), Vulkan \(apiVersionString), driver \(driverName) \(driverInfo)")
        lines.append("    memory: \(String(format: "%.1f", gib)) GiB device-local\(unifiedMemory ? " (unified: host-cached)" : "")")
        lines.append("    limits: maxStorageBufferRange \(mib(maxStorageBufferRange)), maxMemoryAllocationSize \(mib(maxMemoryAllocationSize)), shared memory \(maxComputeSharedMemorySize) B, work-group invocations \(maxComputeWorkGroupInvocations), work-group count \(maxComputeWorkGroupCount.0)x\(maxComputeWorkGroupCount.1)x\(maxComputeWorkGroupCount.2), texel buffer elements \(maxTexelBufferElements)")
        lines.append("    features: fp16 arithmetic \(yes(shaderFloat16)), 16-bit storage \(yes(storageBuffer16BitAccess)), subgroup size \(subgroupSize) (arithmetic \(yes(subgroupArithmetic)), shuffle \(yes(subgroupShuffle))), cooperative matrix KHR \(yes(khrCooperativeMatrix)) NV \(yes(nvCooperativeMatrix)), timestamps \(yes(timestampsSupported))")
        return lines.joined(separator: "\n")
    }
}

private func yes(_ flag: Bool) -> String { flag ? "yes" : "no" }

func vkMakeVersion(_ major: UInt32, _ minor: UInt32, _ patch: UInt32) -> UInt32 {
    (major << 22) | (minor << 12) | patch
}

/// Reads a fixed-size C char array (imported as a tuple) as a String.
func cString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}
