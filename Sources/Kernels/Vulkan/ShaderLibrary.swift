import Foundation
import VulkanRuntime

/// The GLSL sources of `Shaders/`, embedded at build time, with `#include "x.glsl"` resolved.
enum ShaderLibrary {
    static func source(_ file: String) throws -> String {
        guard let text = EmbeddedShaders.sources[file] else {
            throw BackendError("no shader named \(file) in Shaders/")
        }
        return try resolveIncludes(text, seen: [file])
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
