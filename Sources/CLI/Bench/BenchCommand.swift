import ArgumentParser
import Foundation
import Kernels

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: kernels on SegVol's shapes, the model at the published size, batches end to end, preprocessing.",
        subcommands: [KernelBenchCommand.self, ModelBenchCommand.self, PipelineBenchCommand.self, PreprocessBenchCommand.self])
}

/// Repetitions and output format: every benchmark takes these.
struct BenchRunOptions: ParsableArguments {
    @Option(name: .long, help: "Timed runs per measurement; the median is reported.")
    var runs = 5

    @Option(name: .long, help: "Untimed warm-up runs (on a device, the first builds the pipelines).")
    var warmup = 2

    @Flag(name: .long, help: "Print one JSON object per line instead of a table.")
    var json = false
}

/// Options of the benchmarks that run on a device beside the CPU reference.
struct BenchOptions: ParsableArguments {
    @OptionGroup var selection: DeviceSelection
    var device: String? { selection.device }

    @OptionGroup var run: BenchRunOptions

    @Flag(name: .long, help: "Skip the single run of the CPU reference implementation.")
    var skipCPUReference = false

    var runs: Int { run.runs }
    var warmup: Int { run.warmup }
    var json: Bool { run.json }
}

/// Wall-clock milliseconds of `body`, median of `runs` after `warmup` untimed runs.
func medianMilliseconds(runs: Int, warmup: Int, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<warmup { try body() }
    var times: [Double] = []
    for _ in 0..<max(runs, 1) {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    return median(times)
}

/// Wall time of running `work` to completion (recording, submitting, waiting) and, on a GPU with timestamps, the
/// kernels' own time, each reduced over `runs` runs after `warmup` by `statistic` (the median unless told). The last
/// run's per-dispatch timings stay in the recorder's `lastTimings`.
func timedRuns(_ backend: Backend, runs: Int, warmup: Int, statistic: ([Double]) -> Double = median,
               _ work: () throws -> Void) throws -> (ms: Double, kernelMs: Double?) {
    let recorder = (backend as? VulkanBackend).flatMap { $0.device.info.timestampsSupported ? $0.recorder : nil }
    recorder?.profiling = true
    defer { recorder?.profiling = false }
    var wall: [Double] = [], kernel: [Double] = []
    for index in 0..<(warmup + max(runs, 1)) {
        let start = DispatchTime.now().uptimeNanoseconds
        try work()
        try backend.synchronize()
        guard index >= warmup else { continue }
        wall.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        if let recorder { kernel.append(recorder.lastTimings.reduce(0) { $0 + $1.milliseconds }) }
    }
    return (statistic(wall), kernel.isEmpty ? nil : statistic(kernel))
}

/// The middle value (the upper one of an even count).
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

/// What a device's kernels are measured against: fp32 GFLOP/s and, where known, memory bandwidth.
struct DevicePeak {
    enum Source: String { case dataSheet = "data sheet", measured }
    let gflops: Double
    let gbps: Double?
    let source: Source

    var description: String {
        let bandwidth = gbps.map { String(format: "%.0f GB/s", $0) } ?? "bandwidth not known"
        switch source {
        case .dataSheet:
            return String(format: "%.1f TFLOP/s fp32, ", gflops / 1000) + bandwidth + " (data sheet)"
        case .measured:
            return String(format: "%.1f GFLOP/s fp32, measured: multiply-adds on registers with no loads (row fma_ceiling), "
                          + "again after each row (column peak GFLOP/s); ", gflops) + bandwidth
        }
    }
}

/// Known fp32 peaks and memory bandwidths by device name, from vendor data sheets.
func devicePeak(_ name: String) -> DevicePeak? {
    let lower = name.lowercased()
    let sheet: (tflops: Double, gbps: Double)
    if lower.contains("h200") {
        sheet = (66.9, 4800)
    } else if lower.contains("h100") {
        sheet = lower.contains("pcie") ? (51.2, 2039) : (66.9, 3352)
    } else if lower.contains("a100") {
        sheet = (19.5, lower.contains("80gb") ? 2039 : 1555)
    } else {
        return nil
    }
    return DevicePeak(gflops: sheet.tflops * 1000, gbps: sheet.gbps, source: .dataSheet)
}

/// Writes rows as an aligned text table or as JSON lines.
struct Report {
    let json: Bool
    private var rows: [[String: Any]] = []

    init(json: Bool) { self.json = json }

    mutating func add(_ row: [String: Any]) {
        if json {
            let data = (try? JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
            fflush(stdout)
        }
        rows.append(row)
    }

    func printTable(columns: [(key: String, title: String)]) {
        guard !json else { return }
        let cells = rows.map { row in columns.map { format(row[$0.key]) } }
        let widths = columns.indices.map { i in max(columns[i].title.count, cells.map { $0[i].count }.max() ?? 0) }
        let line = { (values: [String]) in
            zip(values, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        print(line(columns.map(\.title)))
        cells.forEach { print(line($0)) }
    }

    private func format(_ value: Any?) -> String {
        switch value {
        case let double as Double: return double >= 100 ? String(format: "%.0f", double) : String(format: "%.2f", double)
        case let value?: return "\(value)"
        case nil: return "-"
        }
    }
}

/// Status lines for long benchmarks, on stderr so stdout stays machine-readable.
func progress(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
