import ArgumentParser
import VulkanRuntime

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the Vulkan devices with their type, driver, memory, limits and features.")

    func run() throws {
        reportingErrors {
            let instance = try VulkanInstance()
            guard !instance.devices.isEmpty else {
                fail("no Vulkan device found; install mesa-vulkan-drivers for the CPU driver lavapipe, or use --cpu")
            }
            let chosen = try instance.select()
            for info in instance.devices {
                print(info.summary + (info.index == chosen.index ? "\n    (default)" : ""))
            }
        }
    }
}
