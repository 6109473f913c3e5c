import ArgumentParser
import Foundation
import Kernels

/// `segvol bench kernels`: each kernel on the shapes SegVol runs, against the CPU reference in the same run.
struct KernelBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Time each GPU kernel on SegVol's shapes (median of several runs) beside the CPU reference.")

    @OptionGroup var options: BenchOptions

    @Option(name: .long, help: "Only kernels whose name contains this text.")
    var filter: String?

    func run() throws {
        reportingErrors {
            let gpu = try VulkanBackend(selector: options.device)
            let cpu = CPUBackend()
            let name = gpu.deviceName
            let peak = devicePeak(name)
            if !options.json {
                print("device: \(name) (\(gpu.device.info.kind.rawValue)); peak: "
                      + (peak.map { String(format: "%.1f TFLOP/s fp32, %.0f GB/s", $0.tflops, $0.gbps) } ?? "not known for this device"))
            }
            var report = Report(json: options.json)
            for benchCase in KernelCase.all where filter.map({ benchCase.name.contains($0) }) ?? true {
                for variant in benchCase.variants(gpu) {
                    variant.select()
                    defer { variant.reset() }
                    let run = try benchCase.make(gpu)
                    // Wall time includes the submit and the wait; GPU timestamps give the kernels' own time.
                    var gpuTimes: [Double] = []
                    gpu.recorder.profiling = gpu.device.info.timestampsSupported
                    let ms = try medianMilliseconds(runs: options.runs, warmup: options.warmup) {
                        try run()
                        try gpu.synchronize()
                        gpuTimes.append(gpu.recorder.lastTimings.reduce(0) { $0 + $1.milliseconds })
                    }
                    gpu.recorder.profiling = false
                    let kernelMs = gpuTimes.isEmpty ? nil : gpuTimes.suffix(options.runs).sorted()[min(options.runs, gpuTimes.count) / 2]
                    report.add(row(benchCase, backend: "vulkan", variant: variant.name, device: name, ms: ms, kernelMs: kernelMs, peak: peak))
                }
                if !options.skipCPUReference {
                    let run = try benchCase.make(cpu)
                    let ms = try medianMilliseconds(runs: 1, warmup: 0, run)
                    report.add(row(benchCase, backend: "cpu", variant: "reference", device: cpu.deviceName, ms: ms, kernelMs: nil, peak: nil))
                }
            }
            report.printTable(columns: [("kernel", "kernel"), ("shape", "shape"), ("backend", "backend"), ("variant", "variant"),
                                        ("ms", "wall ms"), ("gpu_ms", "GPU ms"), ("gflops", "GFLOP/s"), ("gbps", "GB/s"),
                                        ("peak_share", "% of peak")])
            if !options.json { print("GFLOP/s and GB/s use the GPU timestamps where the device has them, else the wall time.") }
        }
    }

    private func row(_ c: KernelCase, backend: String, variant: String, device: String, ms wall: Double, kernelMs: Double?,
                     peak: (tflops: Double, gbps: Double)?) -> [String: Any] {
        var row: [String: Any] = ["kernel": c.name, "shape": c.shape, "backend": backend, "variant": variant, "device": device, "ms": wall]
        if let kernelMs { row["gpu_ms"] = kernelMs }
        let ms = kernelMs ?? wall
        if let flops = c.flops {
            let gflops = flops / ms / 1e6
            row["gflops"] = gflops
            if let peak { row["peak_share"] = 100 * gflops / (peak.tflops * 1000) }
        }
        if let bytes = c.bytes {
            let gbps = bytes / ms / 1e6
            row["gbps"] = gbps
            if let peak, c.flops == nil { row["peak_share"] = 100 * gbps / peak.gbps }
        }
        for (key, value) in c.extra { row[key] = value }
        return row
    }
}

/// A kernel variant the benchmark can force (e.g. a GEMM tiling), or the default choice.
struct KernelVariant {
    let name: String
    let select: () -> Void
    let reset: () -> Void
    static let automatic = KernelVariant(name: "auto", select: {}, reset: {})
}

/// One benchmark: a kernel on one shape, its work (flops or bytes moved) and how to set it up.
struct KernelCase {
    let name: String
    let shape: String
    var flops: Double?
    var bytes: Double?
    var extra: [String: Any] = [:]
    var variants: (VulkanBackend) -> [KernelVariant] = { _ in [.automatic] }
    /// Allocates inputs on a backend and returns the closure that records one run.
    let make: (Backend) throws -> () throws -> Void

    static func random(_ backend: Backend, _ count: Int, seed: UInt64, dtype: DType = .float32) throws -> Tensor {
        var state = seed
        let values = (0..<count).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
        return try backend.tensor(values, shape: [count], dtype: dtype)
    }
}
