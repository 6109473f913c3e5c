import Foundation

/// An 8-bit RGB colour.
public struct RGB: Equatable, Hashable, Sendable {
    public let red: UInt8, green: UInt8, blue: UInt8

    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public var components: [Int] { [Int(red), Int(green), Int(blue)] }
}

/// The text prompts a model was trained on, with their aliases, and the lookup that maps what a
/// user types to the name the model receives.
public struct PromptVocabulary: Sendable {
    /// Where a category sits in the body; `segvol classes` lists the categories by group.
    public enum Group: String, CaseIterable, Sendable {
        case abdomen, vessels, thorax, headAndNeck = "head and neck", spine, musculoskeletal, lesions, other
    }

    public struct Category: Sendable {
        /// The text the model receives.
        public let name: String
        public let group: Group
        /// TotalSegmentator's class name for the same structure, when it has one.
        public let totalSegmentator: String?
        /// Other names that mean this category: spellings from other training sets, common synonyms.
        public let aliases: [String]
        /// A fixed display colour (TotalSegmentator's 3D Slicer colour where it has one); nil: the run picks
        /// one from `LabelColours.palette`.
        public let colour: RGB?
        /// Its SNOMED CT codes for a DICOM-SEG segment; nil where no verified code exists (`SegmentCoding.generic`).
        public let coding: SegmentCoding?

        public init(_ name: String, _ group: Group, totalSegmentator: String? = nil, aliases: [String] = [],
                    colour: RGB? = nil, coding: SegmentCoding? = nil) {
            self.name = name
            self.group = group
            self.totalSegmentator = totalSegmentator
            self.aliases = aliases
            self.colour = colour
            self.coding = coding
        }
    }

    /// What a typed name turned out to be.
    public enum Match: Equatable, Sendable {
        /// A known category: the canonical name the model receives.
        case known(String)
        /// Not in the vocabulary: the text as typed (trimmed), which still runs (the model is open-vocabulary).
        case unknown(String)

        public var name: String {
            switch self {
            case .known(let name), .unknown(let name): return name
            }
        }
    }

    public let categories: [Category]
    private let indexByKey: [String: Int]

    public init(_ categories: [Category]) {
        self.categories = categories
        var index: [String: Int] = [:]
        for (position, category) in categories.enumerated() {
            for name in [category.name] + [category.totalSegmentator].compactMap({ $0 }) + category.aliases {
                let key = Self.key(name)
                precondition(index[key] == nil || index[key] == position, "\(name) names two categories")
                index[key] = position
            }
        }
        indexByKey = index
    }

    /// The categories of the published SegVol model (`SegVolCategories`).
    public static let segVol = PromptVocabulary(SegVolCategories.all)

    /// The category a name, a TotalSegmentator name or an alias means; case, underscores, hyphens, commas
    /// and repeated spaces do not matter.
    public func category(named text: String) -> Category? {
        indexByKey[Self.key(text)].map { categories[$0] }
    }

    public func match(_ text: String) -> Match {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        return category(named: trimmed).map { .known($0.name) } ?? .unknown(trimmed)
    }

    /// The lookup key: lower case, `_` and `-` as spaces, no commas, single spaces.
    static func key(_ text: String) -> String {
        let spaced = text.lowercased().map { character -> Character in
            character == "_" || character == "-" ? " " : character
        }.filter { $0 != "," }
        return String(spaced).split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}
