import ArgumentParser
import Foundation
import Volume

/// `segvol summarize OUT`: every case's run.json (from every shard that wrote into OUT) in one CSV and one table.
struct SummarizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summarize",
        abstract: "Gather a batch's OUT/<case>/run.json files into OUT/summary.csv and a table on stdout.",
        discussion: """
            One row per case: case, status, seconds, and per category its voxels and volume in ml (the category's own \
            mask, so overlapping categories both count a voxel), then the error of a failed case. Folders still being \
            written (hidden, temporary) are not read.
            """)

    @Argument(help: "The output folder of `segvol batch`.")
    var outDir: String

    func run() throws {
        reportingErrors { try summarize() }
    }

    private func summarize() throws {
        let folder = URL(fileURLWithPath: outDir)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PipelineError("\(outDir): no such folder")
        }
        let caseFolders = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted()
        var rows: [(name: String, record: RunRecord?, problem: String?)] = []
        for name in caseFolders {
            let url = folder.appendingPathComponent(name).appendingPathComponent("run.json")
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            do {
                rows.append((name, try RunRecord.read(url), nil))
            } catch {
                rows.append((name, nil, "run.json is not a batch record: \(error)"))
            }
        }
        guard !rows.isEmpty else { throw PipelineError("\(outDir) holds no <case>/run.json; run `segvol batch` first") }

        // Category columns in the order they first appear (batches with other prompts may share the folder).
        var categories: [String] = []
        for row in rows { for category in row.record?.categories ?? [] where !categories.contains(category.name) {
            categories.append(category.name)
        } }
        let header = ["case", "status", "seconds"] + categories.flatMap { ["\($0) voxels", "\($0) ml"] } + ["error"]
        let table = rows.map { row -> [String] in
            let record = row.record
            let cells = categories.flatMap { name -> [String] in
                guard let category = record?.categories.first(where: { $0.name == name }) else { return ["", ""] }
                return [String(category.voxels), String(format: "%.1f", category.volumeMl)]
            }
            return [row.name, record?.status.rawValue ?? "unreadable", record.map { String(format: "%.2f", $0.seconds.total) } ?? ""]
                + cells + [record?.error ?? row.problem ?? ""]
        }

        let csv = ([header] + table).map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
        let outputs = OutputSet(overwrite: true)
        try Data(csv.utf8).write(to: outputs.stage(folder.appendingPathComponent("summary.csv")))
        try outputs.commit()

        let widths = header.indices.map { i in ([header] + table).map { $0[i].count }.max() ?? 0 }
        for line in [header] + table {
            print(zip(line, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
        }
        let failed = rows.filter { $0.record?.status != .ok }.count
        print("\(rows.count) cases, \(rows.count - failed) ok, \(failed) failed; written to \(folder.appendingPathComponent("summary.csv").path)")
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break.
    private func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
