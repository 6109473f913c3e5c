import ArgumentParser
import Foundation
import Model
import Volume

struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Segment many CTs with one model load: OUT/<case>/segmentation.nii.gz and run.json per case.",
        discussion: """
            Each case is named after its file (.nii/.nii.gz stripped), or after its folder for a DICOM series, and \
            written to OUT/<case>/: segmentation.nii.gz (labels 1..n in prompt order, on the input's grid, as \
            `segment --out` writes it) with its label table (segmentation.labels.json, segmentation.ctbl for 3D \
            Slicer), statistics.json (as `segment --statistics`) and run.json (status, error, input checksum, prompts, \
            model checksum, device, precision, seconds per stage, voxels and ml per category). A case folder appears only when complete. A case whose run.json says ok for the same input \
            checksum, prompts, model weights, precision and passes is skipped (--force recomputes it); a case that \
            cannot be read or processed is recorded as failed and the batch goes on; the exit status is 1 when any \
            case failed.

            The model is read and uploaded once. Reading and preprocessing of the next cases and writing of the \
            previous ones run on --io-threads threads each while the device works on the current case; the queues \
            are bounded, so at most 2 x io-threads + prefetch + 2 cases are in memory at once (8 by default), \
            however many cases there are.

            Sharding: the cases, sorted by name, go to part (index mod N). By default the part comes from a Slurm \
            array (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job \
            (JOB_COMPLETION_INDEX of --num-parts or SEGVOL_NUM_PARTS). Parts may share one output folder; then \
            `segvol summarize OUT` gathers them.

            Examples:
              segvol batch --model SegVol --input cts/ --text liver --text spleen --out-dir out
              segvol batch --model SegVol --input dicom/patient1 dicom/patient2 --text kidney_left --out-dir out
              segvol batch --model SegVol --list cases.txt --classes-file organs.txt --out-dir out --num-parts 4 --part-id 0
            """)

    @Option(name: .long, help: "Model folder (pytorch_model.bin or model.safetensors, tokenizer files, model-config.json optional).")
    var model: String

    @Option(name: .long, parsing: .upToNextOption, help: "CT files (.nii, .nii.gz), folders of them, or folders each holding one DICOM series.")
    var input: [String] = []

    @Option(name: .long, help: "A file listing CT paths, one a line (relative to the current folder; # starts a comment).")
    var list: String?

    @Option(name: .long, help: "Output folder; each case gets OUT/<case>/.")
    var outDir: String

    @Option(name: .long, help: "A category name for the text prompt (repeatable; labels 1..n in this order).")
    var text: [String] = []

    @OptionGroup var vocabularyOptions: VocabularyOptions

    @Flag(name: .long, help: "Only the global (zoom-out) pass.")
    var noZoomIn = false

    @OptionGroup var windowGridOption: WindowGridOption
    var windowGrid: ZoomPipeline.WindowGrid { windowGridOption.windowGrid }

    @OptionGroup var precisionOption: PrecisionOption
    var precision: Precision { precisionOption.precision }

    @Flag(name: .long, help: "Recompute cases that are already done.")
    var force = false

    @Option(name: .long, help: "Number of parts the batch is split into (default: from Slurm, or SEGVOL_NUM_PARTS).")
    var numParts: Int?

    @Option(name: .long, help: "This process's part, 0..<num-parts (default: from Slurm or JOB_COMPLETION_INDEX).")
    var partID: Int?

    @Option(name: .long, help: "Cases read and preprocessed ahead of the device.")
    var prefetch = 2

    @Option(name: .long, help: "Reader threads, and as many writer threads.")
    var ioThreads = 2

    @Flag(name: .long, help: "List this part's cases (name and path) and stop.")
    var dryRun = false

    @Flag(name: .long, help: "No line per case, only the summary.")
    var quiet = false

    @OptionGroup var deviceOptions: DeviceOptions

    func run() throws {
        let report = reportingErrors { try runBatch() }
        if let report, report.failed > 0 { throw ExitCode.failure }
    }

    /// Nil for a dry run.
    private func runBatch() throws -> BatchReport? {
        let prompts = try categoryNames()
        guard prefetch >= 1, ioThreads >= 1 else { throw PipelineError("--prefetch and --io-threads must be at least 1") }
        let shard = try Shard.resolve(partID: partID, numParts: numParts, environment: ProcessInfo.processInfo.environment)
        let cases = shard.select(try BatchInputs.cases(inputs: input, listFile: list))
        if dryRun {
            for item in cases { print("\(item.name)\t\(item.url.path)") }
            return nil
        }
        let outFolder = URL(fileURLWithPath: outDir).standardizedFileURL
        try FileManager.default.createDirectory(at: outFolder, withIntermediateDirectories: true)

        let loadStart = Date()
        let backend = try makeBackend(deviceOptions)
        let loaded = try LoadedModel.load(folder: model, backend: backend, precision: precision)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let settings = BatchSettings(outDir: outFolder, prompts: prompts, precision: precision, zoomIn: !noZoomIn,
                                     windowGrid: windowGrid, force: force, prefetch: prefetch, ioThreads: ioThreads,
                                     verbose: !quiet)
        if !quiet {
            let part = shard.count > 1 ? " (part \(shard.part) of \(shard.count))" : ""
            print(String(format: "%d cases%@ on %@, model loaded in %.1f s", cases.count, part, backend.deviceName, loadSeconds))
        }
        let report = BatchRunner(settings: settings, model: loaded).run(cases)
        print(summaryLine(report))
        return report
    }

    /// The prompts from --text and --classes-file, mapped through SegVol's vocabulary.
    private func categoryNames() throws -> [String] {
        let names = try vocabularyOptions.categoryNames(text: text)
        guard !names.isEmpty else { throw PipelineError("no prompt: give --text or --classes-file") }
        guard names.count <= 255 else { throw PipelineError("\(names.count) categories: a uint8 label map holds at most 255") }
        return names
    }

    private func summaryLine(_ report: BatchReport) -> String {
        let busy = report.deviceBusyShare.map { String(format: "device busy %.0f%% of the time (time inside submit+wait)", 100 * $0) }
            ?? "device busy: not measured on the CPU reference"
        return String(format: "summary: %d ok, %d failed, %d skipped in %.1f s; %.1f cases/hour; %@",
                      report.ok, report.failed, report.skipped, report.seconds, report.casesPerHour, busy)
    }
}

