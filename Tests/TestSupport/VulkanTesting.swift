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

extension VulkanBackend {
    /// The profiler's labels of the dispatches `body` records, in order: which pipeline an op chose. Skips the test
    /// on a device without timestamps.
    public func dispatchLabels(_ body: () throws -> Void) throws -> [String] {
        try XCTSkipUnless(device.info.timestampsSupported, "device has no timestamps")
        try synchronize()
        recorder.profiling = true
        defer { recorder.profiling = false }
        try body()
        try synchronize()
        return recorder.lastTimings.map(\.label)
    }
}
