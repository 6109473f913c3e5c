import ArgumentParser
import Foundation

@main
struct SegVolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segvol",
        abstract: "SegVol 3D CT segmentation on the GPU through Vulkan.",
        discussion: """
            Examples:
              segvol devices                      list Vulkan devices and what they support
              segvol bench kernels                time the GPU kernels on SegVol's shapes
              segvol bench kernels --json         the same, one JSON object per line
              segvol bench model --device 0       time the published-size model (random weights)
            """,
        version: engineVersion,
        subcommands: [SegmentCommand.self, BatchCommand.self, SummarizeCommand.self, EvaluateCommand.self, ClassesCommand.self,
                      DevicesCommand.self, CheckCommand.self, BenchCommand.self, DICOMInfoCommand.self, ConvertCommand.self])
}

let engineVersion = "0.1.0"

/// `--device`: every command that runs on a Vulkan device takes it.
struct DeviceSelection: ParsableArguments {
    @Option(name: .long, help: "Vulkan device index or name (default: $SEGVOL_DEVICE, else discrete > integrated > CPU).")
    var device: String?
}

/// Device choice shared by the commands that run the model: a Vulkan device, or the CPU reference.
struct DeviceOptions: ParsableArguments {
    @OptionGroup var selection: DeviceSelection
    var device: String? { selection.device }

    @Flag(name: .long, help: "Run on the CPU reference implementation instead of Vulkan.")
    var cpu = false
}

/// Ends the process with a one-line error on stderr (no stack trace) and exit status 1.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("segvol: error: \(message)\n".utf8))
    exit(1)
}

/// Runs `body`, turning any error into a one-line message.
func reportingErrors<T>(_ body: () throws -> T) -> T {
    do {
        return try body()
    } catch {
        fail("\(error)")
    }
}
