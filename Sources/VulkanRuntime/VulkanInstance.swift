import CVulkan
import Foundation

/// The Vulkan instance and the physical devices it sees.
public final class VulkanInstance {
    public let handle: VkInstance
    public let devices: [DeviceInfo]
    let physicalDevices: [VkPhysicalDevice]

    public init() throws {
        var appInfo = VkApplicationInfo()
        appInfo.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
        appInfo.apiVersion = vkMakeVersion(1, 2, 0)
        var instance: VkInstance?
        let result: VkResult = "segvol".withCString { name in
            appInfo.pApplicationName = name
            appInfo.pEngineName = name
            return withUnsafePointer(to: &appInfo) { app in
                var info = VkInstanceCreateInfo()
                info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
                info.pApplicationInfo = app
                return vkCreateInstance(&info, nil, &instance)
            }
        }
        if result == VK_ERROR_INCOMPATIBLE_DRIVER || result == VK_ERROR_INITIALIZATION_FAILED {
            throw VulkanError.noDevice("no Vulkan driver found (vkCreateInstance: \(resultName(result))); install mesa-vulkan-drivers for the CPU driver lavapipe, or use --cpu")
        }
        try check(result, "vkCreateInstance")
        guard let instance else { throw VulkanError.noDevice("vkCreateInstance returned no instance") }
        handle = instance

        var count: UInt32 = 0
        try check(vkEnumeratePhysicalDevices(instance, &count, nil), "vkEnumeratePhysicalDevices")
        var physical = [VkPhysicalDevice?](repeating: nil, count: Int(count))
        try check(vkEnumeratePhysicalDevices(instance, &count, &physical), "vkEnumeratePhysicalDevices")
        physicalDevices = physical.compactMap { $0 }
        devices = physicalDevices.enumerated().map { DeviceInfo.read($0.element, index: $0.offset) }
    }

    deinit { vkDestroyInstance(handle, nil) }

    /// Picks a device: by index or name substring (`selector`, else `$SEGVOL_DEVICE`), else discrete > integrated > CPU.
    public func select(_ selector: String? = nil) throws -> DeviceInfo {
        guard !devices.isEmpty else {
            throw VulkanError.noDevice("no Vulkan device found; install mesa-vulkan-drivers for the CPU driver lavapipe, or use --cpu")
        }
        let wanted = selector ?? ProcessInfo.processInfo.environment["SEGVOL_DEVICE"]
        if let wanted, !wanted.isEmpty {
            if let index = Int(wanted) {
                guard devices.indices.contains(index) else {
                    throw VulkanError.noDevice("no Vulkan device \(index); devices: \(deviceList)")
                }
                return devices[index]
            }
            guard let match = devices.first(where: { $0.name.lowercased().contains(wanted.lowercased()) }) else {
                throw VulkanError.noDevice("no Vulkan device named like \"\(wanted)\"; devices: \(deviceList)")
            }
            return match
        }
        return devices.min { ($0.rank, $0.index) < ($1.rank, $1.index) }!
    }

    private var deviceList: String {
        devices.map { "[\($0.index)] \($0.name)" }.joined(separator: ", ")
    }
}
