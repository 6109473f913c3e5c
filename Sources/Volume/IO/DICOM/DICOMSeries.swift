import Foundation

/// One image plane of a series: a single-frame file, or one frame of a multi-frame file.
public struct DICOMSlice {
    public let file: URL
    /// The frame in its file, from 0.
    public let frameIndex: Int
    let isMultiFrame: Bool
    public let sopInstanceUID: String
    public let sopClassUID: String
    let format: PixelFormat
    let transferSyntax: TransferSyntax
    /// Image Position (Patient): the centre of the first voxel, LPS millimetres.
    public let position: [Double]
    /// Image Orientation (Patient): the row direction (along a row, columns increasing), then the column direction.
    public let orientation: [Double]
    /// Pixel Spacing: between rows, then between columns.
    public let pixelSpacing: [Double]
    let rescaleSlope: Double
    let rescaleIntercept: Double
}

/// The slices of one SeriesInstanceUID, with the attributes a DICOM-SEG copies from its source.
public struct DICOMSeries {
    /// Empty for files without one.
    public let seriesInstanceUID: String
    public let modality: String
    public let seriesDescription: String
    /// Slices in the order found; `SeriesGeometry` sorts them.
    public internal(set) var slices: [DICOMSlice]
    /// The first file's header: patient, study and frame of reference attributes.
    let firstHeader: DICOMDataSet

    public var displayUID: String { seriesInstanceUID.isEmpty ? "(no SeriesInstanceUID)" : seriesInstanceUID }
    public var studyInstanceUID: String? { firstHeader.string(.studyInstanceUID) }
    public var frameOfReferenceUID: String? { firstHeader.string(.frameOfReferenceUID) }
    public var transferSyntaxNames: [String] { Array(Set(slices.map(\.transferSyntax.name))).sorted() }
    public var rows: Int { slices[0].format.rows }
    public var columns: Int { slices[0].format.columns }
    /// Objects that are not image volumes (segmentations, structure sets, reports) are never picked as the CT.
    public var isVolumeCandidate: Bool { !["SEG", "RTSTRUCT", "SR", "PR", "KO", "REG", "DOC"].contains(modality) }
}

/// The DICOM series found in a folder (searched recursively) or in one file.
public struct DICOMScan {
    public let root: URL
    public private(set) var series: [DICOMSeries] = []
    /// Files that are not DICOM Part 10 files, or DICOM files without an image (a DICOMDIR, say).
    public private(set) var skippedFiles = 0

    public init(_ url: URL) throws {
        root = url
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw DICOMError(url, "no such file or folder")
        }
        let files = isDirectory.boolValue ? try Self.files(in: url) : [url]
        var byUID: [String: Int] = [:]
        for file in files {
            guard DICOMFile.looksLikePart10(file) else {
                skippedFiles += 1
                continue
            }
            let header = try DICOMFile(url: file, headerOnly: true)
            let set = header.dataSet
            guard set.contains(.rows), set.contains(.columns) else {
                skippedFiles += 1
                continue
            }
            // Anonymisers sometimes empty the UIDs; such files form one series of their own.
            let seriesUID = set.string(.seriesInstanceUID) ?? ""

            let slices = try Self.slices(of: header)
            if let index = byUID[seriesUID] {
                series[index].slices += slices
            } else {
                byUID[seriesUID] = series.count
                series.append(DICOMSeries(seriesInstanceUID: seriesUID, modality: set.string(.modality) ?? "",
                                          seriesDescription: set.string(.seriesDescription) ?? "",
                                          slices: slices, firstHeader: set))
            }
        }
    }

    /// Regular files under `folder`, hidden ones excluded, in path order.
    private static func files(in folder: URL) throws -> [URL] {
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey],
                                                          options: [.skipsHiddenFiles]) else {
            throw DICOMError(folder, "cannot list the folder")
        }
        var files: [URL] = []
        for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
            files.append(url)
        }
        return files.sorted { $0.path < $1.path }
    }

    /// The slices of one file: itself, or each frame of an enhanced multi-frame image, whose
    /// geometry and rescale sit in per-frame or shared functional groups (PS3.3 C.7.6.16).
    private static func slices(of file: DICOMFile) throws -> [DICOMSlice] {
        let set = file.dataSet
        do {
            let format = try PixelFormat(set)
            let sopInstance = set.string(.sopInstanceUID) ?? ""
            let sopClass = set.string(.sopClassUID) ?? ""
            let perFrame = try set.sequence(.perFrameFunctionalGroupsSequence)
            let shared = try set.sequence(.sharedFunctionalGroupsSequence).first
            if format.frameCount > 1 && perFrame.count != format.frameCount {
                throw DICOMParseError("\(format.frameCount) frames but \(perFrame.count) per-frame functional groups; "
                    + "the frames' positions are unknown")
            }
            let groups: [DICOMDataSet?] = perFrame.isEmpty ? [nil] : perFrame
            return try groups.enumerated().map { index, frame in
                // A frame's value comes from its own group, else the shared group, else the top level.
                func attribute(_ sequence: DICOMTag, _ tag: DICOMTag) throws -> [Double]? {
                    if let value = try frame?.sequence(sequence).first?.numbers(tag) { return value }
                    if let value = try shared?.sequence(sequence).first?.numbers(tag) { return value }
                    return set.numbers(tag)
                }
                guard let position = try attribute(.planePositionSequence, .imagePositionPatient), position.count == 3,
                      let orientation = try attribute(.planeOrientationSequence, .imageOrientationPatient), orientation.count == 6,
                      let spacing = try attribute(.pixelMeasuresSequence, .pixelSpacing), spacing.count == 2 else {
                    throw DICOMParseError("no Image Position, Image Orientation or Pixel Spacing" + (frame == nil ? "" : " for frame \(index + 1)"))
                }
                let slope = try attribute(.pixelValueTransformationSequence, .rescaleSlope)?.first ?? 1
                let intercept = try attribute(.pixelValueTransformationSequence, .rescaleIntercept)?.first ?? 0
                return DICOMSlice(file: file.url, frameIndex: index, isMultiFrame: format.frameCount > 1,
                                  sopInstanceUID: sopInstance, sopClassUID: sopClass, format: format,
                                  transferSyntax: file.transferSyntax, position: position, orientation: orientation,
                                  pixelSpacing: spacing, rescaleSlope: slope, rescaleIntercept: intercept)
            }
        } catch let error as DICOMParseError {
            throw DICOMError(file.url, error.reason)
        }
    }

    /// The series to load: `uid` when given; else the only CT series; else the only image series
    /// (with a warning that it is not CT).
    public func select(_ uid: String?) throws -> (series: DICOMSeries, warnings: [String]) {
        let candidates = series.filter(\.isVolumeCandidate)
        let chosen: DICOMSeries
        if let uid {
            guard let match = series.first(where: { $0.seriesInstanceUID == uid }) else {
                throw DICOMError(root, "no series \(uid) here; series: " + listing(series))
            }
            chosen = match
        } else {
            let ct = candidates.filter { $0.modality == "CT" }
            if ct.count == 1 {
                chosen = ct[0]
            } else if ct.count > 1 {
                throw DICOMError(root, "\(ct.count) CT series; pick one with --series: " + listing(ct))
            } else if candidates.count == 1 {
                chosen = candidates[0]
            } else if candidates.isEmpty {
                throw DICOMError(root, "no DICOM image series found (\(skippedFiles) files skipped: not DICOM, or DICOM without an image)")
            } else {
                throw DICOMError(root, "\(candidates.count) image series and none is CT; pick one with --series: " + listing(candidates))
            }
        }
        var warnings: [String] = []
        if chosen.modality != "CT" {
            warnings.append("series \(chosen.displayUID) has modality \(chosen.modality.isEmpty ? "(none)" : chosen.modality), "
                + "not CT; SegVol was trained on CT and Hounsfield units")
        }
        return (chosen, warnings)
    }

    private func listing(_ list: [DICOMSeries]) -> String {
        list.map { "\($0.displayUID) (\($0.modality), \($0.slices.count) slices\($0.seriesDescription.isEmpty ? "" : ", \"\($0.seriesDescription)\""))" }
            .joined(separator: "; ")
    }
}
