import ArgumentParser
import Foundation
import Kernels
import Model
import Volume

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "The published evaluation: prompts from a ground-truth label, Dice of the global pass and of the final result.",
        discussion: """
            Box prompts are the bounding box of the label resized to the zoom-out size (nearest-exact), as the \
            published evaluation does. The published code samples point prompts at random; here the point is \
            deterministic: the voxel of the zoom-out label nearest to the label's centroid (positive). \
            Dice is the published one: 2|P∩G| / (|P| + |G| + 1) on the preprocessed crop.

            Example:
              segvol evaluate --model SegVol --image ct.nii.gz --label seg.nii.gz --classes "5=liver,1=spleen" --prompts text,box --json dice.json
            """)

    @Option(name: .long, help: "Model folder.")
    var model: String

    @Option(name: .long, help: "CT image: .nii/.nii.gz, a DICOM series folder or a multi-frame DICOM file.")
    var image: String

    @Option(name: .long, help: "SeriesInstanceUID to read when the DICOM folder holds several series (see dicom-info).")
    var series: String?

    @Option(name: .long, help: "Label map on the image's grid.")
    var label: String

    @Option(name: .long, help: "Label values and category names: \"1=liver,2=spleen\"; names and aliases (kidney_right) go through SegVol's vocabulary as segment's --text does.")
    var classes: String

    @Option(name: .long, help: "Prompt kinds: any of text, box, point, comma-separated.")
    var prompts = "text"

    @Flag(name: .long, help: "Only the global (zoom-out) pass.")
    var noZoomIn = false

    @Option(name: .long, help: "Box of each zoom-in window: published (the user's box for one window, else the global prediction's box in the window) or user (the user's zoom-out box in every window, as the shared fixtures were made).")
    var windowBox: ZoomPipeline.WindowBox = .published

    @Option(name: .long, help: "Prompt tokens of each class: own (the published model) or first (the first class's box and text token for every class, each keeping its own text in the decoder's text-similarity term: how the shared fixtures' second categories were made; needs --window-box user).")
    var promptTokens: ZoomPipeline.PromptTokens = .own

    @OptionGroup var precisionOption: PrecisionOption
    var precision: Precision { precisionOption.precision }

    @Option(name: .long, help: "Write the Dice values as JSON.")
    var json: String?

    @Option(name: .long, help: "Write each class's final logits (float32 .npy, preprocessed crop space) into this folder.")
    var logitsDir: String?

    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    @OptionGroup var deviceOptions: DeviceOptions

    func run() throws {
        reportingErrors { try evaluate() }
    }

    private func evaluate() throws {
        let kinds = Set(prompts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        guard !kinds.isEmpty, kinds.isSubset(of: ["text", "box", "point"]) else {
            throw PipelineError("--prompts takes text, box and point, comma-separated")
        }
        if kinds.contains("box") && kinds.contains("point") && !noZoomIn {
            throw PipelineError("box and point prompts cannot be mixed in the zoom-in pass; use one, or --no-zoom-in")
        }
        let typedClasses = try classes.split(separator: ",").map { entry -> (value: Int, name: String) in
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let value = Int(parts[0].trimmingCharacters(in: .whitespaces)), !parts[1].isEmpty else {
                throw PipelineError("--classes \(classes): expected value=name pairs like 1=liver,2=spleen")
            }
            return (value, String(parts[1]))
        }
        // The canonical name is the text prompt and names the logits file, as in segment.
        let names = try VocabularyOptions.canonicalNames(typedClasses.map(\.name), from: "--classes")
        let classList = zip(typedClasses.map(\.value), names)
        let outputs = OutputSet(overwrite: true)
        if let logitsDir { try FileManager.default.createDirectory(atPath: logitsDir, withIntermediateDirectories: true) }

        let progress = progressReporter(quiet: quiet)
        let backend = try makeBackend(deviceOptions)
        let model = try SegVolModel(modelDirectory: URL(fileURLWithPath: self.model), backend: backend, precision: precision)
        let loaded = try LoadedCase(url: URL(fileURLWithPath: image), spatialSize: model.config.spatialSize, series: series)
        guard FileManager.default.fileExists(atPath: label) else { throw PipelineError("\(label): no such file") }
        let labelImage = try NIfTI.read(URL(fileURLWithPath: label))
        guard labelImage.header.dims == loaded.image.header.dims else {
            throw PipelineError("\(label) is \(labelImage.header.dims), the image is \(loaded.image.header.dims)")
        }

        var evaluated: [(name: String, label: [Float], prompt: Prompt)] = []
        var skipped: [String] = []
        for (value, name) in classList {
            let cropLabel = loaded.geometry.toCrop(labelImage.data.map { $0 == Float(value) ? 1 : 0 })
            guard cropLabel.contains(1) else { skipped.append(name); continue }
            var prompt = Prompt(text: kinds.contains("text") ? name : nil)
            if kinds.contains("box") || kinds.contains("point") {
                let zoomed = try zoomOutLabel(cropLabel, shape: loaded.volume.shape, model: model)
                if kinds.contains("box") { prompt.box = zoomed.box }
                if kinds.contains("point") { prompt.points = [zoomed.centralPoint] }
            }
            evaluated.append((name, cropLabel, prompt))
        }
        guard !evaluated.isEmpty else { throw PipelineError("none of the classes occurs in \(label)") }

        let pipeline = ZoomPipeline(model: model)
        pipeline.zoomIn = !noZoomIn
        pipeline.windowBox = windowBox
        pipeline.promptTokens = promptTokens
        pipeline.progress = progress
        let results = try pipeline.run(loaded.volume, prompts: evaluated.map(\.prompt))
        if progress != nil { FileHandle.standardError.write(Data("\u{1B}[2K\r".utf8)) }

        var rows: [[String: Any]] = []
        for (entry, result) in zip(evaluated, results) {
            let zoomOutDice = publishedDice(logits: result.zoomOutLogits, label: entry.label)
            let dice = publishedDice(logits: result.logits, label: entry.label)
            print(String(format: "%@: zoom-out Dice %.4f, final Dice %.4f (%d windows, %.2f s)",
                         entry.name, zoomOutDice, dice, result.windows, result.seconds))
            rows.append(["name": entry.name, "dice_zoom_out": zoomOutDice, "dice": dice, "windows": result.windows,
                         "seconds": result.seconds, "box_zoom_out": entry.prompt.box.map { $0.map(Double.init) } as Any])
            if let logitsDir {
                let url = URL(fileURLWithPath: logitsDir).appendingPathComponent(fileName(for: entry.name) + ".npy")
                try NPY.write(result.logits, shape: loaded.volume.shape, to: outputs.stage(url))
            }
        }
        for name in skipped { print("\(name): not in the label, skipped") }
        if let json {
            let document: [String: Any] = ["image": image, "label": label, "prompts": kinds.sorted(), "zoom_in": !noZoomIn,
                                           "classes": rows, "skipped": skipped]
            try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
                .write(to: outputs.stage(URL(fileURLWithPath: json)))
        }
        try outputs.commit()
    }

    /// The label resized to the zoom-out size (nearest-exact): its bounding box and the voxel nearest its centroid.
    private func zoomOutLabel(_ cropLabel: [Float], shape: [Int], model: SegVolModel) throws -> (box: [Float], centralPoint: Prompt.Point) {
        let backend = model.backend, size = model.config.spatialSize
        let full = try backend.tensor(cropLabel, shape: shape, dtype: .float32)
        let zoomed = try backend.empty(shape: size)
        try backend.resize3d(full, out: zoomed, channels: 1, inSize: shape, outSize: size, mode: .nearestExact)
        let values = try backend.read(zoomed)
        var lo = [Int.max, Int.max, Int.max], hi = [-1, -1, -1], sum = [0.0, 0.0, 0.0], count = 0.0
        var voxels: [[Int]] = []
        for d in 0..<size[0] { for h in 0..<size[1] { for w in 0..<size[2] where values[(d * size[1] + h) * size[2] + w] > 0.5 {
            let p = [d, h, w]
            voxels.append(p)
            for a in 0..<3 { lo[a] = min(lo[a], p[a]); hi[a] = max(hi[a], p[a]); sum[a] += Double(p[a]) }
            count += 1
        } } }
        guard let first = voxels.first else {
            throw PipelineError("the label vanishes when resized to the zoom-out size; it is too small to prompt from")
        }
        let centroid = sum.map { $0 / count }
        func distance(_ p: [Int]) -> Double {
            var total = 0.0
            for a in 0..<3 { total += (Double(p[a]) - centroid[a]) * (Double(p[a]) - centroid[a]) }
            return total
        }
        let central = voxels.min { distance($0) < distance($1) } ?? first
        return ((lo + hi).map(Float.init), Prompt.Point(d: Float(central[0]), h: Float(central[1]), w: Float(central[2]), positive: true))
    }
}
