/// A DICOM attribute tag (group, element).
public struct DICOMTag: Hashable, Comparable, CustomStringConvertible {
    public let group: UInt16
    public let element: UInt16

    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    public static func < (a: DICOMTag, b: DICOMTag) -> Bool {
        (a.group, a.element) < (b.group, b.element)
    }

    public var description: String {
        func hex(_ value: UInt16) -> String {
            let digits = String(value, radix: 16, uppercase: true)
            return String(repeating: "0", count: 4 - digits.count) + digits
        }
        return "(\(hex(group)),\(hex(element)))"
    }
}

/// The tags this engine reads or writes, named as in the standard's data dictionary (PS3.6).
extension DICOMTag {
    // File meta information.
    static let fileMetaGroupLength = DICOMTag(0x0002, 0x0000)
    static let fileMetaVersion = DICOMTag(0x0002, 0x0001)
    static let mediaStorageSOPClassUID = DICOMTag(0x0002, 0x0002)
    static let mediaStorageSOPInstanceUID = DICOMTag(0x0002, 0x0003)
    static let transferSyntaxUID = DICOMTag(0x0002, 0x0010)
    static let implementationClassUID = DICOMTag(0x0002, 0x0012)
    static let implementationVersionName = DICOMTag(0x0002, 0x0013)

    // Patient, study, series, instance.
    static let specificCharacterSet = DICOMTag(0x0008, 0x0005)
    static let imageType = DICOMTag(0x0008, 0x0008)
    static let sopClassUID = DICOMTag(0x0008, 0x0016)
    static let sopInstanceUID = DICOMTag(0x0008, 0x0018)
    static let studyDate = DICOMTag(0x0008, 0x0020)
    static let seriesDate = DICOMTag(0x0008, 0x0021)
    static let contentDate = DICOMTag(0x0008, 0x0023)
    static let studyTime = DICOMTag(0x0008, 0x0030)
    static let seriesTime = DICOMTag(0x0008, 0x0031)
    static let contentTime = DICOMTag(0x0008, 0x0033)
    static let accessionNumber = DICOMTag(0x0008, 0x0050)
    static let modality = DICOMTag(0x0008, 0x0060)
    static let manufacturer = DICOMTag(0x0008, 0x0070)
    static let referringPhysicianName = DICOMTag(0x0008, 0x0090)
    static let codeValue = DICOMTag(0x0008, 0x0100)
    static let codingSchemeDesignator = DICOMTag(0x0008, 0x0102)
    static let codeMeaning = DICOMTag(0x0008, 0x0104)
    static let studyDescription = DICOMTag(0x0008, 0x1030)
    static let seriesDescription = DICOMTag(0x0008, 0x103E)
    static let manufacturerModelName = DICOMTag(0x0008, 0x1090)
    static let referencedSeriesSequence = DICOMTag(0x0008, 0x1115)
    static let referencedInstanceSequence = DICOMTag(0x0008, 0x114A)
    static let referencedSOPClassUID = DICOMTag(0x0008, 0x1150)
    static let referencedSOPInstanceUID = DICOMTag(0x0008, 0x1155)
    static let referencedFrameNumber = DICOMTag(0x0008, 0x1160)
    static let sourceImageSequence = DICOMTag(0x0008, 0x2112)
    static let derivationImageSequence = DICOMTag(0x0008, 0x9124)
    static let derivationCodeSequence = DICOMTag(0x0008, 0x9215)
    static let purposeOfReferenceCodeSequence = DICOMTag(0x0040, 0xA170)
    static let patientName = DICOMTag(0x0010, 0x0010)
    static let patientID = DICOMTag(0x0010, 0x0020)
    static let patientBirthDate = DICOMTag(0x0010, 0x0030)
    static let patientSex = DICOMTag(0x0010, 0x0040)
    static let sliceThickness = DICOMTag(0x0018, 0x0050)
    static let spacingBetweenSlices = DICOMTag(0x0018, 0x0088)
    static let deviceSerialNumber = DICOMTag(0x0018, 0x1000)
    static let softwareVersions = DICOMTag(0x0018, 0x1020)
    static let studyInstanceUID = DICOMTag(0x0020, 0x000D)
    static let seriesInstanceUID = DICOMTag(0x0020, 0x000E)
    static let studyID = DICOMTag(0x0020, 0x0010)
    static let seriesNumber = DICOMTag(0x0020, 0x0011)
    static let instanceNumber = DICOMTag(0x0020, 0x0013)
    static let imagePositionPatient = DICOMTag(0x0020, 0x0032)
    static let imageOrientationPatient = DICOMTag(0x0020, 0x0037)
    static let frameOfReferenceUID = DICOMTag(0x0020, 0x0052)
    static let positionReferenceIndicator = DICOMTag(0x0020, 0x1040)
    static let dimensionOrganizationUID = DICOMTag(0x0020, 0x9164)
    static let dimensionOrganizationSequence = DICOMTag(0x0020, 0x9221)
    static let dimensionIndexSequence = DICOMTag(0x0020, 0x9222)
    static let dimensionIndexPointer = DICOMTag(0x0020, 0x9165)
    static let functionalGroupPointer = DICOMTag(0x0020, 0x9167)
    static let frameContentSequence = DICOMTag(0x0020, 0x9111)
    static let dimensionIndexValues = DICOMTag(0x0020, 0x9157)
    static let planePositionSequence = DICOMTag(0x0020, 0x9113)
    static let planeOrientationSequence = DICOMTag(0x0020, 0x9116)

    // Image pixel description.
    static let samplesPerPixel = DICOMTag(0x0028, 0x0002)
    static let photometricInterpretation = DICOMTag(0x0028, 0x0004)
    static let numberOfFrames = DICOMTag(0x0028, 0x0008)
    static let rows = DICOMTag(0x0028, 0x0010)
    static let columns = DICOMTag(0x0028, 0x0011)
    static let pixelSpacing = DICOMTag(0x0028, 0x0030)
    static let bitsAllocated = DICOMTag(0x0028, 0x0100)
    static let bitsStored = DICOMTag(0x0028, 0x0101)
    static let highBit = DICOMTag(0x0028, 0x0102)
    static let pixelRepresentation = DICOMTag(0x0028, 0x0103)
    static let lossyImageCompression = DICOMTag(0x0028, 0x2110)
    static let rescaleIntercept = DICOMTag(0x0028, 0x1052)
    static let rescaleSlope = DICOMTag(0x0028, 0x1053)
    static let pixelMeasuresSequence = DICOMTag(0x0028, 0x9110)
    static let pixelValueTransformationSequence = DICOMTag(0x0028, 0x9145)

    // Segmentation.
    static let segmentationType = DICOMTag(0x0062, 0x0001)
    static let segmentSequence = DICOMTag(0x0062, 0x0002)
    static let segmentedPropertyCategoryCodeSequence = DICOMTag(0x0062, 0x0003)
    static let segmentNumber = DICOMTag(0x0062, 0x0004)
    static let segmentLabel = DICOMTag(0x0062, 0x0005)
    static let segmentationAlgorithmIdentificationSequence = DICOMTag(0x0062, 0x0007)
    static let segmentAlgorithmType = DICOMTag(0x0062, 0x0008)
    static let segmentAlgorithmName = DICOMTag(0x0062, 0x0009)
    static let segmentIdentificationSequence = DICOMTag(0x0062, 0x000A)
    static let referencedSegmentNumber = DICOMTag(0x0062, 0x000B)
    static let segmentedPropertyTypeModifierCodeSequence = DICOMTag(0x0062, 0x0011)
    static let segmentedPropertyTypeCodeSequence = DICOMTag(0x0062, 0x000F)
    static let anatomicRegionSequence = DICOMTag(0x0008, 0x2218)
    static let anatomicRegionModifierSequence = DICOMTag(0x0008, 0x2220)
    static let contentLabel = DICOMTag(0x0070, 0x0080)
    static let contentDescription = DICOMTag(0x0070, 0x0081)
    static let contentCreatorName = DICOMTag(0x0070, 0x0084)
    static let algorithmFamilyCodeSequence = DICOMTag(0x0066, 0x002F)
    static let algorithmVersion = DICOMTag(0x0066, 0x0031)
    static let algorithmName = DICOMTag(0x0066, 0x0036)
    static let algorithmSource = DICOMTag(0x0024, 0x0202)

    // Multi-frame functional groups and pixel data.
    static let sharedFunctionalGroupsSequence = DICOMTag(0x5200, 0x9229)
    static let perFrameFunctionalGroupsSequence = DICOMTag(0x5200, 0x9230)
    static let pixelData = DICOMTag(0x7FE0, 0x0010)

    // Encapsulation items and delimiters (PS3.5 7.5).
    static let item = DICOMTag(0xFFFE, 0xE000)
    static let itemDelimitation = DICOMTag(0xFFFE, 0xE00D)
    static let sequenceDelimitation = DICOMTag(0xFFFE, 0xE0DD)
}
