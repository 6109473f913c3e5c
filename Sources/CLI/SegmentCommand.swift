import ArgumentParser
import Foundation
import Kernels
import Model
import Volume

struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Segment a CT from text, box and point prompts.",
        discussion: """
            Coordinates are voxel indices of the image as stored (i, j, k from 0), or millimetres with --world. \
            Each --text is one category (labels 1..n in that order); a single --box or the --point list applies to \
            every category, or give one --box per --text. Voxels claimed by several categories get the label of the \
            one with the highest logit.

            Examples:
              segvol segment --model SegVol --image ct.nii.gz --text liver --out liver.nii.gz
              segvol segment --model SegVol --image ct.nii.gz --text liver --text spleen --text "left kidney" --out-dir masks
              segvol segment --model SegVol --image ct.nii.gz --box 30,40,5,80,90,25 --out organ.nii.gz
              segvol segment --model SegVol --image ct.nii.gz --text liver --point 60,50,12:+ --point 20,20,3:- --out liver.nii.gz
              segvol segment --model SegVol --image ct.nii.gz --text aorta --json aorta.json --probabilities --out aorta.nii.gz
              segvol segment --model SegVol --image ct.nii.gz --text liver --text kidney_right --out seg.nii.gz --statistics stats.json --preview seg.png
              segvol segment --model SegVol --image ct.nii.gz --classes-file organs.txt --out seg.nii.gz
              segvol segment --model SegVol --image ct_dicom_folder --text liver --text spleen --out-seg organs.dcm

            Names are mapped through SegVol's vocabulary (`segvol classes`): TotalSegmentator names and other aliases \
            become the trained name, which also names the outputs; other text runs as typed, with a warning. With \
            --out, <stem>.labels.json and a 3D Slicer colour table <stem>.ctbl are written beside the label map.
            """)

    @Option(name: .long, help: "Model folder (pytorch_model.bin, vocab.json, tokenizer.json or merges.txt; model-config.json optional).")
    var model: String

    @Option(name: .long, help: "CT image: .nii/.nii.gz, a DICOM series folder or a multi-frame DICOM file.")
    var image: String

    @Option(name: .long, help: "SeriesInstanceUID to read when the DICOM folder holds several series (see dicom-info).")
    var series: String?

    @Option(name: .long, help: "A category name for the text prompt (repeatable).")
    var text: [String] = []

    @Option(name: .long, help: "Box i1,j1,k1,i2,j2,k2 (inclusive; repeatable: one per --text, or one for all).")
    var box: [String] = []

    @Option(name: .long, help: "Point i,j,k with :+ (positive, the default) or :- (negative); repeatable.")
    var point: [String] = []

    @Option(name: .long, help: "Read --box and --point as millimetres in this frame: ras or lps.")
    var world: String?

    @Option(name: .long, help: "Write one label map (uint8, labels 1..n in prompt order), on the input's grid.")
    var out: String?

    @Option(name: .long, help: "Write one mask per category, <name>.nii.gz, into this folder.")
    var outDir: String?

    @Flag(name: .long, help: "Also write each category's probability map (float32), <name>_probability.nii.gz beside the masks.")
    var probabilities = false

    @Option(name: .long, help: "Write a run summary: per category voxels, volume in ml, bounding box, zoom-in windows, seconds (--statistics measures more).")
    var json: String?

    @Option(name: .long, help: "Write a DICOM Segmentation (.dcm) over the source series: the DICOM input, or --reference-dicom.")
    var outSeg: String?

    @Option(name: .long, help: "For --out-seg with NIfTI input: the DICOM series the NIfTI was converted from (same grid).")
    var referenceDicom: String?

    @Flag(name: .long, help: "Only the global (zoom-out) pass.")
    var noZoomIn = false

    @Option(name: .long, help: "Box of each zoom-in window: published (the user's box for one window, else the global prediction's box in the window) or user (the user's zoom-out box in every window, as the shared fixtures were made).")
    var windowBox: ZoomPipeline.WindowBox = .published

    @OptionGroup var windowGridOption: WindowGridOption
    var windowGrid: ZoomPipeline.WindowGrid { windowGridOption.windowGrid }

    @OptionGroup var precisionOption: PrecisionOption
    var precision: Precision { precisionOption.precision }

    @Flag(name: .long, help: "Replace existing output files.")
    var overwrite = false

    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    @OptionGroup var vocabularyOptions: VocabularyOptions

    @OptionGroup var reportOptions: ReportOptions

    @OptionGroup var deviceOptions: DeviceOptions

    func run() throws {
        reportingErrors { try segment() }
    }

    private func segment() throws {
        guard out != nil || outDir != nil || json != nil || outSeg != nil || reportOptions.writesReports else {
            throw PipelineError("nothing to write: give --out, --out-dir, --json, --out-seg, --statistics or --preview")
        }
        try SegmentationOutput.checkOptions(image: image, outSeg: outSeg, referenceDicom: referenceDicom)
        _ = try reportOptions.displayWindow()  // a bad --window fails now, not after the model has run
        let texts = try vocabularyOptions.categoryNames(text: text)
        guard !texts.isEmpty || !box.isEmpty || !point.isEmpty else {
            throw PipelineError("no prompt: give --text, --classes-file, --box or --point")
        }
        if let world, !["ras", "lps"].contains(world) { throw PipelineError("--world must be ras or lps") }
        if !box.isEmpty && !point.isEmpty && !noZoomIn {
            throw PipelineError("box and point prompts cannot be mixed in the zoom-in pass (as in the published model); use one, or --no-zoom-in")
        }
        if box.count > 1 && box.count != texts.count {
            throw PipelineError("\(box.count) boxes for \(texts.count) text prompts: give one box, or one per --text")
        }
        let names = texts.isEmpty ? [box.isEmpty ? "points" : "box"] : texts

        // Every output is checked before any work.
        let outputs = OutputSet(overwrite: overwrite)
        if let outDir {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: outDir, isDirectory: &isDirectory) {
                try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
            } else if !isDirectory.boolValue {
                throw PipelineError("--out-dir \(outDir) is a file")
            }
        }
        let planned = plannedFiles(names)
        for url in planned.all { try outputs.plan(url) }

        let progress = progressReporter(quiet: quiet)
        progress?("loading the model")
        let backend = try makeBackend(deviceOptions)
        let model = try SegVolModel(modelDirectory: URL(fileURLWithPath: self.model), backend: backend, precision: precision)
        progress?("reading and preprocessing \(image)")
        let loaded = try LoadedCase(url: URL(fileURLWithPath: image), spatialSize: model.config.spatialSize, series: series)
        let prompts = try buildPrompts(names, hasText: !texts.isEmpty, loaded)
        let segmentation = try planned.segmentation.map { try SegmentationOutput(url: $0, loaded: loaded, referenceDicom: referenceDicom) }

        let pipeline = ZoomPipeline(model: model)
        pipeline.zoomIn = !noZoomIn
        pipeline.windowBox = windowBox
        pipeline.windowGrid = windowGrid
        pipeline.progress = progress
        let results = try pipeline.run(loaded.volume, prompts: prompts)
        if progress != nil { FileHandle.standardError.write(Data("\u{1B}[2K\r".utf8)) }

        do {
            try write(results, names: names, loaded: loaded, planned: planned, outputs: outputs, segmentation: segmentation)
            try outputs.commit()
        } catch {
            outputs.discard()
            throw error
        }
    }

    private struct Planned {
        var labelMap: URL?
        var masks: [URL] = []
        var probabilities: [URL] = []
        var json: URL?
        var segmentation: URL?
        var reports = ReportFiles()
        var all: [URL] { [labelMap, json, segmentation].compactMap { $0 } + masks + probabilities + reports.all }
    }

    private func plannedFiles(_ names: [String]) -> Planned {
        var planned = Planned()
        planned.labelMap = out.map { URL(fileURLWithPath: $0) }
        planned.json = json.map { URL(fileURLWithPath: $0) }
        planned.reports = reportOptions.plannedFiles(labelMap: planned.labelMap)
        planned.segmentation = outSeg.map { URL(fileURLWithPath: $0) }
        if let outDir {
            planned.masks = names.map { URL(fileURLWithPath: outDir).appendingPathComponent(fileName(for: $0) + ".nii.gz") }
        }
        if probabilities {
            let folder = outDir.map { URL(fileURLWithPath: $0) }
                ?? planned.labelMap?.deletingLastPathComponent() ?? URL(fileURLWithPath: ".")
            planned.probabilities = names.map { folder.appendingPathComponent(fileName(for: $0) + "_probability.nii.gz") }
        }
        return planned
    }

    /// Prompts in zoom-out coordinates, validated against the image.
    private func buildPrompts(_ names: [String], hasText: Bool, _ loaded: LoadedCase) throws -> [Prompt] {
        let dims = loaded.image.header.dims
        let boxes = try box.map { text -> [Float] in
            let corners = try parseNumbers(text, count: 6, option: "--box")
            let a = try voxel(Array(corners[0..<3]), loaded), b = try voxel(Array(corners[3..<6]), loaded)
            guard (0..<3).allSatisfy({ a[$0] <= b[$0] }) else {
                throw PipelineError("--box \(text) is empty: each first corner index must not exceed the second")
            }
            for p in [a, b] where !(0..<3).allSatisfy({ p[$0] >= 0 && p[$0] < dims[$0] }) {
                throw PipelineError("--box \(text) is outside the image (\(dims[0])x\(dims[1])x\(dims[2]) voxels)")
            }
            return try loaded.geometry.zoomOutBox(stored: a + b)
        }
        let points = try point.map { text -> Prompt.Point in
            let parts = text.split(separator: ":")
            guard parts.count <= 2, parts.count >= 1, parts.count == 1 || ["+", "-"].contains(String(parts[1])) else {
                throw PipelineError("--point \(text): expected i,j,k or i,j,k:+ or i,j,k:-")
            }
            let p = try voxel(try parseNumbers(String(parts[0]), count: 3, option: "--point"), loaded)
            guard (0..<3).allSatisfy({ p[$0] >= 0 && p[$0] < dims[$0] }) else {
                throw PipelineError("--point \(text) is outside the image (\(dims[0])x\(dims[1])x\(dims[2]) voxels)")
            }
            guard let zoomed = loaded.geometry.zoomOutPoint(p[0], p[1], p[2]) else {
                throw PipelineError("--point \(text) lies in the background the preprocessing crops away")
            }
            return Prompt.Point(d: zoomed[0], h: zoomed[1], w: zoomed[2], positive: parts.count == 1 || parts[1] == "+")
        }
        return names.enumerated().map { index, name in
            Prompt(text: hasText ? name : nil,
                   box: boxes.isEmpty ? nil : boxes[boxes.count == 1 ? 0 : index],
                   points: points)
        }
    }

    /// Voxel indices from the given numbers: as they are, or millimetres through the inverse affine.
    private func voxel(_ values: [Double], _ loaded: LoadedCase) throws -> [Int] {
        guard let world else {
            guard values.allSatisfy({ $0 == $0.rounded() }) else { throw PipelineError("voxel indices must be integers: \(values)") }
            return values.map { Int($0) }
        }
        var ras = values
        if world == "lps" { ras[0] = -ras[0]; ras[1] = -ras[1] }
        return try invertAffine(loaded.image.header.affine, ras).map { Int($0.rounded()) }
    }

    private func write(_ results: [ZoomPipeline.CategoryResult], names: [String], loaded: LoadedCase, planned: Planned,
                       outputs: OutputSet, segmentation: SegmentationOutput?) throws {
        let header = loaded.image.header
        let geometry = loaded.geometry
        let stored = try results.concurrentMap { geometry.toStored($0.logits, fill: -Float.infinity) }
        if let url = planned.labelMap {
            try NIfTI.write(mask: labelMap(results.map(\.logits), geometry: geometry), like: header, to: outputs.stage(url))
        }
        for (c, url) in planned.masks.enumerated() {
            try NIfTI.write(mask: stored[c].map { $0 > 0 ? 1 : 0 }, like: header, to: outputs.stage(url))
        }
        try segmentation?.write(stored: stored, names: names, model: model, outputs: outputs)
        for (c, url) in planned.probabilities.enumerated() {
            try NIfTI.write(float32: stored[c].map { 1 / (1 + exp(-$0)) }, like: header, to: outputs.stage(url))
        }
        let statistics = try ReportOptions.write(planned.reports, stored: stored, names: names, image: loaded.image,
                                                 imagePath: image, window: try reportOptions.displayWindow(), stage: outputs.stage)
        if let url = planned.json {
            var categories: [[String: Any]] = []
            // From --statistics where it ran, else one pass over each category's logits.
            let dims = header.dims
            let boxes = try statistics.map { $0.map { (count: $0.voxels, box: $0.boundingBoxVoxels ?? []) } }
                ?? stored.concurrentMap { logits in positiveBox(logits, dims: dims) }
            for c in stored.indices {
                let (count, box) = boxes[c]
                categories.append([
                    "name": names[c], "label": c + 1, "voxels": count,
                    "volume_ml": Double(count) * loaded.voxelMillilitres,
                    "bounding_box": box,
                    "zoom_in_windows": results[c].windows,
                    "seconds": results[c].seconds,
                ])
            }
            let document: [String: Any] = ["image": image, "model": model, "categories": categories]
            try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
                .write(to: outputs.stage(url))
        }
    }
}

/// The positive voxels of a stored-order volume: their count and inclusive box i1, j1, k1, i2, j2, k2 (empty if none).
func positiveBox(_ values: [Float], dims: [Int]) -> (count: Int, box: [Int]) {
    var count = 0
    var lower = SIMD3(Int.max, Int.max, Int.max), upper = SIMD3(-1, -1, -1)
    var v = 0
    for k in 0..<dims[2] {
        for j in 0..<dims[1] {
            for i in 0..<dims[0] {
                if values[v] > 0 {
                    count += 1
                    lower = pointwiseMin(lower, SIMD3(i, j, k))
                    upper = pointwiseMax(upper, SIMD3(i, j, k))
                }
                v += 1
            }
        }
    }
    return (count, count > 0 ? [lower.x, lower.y, lower.z, upper.x, upper.y, upper.z] : [])
}

/// Voxel coordinates of a RAS point through the inverse of a 4x4 affine.
func invertAffine(_ a: [[Double]], _ p: [Double]) throws -> [Double] {
    let m = (0..<3).map { r in (0..<3).map { a[r][$0] } }
    let det = determinant3(m)
    guard abs(det) > 1e-12 else { throw PipelineError("the image's affine is singular; use voxel indices") }
    let b = (0..<3).map { p[$0] - a[$0][3] }
    // Cramer's rule.
    return (0..<3).map { column in
        var replaced = m
        for r in 0..<3 { replaced[r][column] = b[r] }
        return determinant3(replaced) / det
    }
}
