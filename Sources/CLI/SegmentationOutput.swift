import Foundation
import Volume

/// `segment --out-seg`: the DICOM series the DICOM-SEG refers to (the input itself, or
/// --reference-dicom for NIfTI input) and how the masks reach its grid.
struct SegmentationOutput {
    let url: URL
    let source: DICOMVolume
    /// Nil when the input is the series itself; else the NIfTI input's voxels on the series' grid.
    let mapping: GridMapping?

    /// Checks the options before any work: NIfTI input needs the series it came from.
    static func checkOptions(image: String, outSeg: String?, referenceDicom: String?) throws {
        guard outSeg != nil else {
            if referenceDicom != nil { throw PipelineError("--reference-dicom is for --out-seg") }
            return
        }
        if !InputImage.isDICOM(URL(fileURLWithPath: image)) && referenceDicom == nil {
            throw PipelineError("--out-seg with NIfTI input needs the source DICOM series: give --reference-dicom DIR")
        }
    }

    /// The series to refer to, checked for the UIDs a DICOM-SEG needs and for a grid the masks fit.
    init(url: URL, loaded: LoadedCase, referenceDicom: String?) throws {
        self.url = url
        if let dicom = loaded.dicom {
            source = dicom
            mapping = nil
        } else {
            let reference = referenceDicom ?? ""
            guard let series = try readInput(reference, series: nil).dicom else {
                throw PipelineError("--reference-dicom \(reference): not a DICOM folder or file")
            }
            source = series
            mapping = try GridMapping(nifti: loaded.image.header, series: source)
        }
        try DICOMSegmentation.checkReferences(source)
    }

    /// One segment per category: the mask (logit > 0) on the series' grid.
    func write(stored: [[Float]], names: [String], model: String, outputs: OutputSet) throws {
        let segments = zip(names, stored).map { name, logits -> SegmentationSegment in
            let mask = logits.map { $0 > 0 }
            return SegmentationSegment(label: name, mask: mapping?.onSeriesGrid(mask) ?? mask)
        }
        let algorithm = SegmentationAlgorithm(
            name: "SegVol", version: "model \(URL(fileURLWithPath: model).lastPathComponent), engine \(engineVersion)",
            source: "segvol engine (Swift, Vulkan)")
        try DICOMSegmentation.write(segments, source: source, algorithm: algorithm, to: outputs.stage(url))
    }
}
