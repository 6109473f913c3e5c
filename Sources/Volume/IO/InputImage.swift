import Foundation

/// A CT as the commands take it: a NIfTI file, a folder holding a DICOM series, or a DICOM file
/// (multi-frame). Either way the pipeline sees a `NIfTIImage`: voxels in stored order and a header
/// with the RAS affine.
public struct InputImage {
    public let image: NIfTIImage
    /// The source series when the input is DICOM (what a DICOM-SEG refers to).
    public let dicom: DICOMVolume?
    public var warnings: [String] { dicom?.warnings ?? [] }

    /// Reads `url`; `seriesUID` picks a series among several in a DICOM folder.
    public static func read(_ url: URL, seriesUID: String? = nil) throws -> InputImage {
        if isDICOM(url) {
            let volume = try DICOMVolume.read(url, seriesUID: seriesUID)
            return InputImage(image: volume.image, dicom: volume)
        }
        if seriesUID != nil { throw DICOMError(url, "--series applies to DICOM input; this is not a DICOM folder or file") }
        return InputImage(image: try NIfTI.read(url), dicom: nil)
    }

    /// A folder is read as DICOM; so is a file with the Part 10 "DICM" prefix.
    public static func isDICOM(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return false }
        return isDirectory.boolValue || DICOMFile.looksLikePart10(url)
    }
}
