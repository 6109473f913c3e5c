import ArgumentParser
import Foundation
import Volume

struct DICOMInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dicom-info",
        abstract: "List the DICOM series in a folder (searched recursively) or a file.",
        discussion: """
            One line per series: SeriesInstanceUID, modality, description, slices, size, voxel spacing (slice \
            spacing from the positions) and transfer syntax. Pass a UID to --series of segment, evaluate or \
            convert to pick that series.

            Example:
              segvol dicom-info ct_folder
            """)

    @Argument(help: "A folder holding DICOM files, or one DICOM file.")
    var path: String

    func run() throws {
        reportingErrors { try list() }
    }

    private func list() throws {
        let url = URL(fileURLWithPath: path)
        let scan = try DICOMScan(url)
        for series in scan.series {
            let spacing: String
            do {
                spacing = try series.voxelSpacing(folder: url).map { String(format: "%.4g", $0) }.joined(separator: " x ") + " mm"
            } catch {
                spacing = "no regular grid (\(error))"
            }
            let description = series.seriesDescription.isEmpty ? "" : " \"\(series.seriesDescription)\""
            print("\(series.displayUID)  \(series.modality.isEmpty ? "-" : series.modality)\(description), "
                + "\(series.slices.count) slices of \(series.columns)x\(series.rows), spacing \(spacing), "
                + series.transferSyntaxNames.joined(separator: " + "))
        }
        print("\(scan.series.count) series; \(scan.skippedFiles) files skipped (not DICOM, or DICOM without an image)")
    }
}
