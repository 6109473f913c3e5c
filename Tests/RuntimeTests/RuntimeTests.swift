import Kernels
import TestSupport
import VulkanRuntime
import XCTest

/// The runtime itself: device facts, allocator reuse, long recorded sequences, errors.
final class RuntimeTests: XCTestCase {
    func testDeviceInfoIsDetected() throws {
        let gpu = try VulkanTesting.backend()
        let info = gpu.device.info
        XCTAssertFalse(info.name.isEmpty)
        XCTAssertGreaterThan(info.maxStorageBufferRange, 0)
        XCTAssertGreaterThan(info.maxComputeWorkGroupInvocations, 0)
        XCTAssertTrue(info.summary.contains(info.name))
    }

    /// Memory layouts as drivers report them (Vulkan's property bits: device-local 1, host-visible 2, coherent 4,
    /// cached 8): only memory the host reads through its caches holds mapped tensors.
    func testUnifiedMemoryNeedsHostCachedDeviceMemory() {
        let gib: UInt64 = 1 << 30
        // lavapipe: one type with every bit.
        XCTAssertTrue(DeviceInfo.hasUnifiedMemory(types: [(0xF, 2 * gib)], deviceLocalBytes: 2 * gib))
        // A discrete GPU with resizable BAR (the H100 here): its 80 GiB are host-visible but uncached.
        let discrete: [(flags: UInt32, heapBytes: UInt64)] = [(0x1, 80 * gib), (0x6, 125 * gib), (0xE, 125 * gib), (0x7, 80 * gib)]
        XCTAssertFalse(DeviceInfo.hasUnifiedMemory(types: discrete, deviceLocalBytes: 80 * gib))
        // Resizable BAR off: a 256 MiB host-visible window.
        XCTAssertFalse(DeviceInfo.hasUnifiedMemory(types: [(0x1, 8 * gib), (0xF, gib / 4)], deviceLocalBytes: 8 * gib))
    }

    func testAllocatorReusesFreedMemory() throws {
        let gpu = try VulkanTesting.backend()
        try gpu.synchronize()
        let before = gpu.device.memoryInUse
        // Many tensors allocated and dropped in turn must not grow the number of blocks.
        for round in 0..<200 {
            let tensors = try (0..<8).map { _ in try gpu.empty(shape: [1000 + round]) }
            XCTAssertEqual(tensors.count, 8)
        }
        let after = gpu.device.memoryInUse
        XCTAssertLessThanOrEqual(after.blocks, before.blocks + 1, "blocks grew from \(before.blocks) to \(after.blocks)")
    }

    func testHundredsOfDispatchesSubmittedOnce() throws {
        let gpu = try VulkanTesting.backend()
        try gpu.synchronize()
        let x = try gpu.tensor([Float](repeating: 0, count: 1025), shape: [1025], dtype: .float32)
        let one = try gpu.tensor([1], shape: [1], dtype: .float32)
        let dispatchesBefore = gpu.recorder.dispatchCount
        for _ in 0..<500 { try gpu.binary(.add, x, one, out: x) }
        XCTAssertTrue(gpu.recorder.hasPendingWork, "dispatches are recorded, not run")
        XCTAssertEqual(gpu.recorder.dispatchCount - dispatchesBefore, 500)
        let values = try gpu.read(x)
        XCTAssertFalse(gpu.recorder.hasPendingWork)
        XCTAssertEqual(values, [Float](repeating: 500, count: 1025))
    }

    func testBadShaderIsAnError() throws {
        let gpu = try VulkanTesting.backend()
        XCTAssertThrowsError(try gpu.device.compileSPIRV(name: "broken", source: "#version 450\nvoid main() { undefined_call(); }")) { error in
            guard case VulkanError.shaderCompilation(let name, let log) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "broken")
            XCTAssertTrue(log.contains("undefined_call"), log)
        }
    }

    func testTooLargeDispatchIsAnError() throws {
        let gpu = try VulkanTesting.backend()
        let pipeline = try gpu.device.pipeline(
            name: "noop", source: "#version 450\nlayout(local_size_x = 1) in;\nvoid main() {}",
            bindingCount: 0, pushConstantBytes: 0)
        let tooMany = Int(gpu.device.info.maxComputeWorkGroupCount.0) + 1
        XCTAssertThrowsError(try gpu.recorder.dispatch(pipeline, bindings: [], groups: (tooMany, 1, 1))) { error in
            XCTAssertTrue("\(error)".contains("outside the device limit"), "\(error)")
        }
    }

    func testTimestampsWhenProfiling() throws {
        let gpu = try VulkanTesting.backend()
        try XCTSkipUnless(gpu.device.info.timestampsSupported, "device has no timestamps")
        try gpu.synchronize()
        gpu.recorder.profiling = true
        defer { gpu.recorder.profiling = false }
        let x = try gpu.empty(shape: [4096])
        try gpu.fill(x, value: 1)
        try gpu.unary(.sigmoid, x, out: x)
        try gpu.synchronize()
        XCTAssertEqual(gpu.recorder.lastTimings.map(\.label).last, "unary")
    }
}
