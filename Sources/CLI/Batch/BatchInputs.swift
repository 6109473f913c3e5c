import Foundation
import Volume

/// One CT of a batch, named after its file (`.nii`/`.nii.gz` stripped) or its DICOM series folder.
struct BatchCase: Equatable {
    let name: String
    let url: URL

    init(path: String) {
        url = URL(fileURLWithPath: path).standardizedFileURL
        let file = url.lastPathComponent
        name = [".nii.gz", ".nii"].first { file.hasSuffix($0) && file.count > $0.count }.map { String(file.dropLast($0.count)) } ?? file
    }
}

enum BatchInputs {
    /// The cases of `--input` paths (files; folders whose .nii/.nii.gz files are taken; a folder without any is one
    /// DICOM series) and of a `--list` file
    /// (one path a line; blank lines and lines starting with # are skipped), sorted by name. Two inputs with one
    /// name are an error that lists them. A path that does not exist stays a case: it fails when it is read.
    static func cases(inputs: [String], listFile: String?) throws -> [BatchCase] {
        var paths: [String] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue else {
                paths.append(input)
                continue
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: input)
                .filter { ($0.hasSuffix(".nii") || $0.hasSuffix(".nii.gz")) && !$0.hasPrefix(".") }.sorted()
            guard !files.isEmpty else {
                paths.append(input)
                continue
            }
            paths += files.map { URL(fileURLWithPath: input).appendingPathComponent($0).path }
        }
        if let listFile {
            guard let text = try? String(contentsOfFile: listFile, encoding: .utf8) else {
                throw PipelineError("--list \(listFile): cannot read the file")
            }
            paths += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        guard !paths.isEmpty else { throw PipelineError("no input: give --input or --list") }

        let cases = paths.map(BatchCase.init(path:))
        let clashes = Dictionary(grouping: cases, by: \.name).filter { $0.value.count > 1 }
        guard clashes.isEmpty else {
            let listed = clashes.keys.sorted().map { name in
                "\(name): " + clashes[name]!.map(\.url.path).joined(separator: ", ")
            }
            throw PipelineError("inputs share a case name (each case is named after its file): " + listed.joined(separator: "; "))
        }
        return cases.sorted { $0.name < $1.name }
    }
}
