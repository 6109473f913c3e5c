import ArgumentParser
import Foundation
import Volume

/// The categories a command segments: its --text names, then a --classes-file's, each mapped through SegVol's
/// vocabulary (aliases such as TotalSegmentator's `kidney_right` become the name the model was trained on).
struct VocabularyOptions: ParsableArguments {
    @Option(name: .long, help: "A file of category names, one a line (# starts a comment), segmented after the --text names; `segvol classes` prints a complete one.")
    var classesFile: String?

    /// The canonical names, in order; a name outside the vocabulary runs as typed after a one-line warning.
    func categoryNames(text: [String]) throws -> [String] {
        try Self.canonicalNames(text + (try classesFile.map(Self.readClassesFile) ?? []), from: "--text or --classes-file")
    }

    /// Typed names (from `option`, for errors) as the model receives them, each once: SegVol's trained name, or
    /// the text as typed after a one-line warning.
    static func canonicalNames(_ typed: [String], from option: String) throws -> [String] {
        var names: [String] = []
        for entry in typed {
            let match = PromptVocabulary.segVol.match(entry)
            guard !match.name.isEmpty else { throw PipelineError("empty category name in \(option)") }
            if case .unknown(let name) = match {
                warn("\"\(name)\" is not one of SegVol's training categories (see `segvol classes`); it runs as typed")
            }
            if names.contains(match.name) {
                throw PipelineError("category \"\(match.name)\" is given twice (\"\(entry)\" means it too)")
            }
            names.append(match.name)
        }
        return names
    }

    /// Names one a line; text after # and blank lines are ignored.
    static func readClassesFile(_ path: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw PipelineError(FileManager.default.fileExists(atPath: path)
                ? "--classes-file \(path) is not a UTF-8 text file" : "--classes-file \(path): no such file")
        }
        let names = text.split(whereSeparator: \.isNewline).compactMap { line -> String? in
            let name = line.prefix(while: { $0 != "#" }).trimmingCharacters(in: .whitespaces)
            return name.isEmpty ? nil : name
        }
        guard !names.isEmpty else { throw PipelineError("--classes-file \(path) names no categories") }
        return names
    }
}

/// A one-line warning on stderr; the command goes on.
func warn(_ message: String) {
    FileHandle.standardError.write(Data("segvol: warning: \(message)\n".utf8))
}
