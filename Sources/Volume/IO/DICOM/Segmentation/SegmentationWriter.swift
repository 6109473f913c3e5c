import Foundation

/// Who made a segmentation, for each segment's algorithm identification.
public struct SegmentationAlgorithm {
    public let name: String
    public let version: String
    public let source: String

    public init(name: String, version: String, source: String) {
        self.name = name
        self.version = version
        self.source = source
    }
}

/// One segment: its label (the prompt's name) and its mask on the source series' grid, in the
/// order of `DICOMVolume.image.data` (column fastest, then row, then slice along the normal).
public struct SegmentationSegment {
    public let label: String
    public let mask: [Bool]

    public init(label: String, mask: [Bool]) {
        self.label = label
        self.mask = mask
    }
}

/// Writes a DICOM Segmentation (BINARY, PS3.3 A.51) over a source series: one segment per category,
/// one frame per segment and slice where that segment is present, each frame placed by its plane
/// position and referencing its source image, as OHIF and 3D Slicer expect.
public enum DICOMSegmentation {
    static let segmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4"
    private static let sourceImagePurpose = CodedConcept("121322", "DCM", "Source image for image processing operation")
    private static let segmentationDerivation = CodedConcept("113076", "DCM", "Segmentation")
    private static let artificialIntelligence = CodedConcept("123110", "DCM", "Artificial Intelligence")

    /// Checks that the source series carries what a DICOM-SEG must reference; call before any work.
    public static func checkReferences(_ source: DICOMVolume) throws {
        var missing: [String] = []
        if source.series.studyInstanceUID == nil { missing.append("StudyInstanceUID") }
        if source.series.seriesInstanceUID.isEmpty { missing.append("SeriesInstanceUID") }
        if source.series.frameOfReferenceUID == nil { missing.append("FrameOfReferenceUID") }
        if source.slices.contains(where: { $0.sopInstanceUID.isEmpty || $0.sopClassUID.isEmpty }) {
            missing.append("SOPInstanceUID or SOPClassUID")
        }
        if !missing.isEmpty {
            throw DICOMError(source.series.slices[0].file.deletingLastPathComponent(),
                             "the source series has no \(missing.joined(separator: ", ")) (anonymised?); a DICOM-SEG cannot refer to it")
        }
    }

    public static func write(_ segments: [SegmentationSegment], source: DICOMVolume, algorithm: SegmentationAlgorithm,
                             to url: URL) throws {
        try checkReferences(source)
        // Copied text keeps the source's bytes and character set. Ours is UTF-8: with a source in the
        // default repertoire or UTF-8 the SEG says UTF-8, with any other set our text is reduced to ASCII.
        let characterSet = source.series.firstHeader.string(.specificCharacterSet)
        let unicode = characterSet == nil || characterSet == "ISO_IR 192"
        let safe = { (text: String) in unicode ? text : String(text.unicodeScalars.map { $0.isASCII ? Character($0) : "?" }) }
        let segments = segments.map { SegmentationSegment(label: safe($0.label), mask: $0.mask) }
        let algorithm = SegmentationAlgorithm(name: safe(algorithm.name), version: safe(algorithm.version), source: safe(algorithm.source))
        let dims = source.image.header.dims
        let plane = dims[0] * dims[1]
        for segment in segments where segment.mask.count != plane * dims[2] {
            throw DICOMError(url, "the mask of \(segment.label) has \(segment.mask.count) voxels, the series \(plane * dims[2])")
        }
        // Frames: segment by segment, slices in position order, only where the segment is present.
        var frames: [(segment: Int, slice: Int)] = []
        for (s, segment) in segments.enumerated() {
            for k in 0..<dims[2] where segment.mask[k * plane..<(k + 1) * plane].contains(true) { frames.append((s, k)) }
        }
        // A SEG needs at least one frame: with every mask empty, one empty frame of the first segment.
        if frames.isEmpty { frames = [(0, 0)] }

        let sopInstanceUID = DICOMUID.make()
        var set = DICOMOutputDataSet()
        copyPatientAndStudy(from: source.series.firstHeader, into: &set)
        if unicode { set.set(.specificCharacterSet, "CS", "ISO_IR 192") }
        describeSeries(&set, sopInstanceUID: sopInstanceUID, source: source, algorithm: algorithm)
        set.set(.segmentSequence, items: segments.enumerated().map { describe($1, number: $0 + 1, algorithm: algorithm) })
        describeImage(&set, dims: dims, frameCount: frames.count)
        let dimensionOrganization = DICOMUID.make()
        set.set(.dimensionOrganizationSequence, items: [item { $0.set(.dimensionOrganizationUID, "UI", dimensionOrganization) }])
        set.set(.dimensionIndexSequence, items: [
            dimensionIndex(dimensionOrganization, pointer: .referencedSegmentNumber, group: .segmentIdentificationSequence),
            dimensionIndex(dimensionOrganization, pointer: .imagePositionPatient, group: .planePositionSequence),
        ])
        set.set(.sharedFunctionalGroupsSequence, items: [sharedGroups(source)])
        set.set(.perFrameFunctionalGroupsSequence, items: frames.map { perFrameGroup(segment: $0.segment + 1, slice: source.slices[$0.slice],
                                                                                        sliceIndex: $0.slice) })
        set.set(.referencedSeriesSequence, items: [referencedSeries(source)])
        set.set(.pixelData, otherBytes: packBits(frames.map { segments[$0.segment].mask[$0.slice * plane..<($0.slice + 1) * plane] }))

        let bytes = set.part10File(sopClassUID: segmentationStorage, sopInstanceUID: sopInstanceUID)
        do {
            try Data(bytes).write(to: url)
        } catch {
            throw DICOMError(url, "cannot write: \(error.localizedDescription)")
        }
    }

    /// Patient and study attributes, copied so the SEG joins the source's study.
    private static func copyPatientAndStudy(from header: DICOMDataSet, into set: inout DICOMOutputDataSet) {
        let copied: [(DICOMTag, String)] = [
            (.specificCharacterSet, "CS"), (.patientName, "PN"), (.patientID, "LO"), (.patientBirthDate, "DA"),
            (.patientSex, "CS"), (.studyInstanceUID, "UI"), (.studyDate, "DA"), (.studyTime, "TM"),
            (.referringPhysicianName, "PN"), (.studyID, "SH"), (.accessionNumber, "SH"), (.studyDescription, "LO"),
            (.frameOfReferenceUID, "UI"), (.positionReferenceIndicator, "LO"),
        ]
        for (tag, vr) in copied { set.copy(tag, vr, from: header) }
    }

    private static func describeSeries(_ set: inout DICOMOutputDataSet, sopInstanceUID: String, source: DICOMVolume,
                                       algorithm: SegmentationAlgorithm) {
        let now = Date()
        let date = DateFormatter.dicom("yyyyMMdd").string(from: now), time = DateFormatter.dicom("HHmmss").string(from: now)
        set.set(.sopClassUID, "UI", segmentationStorage)
        set.set(.sopInstanceUID, "UI", sopInstanceUID)
        set.set(.imageType, "CS", "DERIVED", "PRIMARY")
        set.set(.modality, "CS", "SEG")
        set.set(.seriesInstanceUID, "UI", DICOMUID.make())
        // A series number clear of the scanner's own (which count from 1).
        set.set(.seriesNumber, "IS", "300")
        set.set(.instanceNumber, "IS", "1")
        set.set(.seriesDescription, "LO", clipped("\(algorithm.name) segmentation", to: 64))
        set.set(.seriesDate, "DA", date)
        set.set(.seriesTime, "TM", time)
        set.set(.contentDate, "DA", date)
        set.set(.contentTime, "TM", time)
        set.set(.manufacturer, "LO", clipped(algorithm.source, to: 64))
        set.set(.manufacturerModelName, "LO", clipped(algorithm.name, to: 64))
        set.set(.deviceSerialNumber, "LO", "none")
        set.set(.softwareVersions, "LO", clipped(algorithm.version, to: 64))
        set.set(.contentLabel, "CS", "SEGVOL")
        set.set(.contentDescription, "LO", clipped("\(algorithm.name) (\(algorithm.version))", to: 64))
        set.set(.contentCreatorName, "PN")
    }

    private static func describe(_ segment: SegmentationSegment, number: Int, algorithm: SegmentationAlgorithm) -> DICOMOutputDataSet {
        let coding = SegmentCodes.coding(for: segment.label)
        return item { item in
            item.set(.segmentNumber, uint16: UInt16(number))
            item.set(.segmentLabel, "LO", clipped(segment.label, to: 64))
            item.set(.segmentAlgorithmType, "CS", "AUTOMATIC")
            item.set(.segmentAlgorithmName, "LO", clipped(algorithm.name, to: 64))
            item.set(.segmentedPropertyCategoryCodeSequence, items: [code(coding.category)])
            var type = code(coding.type)
            if let modifier = coding.modifier { type.set(.segmentedPropertyTypeModifierCodeSequence, items: [code(modifier)]) }
            item.set(.segmentedPropertyTypeCodeSequence, items: [type])
            if let regionConcept = coding.region {
                var region = code(regionConcept)
                if let modifier = coding.regionModifier { region.set(.anatomicRegionModifierSequence, items: [code(modifier)]) }
                item.set(.anatomicRegionSequence, items: [region])
            }
            item.set(.segmentationAlgorithmIdentificationSequence, items: [DICOMSegmentation.item { identification in
                identification.set(.algorithmFamilyCodeSequence, items: [code(artificialIntelligence)])
                identification.set(.algorithmName, "LO", clipped(algorithm.name, to: 64))
                identification.set(.algorithmVersion, "LO", clipped(algorithm.version, to: 64))
                identification.set(.algorithmSource, "LO", clipped(algorithm.source, to: 64))
            }])
        }
    }

    private static func describeImage(_ set: inout DICOMOutputDataSet, dims: [Int], frameCount: Int) {
        set.set(.samplesPerPixel, uint16: 1)
        set.set(.photometricInterpretation, "CS", "MONOCHROME2")
        set.set(.numberOfFrames, "IS", String(frameCount))
        set.set(.rows, uint16: UInt16(dims[1]))
        set.set(.columns, uint16: UInt16(dims[0]))
        set.set(.bitsAllocated, uint16: 1)
        set.set(.bitsStored, uint16: 1)
        set.set(.highBit, uint16: 0)
        set.set(.pixelRepresentation, uint16: 0)
        set.set(.lossyImageCompression, "CS", "00")
        set.set(.segmentationType, "CS", "BINARY")
    }

    private static func dimensionIndex(_ organization: String, pointer: DICOMTag, group: DICOMTag) -> DICOMOutputDataSet {
        item { item in
            item.set(.dimensionOrganizationUID, "UI", organization)
            item.set(.dimensionIndexPointer, tagValue: pointer)
            item.set(.functionalGroupPointer, tagValue: group)
        }
    }

    /// Pixel spacing, slice spacing and orientation: the same for every frame.
    private static func sharedGroups(_ source: DICOMVolume) -> DICOMOutputDataSet {
        let first = source.slices[0], affine = source.image.header.affine
        let sliceSpacing = (0..<3).map { affine[$0][2] * affine[$0][2] }.reduce(0, +).squareRoot()
        return item { groups in
            groups.set(.pixelMeasuresSequence, items: [item { measures in
                measures.set(.pixelSpacing, "DS", decimal(first.pixelSpacing[0]), decimal(first.pixelSpacing[1]))
                measures.set(.sliceThickness, "DS", decimal(sliceSpacing))
                measures.set(.spacingBetweenSlices, "DS", decimal(sliceSpacing))
            }])
            groups.set(.planeOrientationSequence, items: [item { orientation in
                orientation.set(.imageOrientationPatient, "DS", first.orientation.map(decimal).joined(separator: "\\"))
            }])
        }
    }

    private static func perFrameGroup(segment: Int, slice: DICOMSlice, sliceIndex: Int) -> DICOMOutputDataSet {
        item { groups in
            groups.set(.derivationImageSequence, items: [item { derivation in
                derivation.set(.sourceImageSequence, items: [item { reference in
                    reference.set(.referencedSOPClassUID, "UI", slice.sopClassUID)
                    reference.set(.referencedSOPInstanceUID, "UI", slice.sopInstanceUID)
                    if slice.isMultiFrame { reference.set(.referencedFrameNumber, "IS", String(slice.frameIndex + 1)) }
                    reference.set(.purposeOfReferenceCodeSequence, items: [code(sourceImagePurpose)])
                }])
                derivation.set(.derivationCodeSequence, items: [code(segmentationDerivation)])
            }])
            groups.set(.frameContentSequence, items: [item { content in
                content.set(.dimensionIndexValues, uint32: [UInt32(segment), UInt32(sliceIndex + 1)])
            }])
            groups.set(.planePositionSequence, items: [item { plane in
                plane.set(.imagePositionPatient, "DS", slice.position.map(decimal).joined(separator: "\\"))
            }])
            groups.set(.segmentIdentificationSequence, items: [item { $0.set(.referencedSegmentNumber, uint16: UInt16(segment)) }])
        }
    }

    /// Every source instance, once (a multi-frame source is one instance).
    private static func referencedSeries(_ source: DICOMVolume) -> DICOMOutputDataSet {
        var seen = Set<String>()
        let instances = source.slices.filter { seen.insert($0.sopInstanceUID).inserted }
        return item { series in
            series.set(.seriesInstanceUID, "UI", source.series.seriesInstanceUID)
            series.set(.referencedInstanceSequence, items: instances.map { slice in
                item { reference in
                    reference.set(.referencedSOPClassUID, "UI", slice.sopClassUID)
                    reference.set(.referencedSOPInstanceUID, "UI", slice.sopInstanceUID)
                }
            })
        }
    }

    /// BINARY pixel data: one bit per pixel, the first pixel in the lowest bit, frames back to back
    /// with no padding between them (PS3.5 8.1.1).
    private static func packBits(_ frames: [ArraySlice<Bool>]) -> [UInt8] {
        let total = frames.reduce(0) { $0 + $1.count }
        var packed = [UInt8](repeating: 0, count: (total + 7) / 8)
        var bit = 0
        for frame in frames {
            for value in frame {
                if value { packed[bit >> 3] |= 1 << UInt8(bit & 7) }
                bit += 1
            }
        }
        return packed
    }

    private static func item(_ build: (inout DICOMOutputDataSet) -> Void) -> DICOMOutputDataSet {
        var set = DICOMOutputDataSet()
        build(&set)
        return set
    }

    private static func code(_ concept: CodedConcept) -> DICOMOutputDataSet {
        item { code in
            code.set(.codeValue, "SH", concept.value)
            code.set(.codingSchemeDesignator, "SH", concept.scheme)
            code.set(.codeMeaning, "LO", concept.meaning)
        }
    }

    /// A decimal string (DS) of at most 16 characters.
    private static func decimal(_ value: Double) -> String {
        for digits in stride(from: 10, through: 1, by: -1) {
            let text = String(format: "%.\(digits)g", value)
            if text.count <= 16 { return text }
        }
        return String(format: "%.0f", value)
    }

    private static func clipped(_ text: String, to length: Int) -> String {
        String(text.unicodeScalars.filter { $0 != "\\" }.map(Character.init).prefix(length))
    }
}

private extension DateFormatter {
    /// A formatter for DICOM DA and TM values, in local time as scanners write them.
    static func dicom(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = format
        return formatter
    }
}
