import ArgumentParser
import Foundation
import Volume

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Write the volume segment reads from --image as NIfTI (DICOM series in, .nii.gz out).",
        discussion: """
            The values are those the model sees (Hounsfield units after each slice's rescale), int16 where every \
            value fits, float32 otherwise; the affine is the one derived from the DICOM geometry (RAS).

            Example:
              segvol convert --image ct_folder --out ct.nii.gz
            """)

    @Option(name: .long, help: "CT image: .nii/.nii.gz, a DICOM series folder or a multi-frame DICOM file.")
    var image: String

    @Option(name: .long, help: "SeriesInstanceUID to read when the folder holds several series (see dicom-info).")
    var series: String?

    @Option(name: .long, help: "Output NIfTI file (.nii or .nii.gz).")
    var out: String

    @Flag(name: .long, help: "Replace an existing output file.")
    var overwrite = false

    func run() throws {
        reportingErrors { try convert() }
    }

    private func convert() throws {
        let outputs = OutputSet(overwrite: overwrite)
        let url = URL(fileURLWithPath: out)
        try outputs.plan(url)
        let input = try readInput(image, series: series)
        let data = input.image.data
        do {
            if data.allSatisfy({ $0 == $0.rounded() && $0 >= -32768 && $0 <= 32767 }) {
                try NIfTI.write(int16: data.map { Int16($0) }, like: input.image.header, to: outputs.stage(url))
            } else {
                try NIfTI.write(float32: data, like: input.image.header, to: outputs.stage(url))
            }
            try outputs.commit()
        } catch {
            outputs.discard()
            throw error
        }
    }
}
