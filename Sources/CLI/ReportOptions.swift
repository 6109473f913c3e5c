import ArgumentParser
import Foundation
import Volume

/// The reports a command can write beside its masks: statistics and a preview image.
struct ReportOptions: ParsableArguments {
    @Option(name: .long, help: "Write per-category statistics (JSON): voxels, volume in ml, mean, std, min, median and max HU, bounding box in voxels and mm, centroid in RAS and LPS.")
    var statistics: String?

    @Option(name: .long, help: "Write a PNG preview: axial, coronal and sagittal slices through each category's centroid, masks outlined, with a legend.")
    var preview: String?

    @Option(name: .long, help: "CT window of the preview: width,level in HU (default 400,40: abdomen; 1500,-600 for lung, 1800,400 for bone).")
    var window: String?

    var writesReports: Bool { statistics != nil || preview != nil }

    func displayWindow() throws -> DisplayWindow {
        guard let window else { return .abdomen }
        guard preview != nil else { throw PipelineError("--window sets the preview's CT window; give --preview too") }
        let values = try parseNumbers(window, count: 2, option: "--window")
        guard values[0] > 0 else { throw PipelineError("--window \(window): the width must be positive") }
        return DisplayWindow(width: values[0], level: values[1])
    }

    /// The report files, and the label table files beside a label map when one is written.
    func plannedFiles(labelMap: URL?) -> ReportFiles {
        ReportFiles(statistics: statistics.map { URL(fileURLWithPath: $0) },
                    preview: preview.map { URL(fileURLWithPath: $0) },
                    labelTable: labelMap.map(LabelTable.companionFiles))
    }
}

struct ReportFiles {
    var statistics: URL?
    var preview: URL?
    var labelTable: (labels: URL, colourTable: URL)?

    var all: [URL] { [statistics, preview, labelTable?.labels, labelTable?.colourTable].compactMap { $0 } }
}

extension ReportOptions {
    /// Writes the label table, statistics and preview of one case from each category's logits on the input grid;
    /// every category is measured and drawn with its own mask (logits > 0), as in --out-dir.
    /// `stage` maps each final file to the path it is written to (a temporary name for `OutputSet`).
    /// Returns each category's statistics when `files` asks for them (callers take voxel counts and boxes from them).
    @discardableResult
    static func write(_ files: ReportFiles, stored: [[Float]], names: [String], image: NIfTIImage, imagePath: String,
                      window: DisplayWindow = .abdomen, stage: (URL) -> URL) throws -> [CategoryStatistics]? {
        guard !files.all.isEmpty else { return nil }
        let table = LabelTable(names: names)
        if let (labels, colourTable) = files.labelTable {
            try table.jsonData().write(to: stage(labels))
            try Data(table.slicerColourTable(fileName: colourTable.lastPathComponent).utf8).write(to: stage(colourTable))
        }
        guard files.statistics != nil || files.preview != nil else { return nil }
        let masks = try stored.concurrentMap { logits in logits.map { $0 > 0 ? UInt8(1) : 0 } }
        var statistics: [CategoryStatistics]?
        if let url = files.statistics {
            let categories = try Array(masks.indices).concurrentMap { index in
                try CategoryStatistics(label: index + 1, name: names[index], mask: masks[index], image: image)
            }
            try StatisticsReport(image: imagePath, header: image.header, categories: categories).jsonData()
                .write(to: stage(url))
            statistics = categories
        }
        if let url = files.preview {
            let preview = try PreviewRenderer.render(image: image, masks: masks, labels: table, window: window,
                                                     title: URL(fileURLWithPath: imagePath).lastPathComponent)
            try PNGEncoder.encode(preview.image).write(to: stage(url))
        }
        return statistics
    }
}
