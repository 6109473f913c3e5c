import Foundation
import Volume

/// Reads --image (NIfTI, DICOM folder or DICOM file) with a one-line error for a missing path, and
/// prints the reader's warnings (a series that is not CT, say) on stderr.
func readInput(_ path: String, series: String?) throws -> InputImage {
    let url = URL(fileURLWithPath: path)
    guard FileManager.default.fileExists(atPath: url.path) else { throw PipelineError("\(url.path): no such file") }
    let input = try InputImage.read(url, seriesUID: series)
    for warning in input.warnings { FileHandle.standardError.write(Data("segvol: warning: \(warning)\n".utf8)) }
    return input
}
