import ArgumentParser
import Foundation
import Kernels
import Model
import Volume

/// `segvol bench pipeline`: `segvol batch` end to end on CTs resampled from the shared data.
struct PipelineBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Time batches end to end: one and ten categories, exact and shared windows, fp32 and fp16, and separate segment processes.",
        discussion: """
            The CTs are the shared example_ct.nii.gz resampled (trilinear) to 512x512x300, 512x512x200, 384x384x250 \
            and 512x512x120 voxels in turn (with --small: 122x101x112, 96x96x64, 122x101x30, 80x80x40). The model \
            has the published sizes and seeded random weights (with --small the official-tiny fixture sizes), or is \
            --model. Each batch row is one in-process `segvol batch` over all cases after an untimed warm-up case; \
            stage seconds are means per case; device busy is the time inside submit+wait over the batch's wall \
            time. The segment-processes rows run `segvol segment` once per case, model load included; compare \
            their seconds per case with a batch's plus the model-load seconds. With random weights every category's \
            region is usually the whole crop, so the shared grid equals exact; dice_vs_exact (label maps, lowest \
            over cases and categories) means something with real weights.
            """)

    @OptionGroup var selection: DeviceSelection
    var device: String? { selection.device }

    @Flag(name: .long, help: "Print one JSON object per line instead of a table.")
    var json = false

    @Flag(name: .long, help: "Fixture-size model and small CTs: runs in minutes on a CPU driver.")
    var small = false

    @Option(name: .long, help: "Number of CTs.")
    var cases = 4

    @Option(name: .long, help: "A model folder to use instead of random weights.")
    var model: String?

    @Option(name: .long, help: "Folder with the CLIP tokenizer files (vocab.json, tokenizer.json) for the random model.")
    var tokenizer = "../shared/fixtures/official-tiny/text-box"

    @Option(name: .long, help: "The CT the benchmark CTs are resampled from.")
    var ct = "../shared/data/ct/example_ct.nii.gz"

    @Option(name: .long, help: "Only this precision (repeatable; default: fp32 and fp16).")
    var precision: [Precision] = []

    @Flag(name: .long, help: "Skip the separate segment processes.")
    var skipProcesses = false

    @Option(name: .long, help: "Keep the CTs, model and outputs in this folder (default: a temporary folder, removed).")
    var workDir: String?

    func run() throws {
        reportingErrors { try benchmark() }
    }

    private func benchmark() throws {
        guard cases >= 1 else { throw PipelineError("--cases must be at least 1") }
        let work = URL(fileURLWithPath: workDir ?? NSTemporaryDirectory() + "segvol-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { if workDir == nil { try? FileManager.default.removeItem(at: work) } }

        let sizes = small ? PipelineBenchData.smallSizes : PipelineBenchData.publishedSizes
        progress("writing \(cases) CTs resampled from \(ct)")
        let inputs = try PipelineBenchData.writeCases(from: URL(fileURLWithPath: ct), sizes: sizes, count: cases,
                                                      into: work.appendingPathComponent("cts"))
        let modelFolder = model ?? work.appendingPathComponent("model").path
        if model == nil {
            progress("writing a model with random weights")
            try PipelineBenchData.writeRandomModel(config: small ? PipelineBenchData.fixtureConfig : SegVolConfig(),
                                                   tokenizer: URL(fileURLWithPath: tokenizer), into: URL(fileURLWithPath: modelFolder))
        }
        let batchCases = inputs.map { BatchCase(path: $0.path) }
        let backend = try VulkanBackend(selector: device)
        var report = Report(json: json)
        var modelLoadSeconds = 0.0

        for precision in self.precision.isEmpty ? Precision.allCases : self.precision {
            let loadStart = Date()
            let loaded = try LoadedModel.load(folder: modelFolder, backend: backend, precision: precision)
            let loadSeconds = Date().timeIntervalSince(loadStart)
            if precision == .fp32 { modelLoadSeconds = loadSeconds }
            progress("\(precision.rawValue): model loaded in \(String(format: "%.1f", loadSeconds)) s; warm-up case")
            _ = BatchRunner(settings: settings(precision, categories: 1, grid: .exact, out: work.appendingPathComponent("warm-up")),
                            model: loaded).run([batchCases[0]])
            for (categories, grid) in [(1, ZoomPipeline.WindowGrid.exact), (10, .exact), (10, .shared)] {
                progress("\(precision.rawValue): \(categories) categories, \(grid.rawValue) windows")
                let out = outputFolder(work, precision, categories, grid)
                let batch = BatchRunner(settings: settings(precision, categories: categories, grid: grid, out: out), model: loaded)
                    .run(batchCases)
                guard batch.failed == 0 else { throw PipelineError("\(batch.failed) benchmark cases failed: \(batch.firstFailure ?? "")") }
                var row = self.row(mode: "batch", categories: categories, grid: grid, precision: precision, backend: backend,
                                   seconds: batch.seconds)
                row["model_load_seconds"] = loadSeconds
                row["cases_per_hour"] = batch.casesPerHour
                row["device_busy_share"] = batch.deviceBusyShare
                let perCase = { (value: Double) in value / Double(cases) }
                let stages = batch.stageSeconds
                row["read"] = perCase(stages.read)
                row["preprocess"] = perCase(stages.preprocess)
                row["zoom_out"] = perCase(stages.zoomOut)
                row["zoom_in"] = perCase(stages.zoomIn)
                row["write"] = perCase(stages.write)
                if grid == .shared {
                    let exact = outputFolder(work, precision, categories, .exact)
                    row["dice_vs_exact"] = try batchCases.flatMap { item in
                        try PipelineBenchData.labelDice(exact.appendingPathComponent(item.name + "/segmentation.nii.gz"),
                                                        out.appendingPathComponent(item.name + "/segmentation.nii.gz"),
                                                        categories: categories)
                    }.min()
                }
                report.add(row)
            }
        }
        if !skipProcesses {
            for categories in [1, 10] {
                progress("separate segment processes, \(categories) categories")
                let seconds = try segmentProcesses(inputs, model: modelFolder, categories: categories, scratch: work)
                var row = self.row(mode: "segment-processes", categories: categories, grid: .exact, precision: .fp32,
                                   backend: backend, seconds: seconds)
                row["cases_per_hour"] = Double(cases) * 3600 / seconds
                row["model_load_seconds"] = modelLoadSeconds
                report.add(row)
            }
        }
        if !json {
            let shapes: [String] = (0..<cases).map { n in sizes[n % sizes.count].map(String.init).joined(separator: "x") }
            let weights = model ?? ((small ? "fixture sizes" : "published sizes") + ", random weights")
            print("device: \(backend.deviceName); CTs: \(shapes.joined(separator: ", ")); model: \(weights)")
        }
        report.printTable(columns: [("mode", "mode"), ("categories", "categories"), ("window_grid", "windows"),
                                    ("precision", "precision"), ("seconds", "wall s"), ("seconds_per_case", "s/case"),
                                    ("read", "read"), ("preprocess", "preprocess"), ("zoom_out", "zoom-out"), ("zoom_in", "zoom-in"),
                                    ("write", "write"), ("cases_per_hour", "cases/h"), ("device_busy_share", "busy"),
                                    ("model_load_seconds", "load s"), ("dice_vs_exact", "Dice vs exact")])
    }

    private func settings(_ precision: Precision, categories: Int, grid: ZoomPipeline.WindowGrid, out: URL) -> BatchSettings {
        BatchSettings(outDir: out, prompts: Array(PipelineBenchData.categories.prefix(categories)), precision: precision,
                      zoomIn: true, windowGrid: grid, force: true, prefetch: 2, ioThreads: 2, verbose: false)
    }

    private func outputFolder(_ work: URL, _ precision: Precision, _ categories: Int, _ grid: ZoomPipeline.WindowGrid) -> URL {
        work.appendingPathComponent("out-\(precision.rawValue)-\(categories)-\(grid.rawValue)")
    }

    private func row(mode: String, categories: Int, grid: ZoomPipeline.WindowGrid, precision: Precision, backend: Backend,
                     seconds: Double) -> [String: Any] {
        var row: [String: Any] = ["mode": mode, "categories": categories, "window_grid": grid.rawValue]
        row["precision"] = precision.rawValue
        row["backend"] = backend.kind
        row["device"] = backend.deviceName
        row["cases"] = cases
        row["seconds"] = seconds
        row["seconds_per_case"] = seconds / Double(cases)
        return row
    }

    /// Wall seconds of one `segvol segment` process per case, one after another.
    private func segmentProcesses(_ inputs: [URL], model: String, categories: Int, scratch: URL) throws -> Double {
        let start = Date()
        for input in inputs {
            let process = Process()
            process.executableURL = Bundle.main.executableURL
            let out = scratch.appendingPathComponent("segment.nii.gz").path
            var arguments = ["segment", "--model", model, "--image", input.path, "--out", out, "--overwrite", "--quiet"]
            arguments += PipelineBenchData.categories.prefix(categories).flatMap { ["--text", $0] }
            if let device { arguments += ["--device", device] }
            process.arguments = arguments
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw PipelineError("segvol segment failed on \(input.path)") }
        }
        return Date().timeIntervalSince(start)
    }
}
