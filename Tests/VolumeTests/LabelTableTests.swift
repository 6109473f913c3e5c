import Foundation
import Volume
import XCTest

/// Label tables: fixed organ colours, distinct colours within one map, labels.json and Slicer's colour table.
final class LabelTableTests: XCTestCase {
    func testFixedColoursAndDistinctFallbacks() {
        let table = LabelTable(names: ["liver", "right kidney", "left kidney", "banana", "rectum"])
        XCTAssertEqual(table.entries.map(\.label), [1, 2, 3, 4, 5])
        XCTAssertEqual(table.entries[0].colour, RGB(221, 130, 101), "TotalSegmentator's liver colour")
        XCTAssertEqual(table.entries[1].colour, RGB(212, 126, 151), "TotalSegmentator's kidney colour")
        // The left kidney shares the right one's colour in TotalSegmentator; here it takes the first free palette colour.
        XCTAssertEqual(table.entries[2].colour, LabelColours.palette[0])
        XCTAssertEqual(table.entries[3].colour, LabelColours.palette[1], "unknown category")
        XCTAssertEqual(table.entries[4].colour, LabelColours.palette[2], "known category without a colour")
        XCTAssertEqual(Set(table.entries.map(\.colour)).count, 5)
        XCTAssertEqual(table.entries[1].totalSegmentator, "kidney_right")
        XCTAssertNil(table.entries[3].totalSegmentator)
    }

    func testLabelsJSON() throws {
        let table = LabelTable(names: ["liver", "banana"])
        let json = try JSONSerialization.jsonObject(with: table.jsonData()) as! [String: [[String: Any]]]
        let labels = json["labels"]!
        XCTAssertEqual(labels.count, 2)
        XCTAssertEqual(labels[0]["label"] as? Int, 1)
        XCTAssertEqual(labels[0]["name"] as? String, "liver")
        XCTAssertEqual(labels[0]["color"] as? [Int], [221, 130, 101])
        XCTAssertEqual(labels[0]["totalsegmentator"] as? String, "liver")
        XCTAssertNil(labels[1]["totalsegmentator"])
    }

    func testSlicerColourTable() {
        let text = LabelTable(names: ["liver", "portal vein and splenic vein"]).slicerColourTable(fileName: "seg.ctbl")
        XCTAssertEqual(text, """
            # Color table file seg.ctbl
            # 3 values
            0 Background 0 0 0 0
            1 liver 221 130 101 255
            2 portal_vein_and_splenic_vein 0 151 206 255

            """)
    }

    func testCompanionFilesSitBesideTheLabelMap() {
        for (labelMap, stem) in [("/data/out/seg.nii.gz", "seg"), ("/data/out/case.v2.nii", "case.v2"), ("labels", "labels")] {
            let files = LabelTable.companionFiles(forLabelMap: URL(fileURLWithPath: labelMap))
            let folder = URL(fileURLWithPath: labelMap).deletingLastPathComponent()
            XCTAssertEqual(files.labels, folder.appendingPathComponent(stem + ".labels.json"))
            XCTAssertEqual(files.colourTable, folder.appendingPathComponent(stem + ".ctbl"))
        }
    }
}
