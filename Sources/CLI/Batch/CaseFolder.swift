import Foundation
import Volume

/// A case's output folder, `OUT/<case>`, filled under a hidden temporary name and renamed into place when complete,
/// so a killed run never leaves a folder that looks finished. A later run of the same case removes what a killed
/// one left (only this case's hidden folders: shards sharing the output folder own disjoint cases).
struct CaseFolder {
    let final: URL
    let temporary: URL
    private let outDir: URL
    private let name: String

    init(outDir: URL, name: String) {
        self.outDir = outDir
        self.name = name
        final = outDir.appendingPathComponent(name)
        temporary = outDir.appendingPathComponent(".\(name).partial-\(getpid())")
    }

    var runRecord: URL { final.appendingPathComponent("run.json") }

    /// Removes the hidden folders an interrupted run of this case left behind.
    func removeLeftovers() {
        let prefix = ".\(name)."
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: outDir.path)) ?? []
        for entry in entries where entry.hasPrefix(prefix) {
            let rest = entry.dropFirst(prefix.count)
            let isOurs = ["partial-", "replaced-"].contains { marker in
                rest.hasPrefix(marker) && !rest.dropFirst(marker.count).isEmpty && rest.dropFirst(marker.count).allSatisfy(\.isNumber)
            }
            if isOurs { try? FileManager.default.removeItem(at: outDir.appendingPathComponent(entry)) }
        }
    }

    /// An empty temporary folder to write into.
    func begin() throws {
        try? FileManager.default.removeItem(at: temporary)
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
    }

    /// Puts the temporary folder in place of `OUT/<case>`; an earlier result is moved aside first, then deleted.
    func commit() throws {
        let replaced = outDir.appendingPathComponent(".\(name).replaced-\(getpid())")
        if FileManager.default.fileExists(atPath: final.path) {
            try rename(final, to: replaced)
        }
        try rename(temporary, to: final)
        try? FileManager.default.removeItem(at: replaced)
    }

    func discard() {
        try? FileManager.default.removeItem(at: temporary)
    }

    private func rename(_ source: URL, to destination: URL) throws {
        guard Foundation.rename(source.path, destination.path) == 0 else {
            throw PipelineError("cannot rename \(source.path) to \(destination.path): \(String(cString: strerror(errno)))")
        }
    }
}
