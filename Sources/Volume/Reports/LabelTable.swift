import Foundation

/// Display colours for labels without a fixed one.
public enum LabelColours {
    /// Sasha Trubetskoy's "List of 20 simple, distinct colors" (2017), in its order, without the dark navy,
    /// grey, white and black, which vanish on a grey CT.
    public static let palette: [RGB] = [
        RGB(230, 25, 75), RGB(60, 180, 75), RGB(255, 225, 25), RGB(0, 130, 200), RGB(245, 130, 48),
        RGB(145, 30, 180), RGB(70, 240, 240), RGB(240, 50, 230), RGB(210, 245, 60), RGB(250, 190, 212),
        RGB(0, 128, 128), RGB(220, 190, 255), RGB(170, 110, 40), RGB(255, 250, 200), RGB(128, 0, 0),
        RGB(170, 255, 195), RGB(128, 128, 0), RGB(255, 215, 180),
    ]
}

/// The labels of one label map (value, name, colour), as written beside it and drawn in previews.
public struct LabelTable: Equatable {
    public struct Entry: Equatable, Encodable {
        public let label: Int
        public let name: String
        public let colour: RGB
        /// TotalSegmentator's name for the category, when the vocabulary knows one.
        public let totalSegmentator: String?

        enum CodingKeys: String, CodingKey {
            case label, name, color, totalSegmentator = "totalsegmentator"
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(label, forKey: .label)
            try container.encode(name, forKey: .name)
            try container.encode(colour.components, forKey: .color)
            try container.encodeIfPresent(totalSegmentator, forKey: .totalSegmentator)
        }
    }

    public let entries: [Entry]

    /// Labels 1...n for `names`, in order. A category of the vocabulary keeps its fixed colour unless an earlier
    /// label already has that colour (left and right kidney share one); the rest take palette colours not yet
    /// used, so every label of one map can be told apart.
    public init(names: [String], vocabulary: PromptVocabulary = .segVol) {
        let categories = names.map { vocabulary.category(named: $0) }
        var used = Set<RGB>()
        var colours = categories.map { category -> RGB? in
            guard let fixed = category?.colour, !used.contains(fixed) else { return nil }
            used.insert(fixed)
            return fixed
        }
        var unused = LabelColours.palette.filter { !used.contains($0) }.makeIterator()
        for index in colours.indices where colours[index] == nil {
            // Past the palette's end (18 labels without a colour), colours repeat.
            colours[index] = unused.next() ?? LabelColours.palette[index % LabelColours.palette.count]
        }
        entries = names.indices.map { index in
            Entry(label: index + 1, name: names[index], colour: colours[index]!,
                  totalSegmentator: categories[index]?.totalSegmentator)
        }
    }

    /// `labels.json`: {"labels": [{"label": 1, "name": "liver", "color": [r, g, b], "totalsegmentator": "liver"}]}.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(["labels": entries])
    }

    /// A 3D Slicer colour table (`.ctbl`): "index name R G B A" lines after a "# Color table file" header, spaces
    /// in names as underscores (Slicer's format, docs "developer_guide/modules/colors").
    public func slicerColourTable(fileName: String) -> String {
        var lines = ["# Color table file \(fileName)", "# \(entries.count + 1) values", "0 Background 0 0 0 0"]
        for entry in entries {
            let name = entry.name.split(whereSeparator: { $0.isWhitespace }).joined(separator: "_")
            lines.append("\(entry.label) \(name) \(entry.colour.components.map(String.init).joined(separator: " ")) 255")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The label table files beside a label map: `<stem>.labels.json` and `<stem>.ctbl`, where the stem is the
    /// file name without `.nii.gz` or `.nii`.
    public static func companionFiles(forLabelMap url: URL) -> (labels: URL, colourTable: URL) {
        var stem = url.lastPathComponent
        for suffix in [".nii.gz", ".nii"] where stem.hasSuffix(suffix) {
            stem = String(stem.dropLast(suffix.count))
            break
        }
        let folder = url.deletingLastPathComponent()
        return (folder.appendingPathComponent(stem + ".labels.json"), folder.appendingPathComponent(stem + ".ctbl"))
    }
}
