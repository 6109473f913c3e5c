import ArgumentParser
import Foundation
import Volume

struct ClassesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classes",
        abstract: "List the categories the published SegVol model was trained on, with their aliases.",
        discussion: """
            Any listed name, TotalSegmentator name or alias works as --text (case, underscores and hyphens do not \
            matter) and is given to the model as the listed name. Other text still runs, with a warning: the model \
            is open-vocabulary, but it was trained on these. The listing is itself a valid --classes-file.

            Examples:
              segvol classes
              segvol classes --json
            """)

    @Flag(name: .long, help: "One JSON object per category: name, group, totalsegmentator, aliases, color, coding (its SNOMED CT codes in a DICOM-SEG; absent: the generic Tissue).")
    var json = false

    func run() throws {
        let categories = PromptVocabulary.segVol.categories
        if json {
            let objects: [[String: Any]] = categories.map { category in
                var object: [String: Any] = ["name": category.name, "group": category.group.rawValue, "aliases": category.aliases]
                object["totalsegmentator"] = category.totalSegmentator
                object["color"] = category.colour?.components
                object["coding"] = category.coding.map(Self.json)
                return object
            }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("# The \(categories.count) categories of SegVol's labelled training data (the M3D-Seg datasets), by group.")
        print("# After a name: its TotalSegmentator name where spelled differently, and other aliases.")
        for group in PromptVocabulary.Group.allCases {
            print("\n# \(group.rawValue)")
            for category in categories where category.group == group {
                let totalSegmentator = category.totalSegmentator.flatMap { $0 == category.name ? nil : "\($0) (TotalSegmentator)" }
                let aliases = [totalSegmentator].compactMap { $0 } + category.aliases
                let padded = category.name.padding(toLength: max(40, category.name.count + 1), withPad: " ", startingAt: 0)
                print(aliases.isEmpty ? category.name : "\(padded)# \(aliases.joined(separator: ", "))")
            }
        }
    }

    /// Each code as {value, scheme, meaning}, keyed as in the DICOM-SEG segment.
    private static func json(_ coding: SegmentCoding) -> [String: Any] {
        let concepts: [(String, CodedConcept?)] = [
            ("category", coding.category), ("type", coding.type), ("type_modifier", coding.modifier),
            ("region", coding.region), ("region_modifier", coding.regionModifier),
        ]
        var object: [String: Any] = [:]
        for case let (key, concept?) in concepts {
            object[key] = ["value": concept.value, "scheme": concept.scheme, "meaning": concept.meaning]
        }
        return object
    }
}
