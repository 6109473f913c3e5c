/// The codes of a segment by its label, from the prompt vocabulary (`PromptVocabulary.Category.coding`): any
/// name, TotalSegmentator name or alias of a category gives that category's codes; other labels, and
/// categories without a verified code, get the generic "Tissue".
public enum SegmentCodes {
    /// The coding of a prompt name ("liver", "Left Kidney", "kidney_right"...).
    public static func coding(for name: String) -> SegmentCoding {
        PromptVocabulary.segVol.category(named: name)?.coding ?? .generic
    }
}
