import Foundation
import VulkanRuntime

/// The GLSL sources of `Shaders/`, embedded at build time, with `#include "x.glsl"` resolved.
enum ShaderLibrary {
    /// Sources with their includes resolved, once per file.
    nonisolated(unsafe) private static var resolved: [String: String] = [:]
    private static let lock = NSLock()

    static func source(_ file: String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let cached = resolved[file] { return cached }
        guard let text = EmbeddedShaders.sources[file] else {
            throw BackendError("no shader named \(file) in Shaders/")
        }
        let source = try resolveIncludes(text, seen: [file])
        resolved[file] = source
        return source
    }

    private static func resolveIncludes(_ text: String, seen: Set<String>) throws -> String {
        guard text.contains("#include") else { return text }
        var lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("#include") else { lines.append(line); continue }
            let name = trimmed.dropFirst("#include".count).trimmingCharacters(in: CharacterSet(charactersIn: " \"<>"))
            guard !seen.contains(name), let included = EmbeddedShaders.sources[name] else {
                throw BackendError("shader include \(name) is missing or recursive")
            }
            lines.append(Substring(try resolveIncludes(included, seen: seen.union([name]))))
        }
        return lines.joined(separator: "\n")
    }
}
