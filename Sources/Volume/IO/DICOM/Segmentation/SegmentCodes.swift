/// A coded concept (PS3.3 Code Sequence Macro): value, scheme and meaning.
public struct CodedConcept: Equatable {
    public let value: String
    public let scheme: String
    public let meaning: String

    public init(_ value: String, _ scheme: String, _ meaning: String) {
        self.value = value
        self.scheme = scheme
        self.meaning = meaning
    }
}

/// What a DICOM-SEG segment is: its property category and type (SNOMED CT), and a laterality modifier.
public struct SegmentCoding: Equatable {
    public let category: CodedConcept
    public let type: CodedConcept
    public let modifier: CodedConcept?
}

/// The codes of the common abdominal organs by prompt name, in one table (CID 7150 categories,
/// CID 7166 types, laterality as a type modifier); any other name gets the generic "Tissue".
/// Codes as in pydicom's SNOMED CT dictionary.
public enum SegmentCodes {
    static let anatomicalStructure = CodedConcept("91723000", "SCT", "Anatomical Structure")
    static let tissue = CodedConcept("85756007", "SCT", "Tissue")
    static let right = CodedConcept("24028007", "SCT", "Right")
    static let left = CodedConcept("7771000", "SCT", "Left")

    /// Organ types by lower-case name; sided names add a laterality modifier to the organ's code.
    private static let organs: [String: CodedConcept] = [
        "liver": CodedConcept("10200004", "SCT", "Liver"),
        "spleen": CodedConcept("78961009", "SCT", "Spleen"),
        "kidney": CodedConcept("64033007", "SCT", "Kidney"),
        "gallbladder": CodedConcept("28231008", "SCT", "Gallbladder"),
        "stomach": CodedConcept("69695003", "SCT", "Stomach"),
        "pancreas": CodedConcept("15776009", "SCT", "Pancreas"),
        "aorta": CodedConcept("15825003", "SCT", "Aorta"),
        "inferior vena cava": CodedConcept("64131007", "SCT", "Inferior vena cava"),
        "esophagus": CodedConcept("32849002", "SCT", "Esophagus"),
        "duodenum": CodedConcept("38848004", "SCT", "Duodenum"),
        "adrenal gland": CodedConcept("23451007", "SCT", "Adrenal gland"),
        "bladder": CodedConcept("89837001", "SCT", "Bladder"),
        "prostate": CodedConcept("41216001", "SCT", "Prostate"),
        "rectum": CodedConcept("34402009", "SCT", "Rectum"),
        "colon": CodedConcept("71854001", "SCT", "Colon"),
        "small intestine": CodedConcept("30315005", "SCT", "Small intestine"),
        "portal vein": CodedConcept("32764006", "SCT", "Portal vein"),
        "splenic vein": CodedConcept("35819009", "SCT", "Splenic vein"),
        "hepatic vein": CodedConcept("8993003", "SCT", "Hepatic vein"),
        "lung": CodedConcept("39607008", "SCT", "Lung"),
        "heart": CodedConcept("80891009", "SCT", "Heart"),
        "spinal cord": CodedConcept("2748008", "SCT", "Spinal cord"),
    ]

    /// Other spellings of the same organs.
    private static let synonyms: [String: String] = [
        "gall bladder": "gallbladder", "oesophagus": "esophagus", "urinary bladder": "bladder",
        "ivc": "inferior vena cava", "postcava": "inferior vena cava", "small bowel": "small intestine",
    ]

    /// The coding of a prompt name ("liver", "Left Kidney", "right_adrenal_gland"...).
    public static func coding(for name: String) -> SegmentCoding {
        var words = name.lowercased().replacingOccurrences(of: "_", with: " ").split(separator: " ").map(String.init)
        var modifier: CodedConcept?
        if let side = ["left": left, "right": right].first(where: { words.first == $0.key || words.last == $0.key }) {
            modifier = side.value
            words.removeAll { $0 == side.key }
        }
        let organ = words.joined(separator: " ")
        guard let type = organs[synonyms[organ] ?? organ] else {
            return SegmentCoding(category: tissue, type: tissue, modifier: nil)
        }
        return SegmentCoding(category: anatomicalStructure, type: type, modifier: modifier)
    }
}
