import Foundation
import Kernels
import VulkanRuntime
import XCTest

/// One Vulkan backend for the whole test process (device creation and pipeline builds are not free).
/// In CI (`CI=true`) a missing Vulkan device fails the test; elsewhere the test is skipped with the reason.
public enum VulkanTesting {
    private static let shared: Result<VulkanBackend, Error> = Result { try VulkanBackend() }

    public static var isCI: Bool {
        let value = ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? ""
        return value == "true" || value == "1"
    }

    public static func backend(file: StaticString = #filePath, line: UInt = #line) throws -> VulkanBackend {
        switch shared {
        case let .success(backend):
            return backend
        case let .failure(error):
            if isCI {
                XCTFail("CI requires a Vulkan device (lavapipe): \(error)", file: file, line: line)
                throw error
            }
            throw XCTSkip("no Vulkan device: \(error)")
        }
    }
}
