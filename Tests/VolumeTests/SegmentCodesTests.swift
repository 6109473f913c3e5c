import Foundation
import TestSupport
import Volume
import XCTest

/// The SNOMED CT codes a DICOM-SEG segment gets for a name, from the prompt vocabulary. Expected values are quoted
/// from the sources `SegVolCategories` cites: the rows of SlicerTotalSegmentator's totalsegmentator_snomed_mapping.csv,
/// with DICOM CID 7150's code for the category (the CSV's "Anatomical Structure" is 123037004).
final class SegmentCodesTests: XCTestCase {
    private let anatomicalStructure = CodedConcept("91723000", "SCT", "Anatomical Structure")
    private let left = CodedConcept("7771000", "SCT", "Left")

    func testCodesMatchTheMappingCSV() {
        // Row liver: type SCT 10200004 "Liver".
        XCTAssertEqual(SegmentCodes.coding(for: "liver"),
                       SegmentCoding(category: anatomicalStructure, type: CodedConcept("10200004", "SCT", "Liver")))
        // Row kidney_left: type 64033007 "Kidney", type modifier 7771000 "Left".
        XCTAssertEqual(SegmentCodes.coding(for: "left kidney"),
                       SegmentCoding(category: anatomicalStructure, type: CodedConcept("64033007", "SCT", "Kidney"), modifier: left))
        // Row aorta: type 15825003 "Aorta".
        XCTAssertEqual(SegmentCodes.coding(for: "aorta"),
                       SegmentCoding(category: anatomicalStructure, type: CodedConcept("15825003", "SCT", "Aorta")))
        // Row liver_tumor: category 49755003 (CID 7150: "Morphologically Abnormal Structure"), type 108369006
        // "Neoplasm", anatomic region 10200004 "Liver".
        XCTAssertEqual(SegmentCodes.coding(for: "liver tumor"),
                       SegmentCoding(category: CodedConcept("49755003", "SCT", "Morphologically Abnormal Structure"),
                                     type: CodedConcept("108369006", "SCT", "Neoplasm"),
                                     region: CodedConcept("10200004", "SCT", "Liver")))
    }

    func testEveryNameOfACategoryGivesItsCodes() {
        let leftKidney = SegmentCodes.coding(for: "left kidney")
        for name in ["kidney_left", "Kidney Left", "LEFT-KIDNEY"] {
            XCTAssertEqual(SegmentCodes.coding(for: name), leftKidney, name)
        }
        XCTAssertEqual(SegmentCodes.coding(for: "liver tumour"), SegmentCodes.coding(for: "liver tumor"))
    }

    func testNamesWithoutAVerifiedCodeGetTheGenericCode() {
        let tissue = CodedConcept("85756007", "SCT", "Tissue")
        XCTAssertEqual(SegmentCoding.generic, SegmentCoding(category: tissue, type: tissue))
        // Not in the vocabulary; a category without a code; a TotalSegmentator name the vocabulary lacks.
        for name in ["banana peel", "stones", "kidney_cyst_left"] {
            XCTAssertEqual(SegmentCodes.coding(for: name), .generic, name)
        }
    }

    /// A category named for one side carries that side (on its type, its region, or in its type's meaning, as
    /// "Left atrium"); no other category carries a side.
    func testSidedCategoriesCarryTheirSide() {
        for category in PromptVocabulary.segVol.categories {
            guard let coding = category.coding else { continue }
            let words = Set(category.name.split(separator: " ").map(String.init))
            let side = ["left", "right"].first { words.contains($0) }
            let carried = [coding.modifier, coding.regionModifier].compactMap { $0?.meaning.lowercased() }
            if let side {
                let inMeaning = coding.type.meaning.lowercased().split(separator: " ").contains { $0 == side }
                XCTAssertTrue(carried == [side] || (carried.isEmpty && inMeaning), "\(category.name): \(carried)")
            } else {
                XCTAssertEqual(carried, [], category.name)
            }
        }
    }

    /// Every code checked against pydicom's tables of DICOM PS3.16 (`dicom_checks.py check-codes`): categories and
    /// sides exactly as CIDs 7150 and 244 give them, types in the part of CID 7151 for their category, meanings
    /// naming what DICOM names.
    func testCodesAgreeWithDICOM() throws {
        let listing = try CLIRunner.run(["classes", "--json"])
        XCTAssertEqual(listing.status, 0, listing.stderr)
        let classes = FileManager.default.temporaryDirectory.appendingPathComponent("segvol-classes-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: classes) }
        try Data(listing.stdout.utf8).write(to: classes)

        let output = try PythonReference.run(script: "dicom_checks.py", ["check-codes", classes.path])
        let report = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
        XCTAssertEqual(report["problems"] as? [String], [])
        XCTAssertEqual(report["coded"] as? Int, PromptVocabulary.segVol.categories.filter { $0.coding != nil }.count)
        // Most types are DICOM segmentation property types (the CSV's ribs and muscles are not); the check is not empty.
        XCTAssertGreaterThan(report["types_in_cid7151"] as? Int ?? 0, 50)
    }
}
