import CVulkan

/// A failed Vulkan call, named, with its result code; device loss is its own case so callers can report it.
public enum VulkanError: Error, CustomStringConvertible {
    case call(String, VkResult)
    case deviceLost(String)
    case noDevice(String)
    case unsupported(String)
    case shaderCompilation(name: String, log: String)
    case outOfMemory(String)

    public var description: String {
        switch self {
        case let .call(name, result): return "\(name) failed: \(resultName(result)) (\(result.rawValue))"
        case let .deviceLost(name): return "the Vulkan device was lost during \(name)"
        case let .noDevice(message): return message
        case let .unsupported(message): return message
        case let .shaderCompilation(name, log): return "shader \(name) failed to compile:\n\(log)"
        case let .outOfMemory(message): return "out of device memory: \(message)"
        }
    }
}

/// Throws for any result other than VK_SUCCESS (and the non-error VK_INCOMPLETE).
@inline(__always)
func check(_ result: VkResult, _ call: @autoclosure () -> String) throws {
    if result == VK_SUCCESS || result == VK_INCOMPLETE { return }
    if result == VK_ERROR_DEVICE_LOST { throw VulkanError.deviceLost(call()) }
    if result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY {
        throw VulkanError.outOfMemory("\(call()) returned \(resultName(result))")
    }
    throw VulkanError.call(call(), result)
}

func resultName(_ result: VkResult) -> String {
    switch result {
    case VK_NOT_READY: return "VK_NOT_READY"
    case VK_TIMEOUT: return "VK_TIMEOUT"
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY"
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY"
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED"
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST"
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED"
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT"
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT"
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT"
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER"
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS"
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED"
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY"
    case VK_ERROR_INVALID_SHADER_NV: return "VK_ERROR_INVALID_SHADER_NV"
    default: return "VkResult"
    }
}
