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

    @Option(name: .long, help: "Only variants whose name contains this text (e.g. registerBlocked); the CPU reference still runs.")
    var variant: String?

    func run() throws {
        reportingErrors {
            let gpu = try VulkanBackend(selector: options.device)
            let cpu = CPUBackend()
            let name = gpu.deviceName
            var report = Report(json: options.json)
            // A data sheet's peak where the device is known; elsewhere (lavapipe) the rate its arithmetic alone reaches,
            // measured again right after each row's runs: lavapipe's speed drifts by tens of percent within a minute.
            let peakNow: () throws -> (peak: DevicePeak, row: [String: Any]?)
            if let sheet = devicePeak(name) {
                peakNow = { (sheet, nil) }
            } else {
                let probe = try CeilingProbe(gpu)
                peakNow = { try probe.measure() }
            }
            let first = try peakNow()
            if let row = first.row { report.add(row) }
            if !options.json { print("device: \(name) (\(gpu.device.info.kind.rawValue)); peak: \(first.peak.description)") }
            for benchCase in KernelCase.all where filter.map({ benchCase.name.contains($0) }) ?? true {
                for variant in benchCase.variants(gpu) where self.variant.map({ variant.name.contains($0) }) ?? true {
                    variant.select()
                    defer { variant.reset() }
                    let run = try benchCase.make(gpu)
                    let (ms, kernelMs) = try timedRuns(gpu, runs: options.runs, warmup: options.warmup, run)
                    // A bandwidth row has no use for the multiply-add ceiling.
                    let peak = benchCase.flops == nil ? first.peak : try peakNow().peak
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
                                        ("peak_gflops", "peak GFLOP/s"), ("peak_share", "% of peak")])
            if !options.json { print("GFLOP/s and GB/s use the GPU timestamps where the device has them, else the wall time.") }
        }
    }

    private func row(_ c: KernelCase, backend: String, variant: String, device: String, ms wall: Double, kernelMs: Double?,
                     peak: DevicePeak?) -> [String: Any] {
        var row: [String: Any] = ["kernel": c.name, "shape": c.shape, "backend": backend, "variant": variant, "device": device, "ms": wall]
        if let kernelMs { row["gpu_ms"] = kernelMs }
        if let peak { row["peak_source"] = peak.source.rawValue }
        let ms = kernelMs ?? wall
        if let flops = c.flops {
            let gflops = flops / ms / 1e6
            row["gflops"] = gflops
            if let peak {
                row["peak_gflops"] = peak.gflops
                row["peak_share"] = 100 * gflops / peak.gflops
            }
        }
        if let bytes = c.bytes {
            let gbps = bytes / ms / 1e6
            row["gbps"] = gbps
            if let peakGbps = peak?.gbps, c.flops == nil { row["peak_share"] = 100 * gbps / peakGbps }
        }
        for (key, value) in c.extra { row[key] = value }
        return row
    }
}

/// The device's fp32 multiply-add rate on registers (`fma_ceiling.comp`): the peak where no data sheet gives one.
private struct CeilingProbe {
    let gpu: VulkanBackend
    let out: Tensor
    let rounds: Int

    /// Rounds doubled until one run takes 20 ms or more, so that the dispatch's fixed cost does not count.
    init(_ gpu: VulkanBackend) throws {
        let out = try gpu.empty(shape: [gpu.device.info.kind == .cpu ? 65_536 : 1 << 20])
        var rounds = 16
        func oneRun(warmup: Int) throws -> Double {
            let timing = try timedRuns(gpu, runs: 1, warmup: warmup) { try gpu.fmaCeiling(out: out, rounds: rounds) }
            return timing.kernelMs ?? timing.ms
        }
        var ms = try oneRun(warmup: 1)
        while ms < 20 && rounds < 1 << 20 {
            rounds *= 2
            ms = try oneRun(warmup: 0)
        }
        (self.gpu, self.out, self.rounds) = (gpu, out, rounds)
    }

    /// The fastest of five runs (a busy machine only ever slows a run down), as a peak and as a table row.
    func measure() throws -> (peak: DevicePeak, row: [String: Any]?) {
        let fastest = try timedRuns(gpu, runs: 5, warmup: 0, statistic: { $0.min() ?? .infinity }) {
            try gpu.fmaCeiling(out: out, rounds: rounds)
        }
        let gflops = FmaCeilingKernel.flops(count: out.count, rounds: rounds) / (fastest.kernelMs ?? fastest.ms) / 1e6
        var row: [String: Any] = ["kernel": "fma_ceiling", "shape": "\(out.count)x\(rounds) rounds", "backend": "vulkan",
                                  "variant": "registers", "device": gpu.deviceName, "ms": fastest.ms, "gflops": gflops]
        if let kernelMs = fastest.kernelMs { row["gpu_ms"] = kernelMs }
        return (DevicePeak(gflops: gflops, gbps: nil, source: .measured), row)
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
