/// A coded concept (PS3.3 Code Sequence Macro): value, scheme and meaning.
public struct CodedConcept: Equatable, Sendable {
    public let value: String
    public let scheme: String
    public let meaning: String

    public init(_ value: String, _ scheme: String, _ meaning: String) {
        self.value = value
        self.scheme = scheme
        self.meaning = meaning
    }

    /// A SNOMED CT concept.
    static func sct(_ value: String, _ meaning: String) -> CodedConcept {
        CodedConcept(value, "SCT", meaning)
    }
}

/// What a category's segment is, as a DICOM Segmentation states it: the property category (CID 7150) and
/// type, laterality as a type modifier, and for a lesion or a structure within an organ, the organ as the
/// anatomic region (with its own laterality).
public struct SegmentCoding: Equatable, Sendable {
    public let category: CodedConcept
    public let type: CodedConcept
    public let modifier: CodedConcept?
    public let region: CodedConcept?
    public let regionModifier: CodedConcept?

    public init(category: CodedConcept, type: CodedConcept, modifier: CodedConcept? = nil,
                region: CodedConcept? = nil, regionModifier: CodedConcept? = nil) {
        self.category = category
        self.type = type
        self.modifier = modifier
        self.region = region
        self.regionModifier = regionModifier
    }

    /// The property categories of DICOM CID 7150 that the vocabulary uses.
    public static let anatomicalStructure = CodedConcept.sct("91723000", "Anatomical Structure")
    public static let morphologicallyAbnormalStructure = CodedConcept.sct("49755003", "Morphologically Abnormal Structure")
    public static let tissue = CodedConcept.sct("85756007", "Tissue")

    /// The code of a name without a verified one: "Tissue" as category and type.
    public static let generic = SegmentCoding(category: tissue, type: tissue)

    /// Laterality (DICOM CID 244).
    enum Side {
        case left, right

        var concept: CodedConcept {
            switch self {
            case .left: return .sct("7771000", "Left")
            case .right: return .sct("24028007", "Right")
            }
        }
    }

    /// An anatomical structure, on one side or within an organ.
    static func anatomy(_ value: String, _ meaning: String, _ side: Side? = nil, in region: CodedConcept? = nil) -> SegmentCoding {
        SegmentCoding(category: anatomicalStructure, type: .sct(value, meaning), modifier: side?.concept, region: region)
    }

    /// A tissue type (DICOM CID 7166), such as bone or skin.
    static func tissue(_ value: String, _ meaning: String) -> SegmentCoding {
        SegmentCoding(category: tissue, type: .sct(value, meaning))
    }

    /// A lesion (DICOM CID 7159) in an organ, the side being the organ's.
    static func lesion(_ value: String, _ meaning: String, in region: CodedConcept? = nil, _ side: Side? = nil) -> SegmentCoding {
        SegmentCoding(category: morphologicallyAbnormalStructure, type: .sct(value, meaning), region: region,
                      regionModifier: side?.concept)
    }
}
