import Foundation
import TestSupport
import Volume
import XCTest

/// The prompt vocabulary: names, TotalSegmentator names and aliases map to the trained name; others stay as typed.
final class PromptVocabularyTests: XCTestCase {
    let vocabulary = PromptVocabulary.segVol

    func testCanonicalNamesMatchThemselves() {
        for category in vocabulary.categories {
            XCTAssertEqual(vocabulary.match(category.name), .known(category.name))
        }
    }

    func testTotalSegmentatorNamesAndAliases() {
        let expected: [(String, String)] = [
            ("kidney_right", "right kidney"), ("kidney_left", "left kidney"), ("kidney left", "left kidney"),
            ("adrenal_gland_right", "right adrenal gland"), ("inferior_vena_cava", "inferior vena cava"),
            ("postcava", "inferior vena cava"), ("gall bladder", "gallbladder"), ("urinary_bladder", "bladder"),
            ("vertebrae_L1", "vertebrae L1"), ("lumbar spine L1", "vertebrae L1"), ("cervical spine C7", "vertebrae C7"),
            ("thyroid_gland", "thyroid"), ("small_bowel", "small bowel"), ("lung_upper_lobe_left", "lung upper lobe left"),
            ("additional 13th thoracic vertebra, T13", "additional 13th thoracic vertebra T13"), ("tumour", "tumor"),
        ]
        for (typed, name) in expected {
            XCTAssertEqual(vocabulary.match(typed), .known(name), typed)
        }
    }

    func testCaseSeparatorsAndSpacesDoNotMatter() {
        for typed in ["Right Kidney", "RIGHT_KIDNEY", "  right   kidney ", "Kidney-Right", "kidney_RIGHT"] {
            XCTAssertEqual(vocabulary.match(typed), .known("right kidney"), typed)
        }
    }

    func testUnknownNamesStayAsTyped() {
        XCTAssertEqual(vocabulary.match("  banana peel "), .unknown("banana peel"))
        XCTAssertEqual(vocabulary.match("kidney_cyst_left"), .unknown("kidney_cyst_left"))
        XCTAssertNil(vocabulary.category(named: "sternum"))
    }

    /// Every TotalSegmentator name the vocabulary claims belongs to the category that names it, and the shared
    /// TotalSegmentator label list's names that map at all map to that category.
    func testTotalSegmentatorNamesAgreeWithTheSharedLabelList() throws {
        for category in vocabulary.categories {
            guard let name = category.totalSegmentator else { continue }
            XCTAssertEqual(vocabulary.category(named: name)?.name, category.name, name)
        }
        let labels = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.data("ct/example_seg_labels.json")))
            as! [String: String]
        var mapped = 0
        for name in labels.values {
            guard let category = vocabulary.category(named: name) else { continue }
            mapped += 1
            if let totalSegmentator = category.totalSegmentator {
                XCTAssertEqual(totalSegmentator, name, "\(name) maps to \(category.name)")
            }
        }
        // The abdominal organs, vessels, lung lobes, vertebrae C1-L5, ribs, and the v1 bones and muscles.
        XCTAssertGreaterThan(mapped, 90)
    }

    func testEveryGroupHasCategoriesAndNamesAreUnique() {
        for group in PromptVocabulary.Group.allCases {
            XCTAssertFalse(vocabulary.categories.filter { $0.group == group }.isEmpty, group.rawValue)
        }
        XCTAssertEqual(vocabulary.category(named: "liver")?.colour, RGB(221, 130, 101))
        XCTAssertEqual(Set(vocabulary.categories.map(\.name)).count, vocabulary.categories.count, "names are unique")
    }
}
