import ArgumentParser
import Foundation
import Kernels
import Model
import Volume
import VulkanRuntime

/// `segvol bench model`: the published-size model with seeded random weights (no download).
struct ModelBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Time the image encoder, the text tower (one name) and one zoom-out forward (text + box) at the published size, random weights.",
        discussion: "The published PyTorch code takes about 7.6 s per zoom-out forward on a 2-core CPU machine.")

    @OptionGroup var options: BenchOptions

    @Option(name: .long, help: "A model-config.json with other sizes (default: the published sizes).")
    var modelConfig: String?

    @OptionGroup var precisionOption: PrecisionOption
    var precision: Precision { precisionOption.precision }

    @Flag(name: .long, help: "After each forward, print its kernels' GPU time grouped by kernel, largest first (devices with timestamps).")
    var profile = false

    @Option(name: .long, help: "Categories decoded in one zoom-out forward (repeatable: one forward row each; text towers and decoders batched over categories).")
    var categories: [Int] = [1]

    /// Token ids of "A computerized tomography of a liver." (CLIP BPE), so no tokenizer files are needed.
    static let liverTokens: [Int32] = [49406, 320, 11639, 704, 7690, 999, 22399, 539, 320, 12639, 269, 49407]

    func run() throws {
        reportingErrors {
            var config = SegVolConfig()
            if let modelConfig {
                config = try JSONDecoder().decode(SegVolConfig.self, from: Data(contentsOf: URL(fileURLWithPath: modelConfig)))
            }
            guard categories.allSatisfy({ $0 >= 1 }) else { throw PipelineError("--categories must be at least 1") }
            var report = Report(json: options.json)
            let gpu = try VulkanBackend(selector: options.device)
            progress("building the model with random weights on \(gpu.deviceName)")
            try measure(on: gpu, config: config, runs: options.runs, warmup: options.warmup, report: &report)
            if !options.skipCPUReference {
                progress("running the CPU reference once (slow)")
                try measure(on: CPUBackend(), config: config, runs: 1, warmup: 0, report: &report)
            }
            if !options.json {
                print("model: spatial size \(config.spatialSize), embed \(config.embedDim), \(config.vitLayers) ViT layers; published PyTorch on 2 CPU cores: about 7600 ms per forward")
            }
            report.printTable(columns: [("stage", "stage"), ("categories", "categories"), ("backend", "backend"), ("device", "device"), ("precision", "precision"),
                                        ("ms", "wall ms"), ("gpu_ms", "GPU ms"), ("dispatches", "dispatches")])
        }
    }

    private func measure(on backend: Backend, config: SegVolConfig, runs: Int, warmup: Int, report: inout Report) throws {
        let weights = try ModelWeights(randomWithSeed: 42, config: config, backend: backend, precision: precision)
        let model = try SegVolModel(config: config, weights: weights, tokenizer: nil, backend: backend)
        var state: UInt64 = 7
        let voxels = (0..<config.spatialVolume).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24)
        }
        let volume = try backend.tensor(voxels, shape: [1, 1] + config.spatialSize, dtype: .float32)
        let s = config.spatialSize.map(Float.init)
        let prompt = Prompt(text: "liver", box: [s[0] / 8, s[1] / 4, s[2] / 4, s[0] * 5 / 8, s[1] * 3 / 4, s[2] * 3 / 4])

        // On a GPU, the kernels' own time (timestamps) and dispatch count beside the wall time of recording, submitting
        // and waiting; the medians over the runs of one stage, run to completion.
        let gpu = backend as? VulkanBackend
        func timeStage(_ work: () throws -> Void) throws -> [String: Any] {
            let timing = try timedRuns(backend, runs: runs, warmup: warmup, work)
            guard let gpu, let kernelMs = timing.kernelMs else { return ["ms": timing.ms] }
            return ["ms": timing.ms, "gpu_ms": kernelMs, "dispatches": gpu.recorder.lastTimings.count]
        }
        let encoder = try timeStage { _ = try model.encodeImage(volume) }
        // fp16 runs as fp32 on a backend without fp16 storage: report what ran.
        let ran = backend.supportsHalf ? precision.rawValue : Precision.fp32.rawValue
        report.add(["stage": "image_encoder", "backend": backend.kind, "device": backend.deviceName, "precision": ran]
                   .merging(encoder) { a, _ in a })
        let textTower = try timeStage { _ = try model.encodeText(tokenIDs: [Self.liverTokens]) }
        report.add(["stage": "text_encoder", "backend": backend.kind, "device": backend.deviceName, "precision": Precision.fp32.rawValue]
                   .merging(textTower) { a, _ in a })
        for count in categories {
            let forward = try timeStage {
                let tokens = try model.encodeImage(volume)
                let text = try model.encodeText(tokenIDs: Array(repeating: Self.liverTokens, count: count))
                let lowRes = try model.decode(image: tokens, prompts: Array(repeating: prompt, count: count), text: text)
                let logits = try backend.empty(shape: [count] + config.spatialSize)
                try backend.resize3d(lowRes, out: logits, channels: count, inSize: config.lowResSize, outSize: config.spatialSize,
                                     mode: .trilinear(alignCorners: false))
            }
            if profile, let gpu { printProfile(gpu.recorder.lastTimings, title: "forward, \(count) categories") }
            report.add(["stage": "forward", "categories": count, "backend": backend.kind, "device": backend.deviceName,
                        "precision": ran].merging(forward) { a, _ in a })
        }
    }

    /// GPU milliseconds per kernel label over one recorded pass, largest first.
    private func printProfile(_ timings: [CommandRecorder.Timing], title: String) {
        var byLabel: [String: (ms: Double, count: Int)] = [:]
        for timing in timings {
            byLabel[timing.label, default: (0, 0)].ms += timing.milliseconds
            byLabel[timing.label, default: (0, 0)].count += 1
        }
        let total = timings.reduce(0) { $0 + $1.milliseconds }
        print(String(format: "profile of %@: %.1f ms in %d dispatches", title, total, timings.count))
        for (label, entry) in byLabel.sorted(by: { $0.value.ms > $1.value.ms }).prefix(15) {
            print(String(format: "  %10.1f ms  %5.1f%%  %4d x  %@", entry.ms, 100 * entry.ms / max(total, 1e-9), entry.count, label))
        }
    }
}
