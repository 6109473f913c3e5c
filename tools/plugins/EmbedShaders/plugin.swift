// Build-tool plugin: Shaders/ is the one source of truth for GLSL; the binary carries it.
import Foundation
import PackagePlugin

@main
struct EmbedShaders: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let shaderDirectory = context.package.directoryURL.appending(path: "Shaders")
        let shaders = try FileManager.default
            .contentsOfDirectory(at: shaderDirectory, includingPropertiesForKeys: nil)
            .filter { ["comp", "glsl"].contains($0.pathExtension) }
            .sorted { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedShaders.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(shaders.count) shaders",
                executable: try context.tool(named: "ShaderEmbedder").url,
                arguments: [output.path] + shaders.map(\.path),
                inputFiles: shaders,
                outputFiles: [output])
        ]
    }
}
