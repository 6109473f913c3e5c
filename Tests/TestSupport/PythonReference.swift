import Foundation

/// Runs reference scripts from `Tests/Python` in the Python environment `tools/python-env.sh` builds (numpy,
/// nibabel, Pillow), so tests compare against an independent implementation.
public enum PythonReference {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The environment's python, built on first use (a minute, with network access to PyPI).
    public static func python() throws -> URL {
        let setup = try run(packageRoot.appendingPathComponent("tools/python-env.sh"), [])
        return URL(fileURLWithPath: setup.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Runs `Tests/Python/<script>` with `arguments` and returns its standard output.
    public static func run(script: String, _ arguments: [String]) throws -> String {
        let path = packageRoot.appendingPathComponent("Tests/Python/" + script).path
        return try run(try python(), [path] + arguments)
    }

    private static func run(_ executable: URL, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(executable.lastPathComponent) \(arguments.joined(separator: " ")) failed: "
                + String(decoding: errData, as: UTF8.self))
        }
        return String(decoding: outData, as: UTF8.self)
    }
}
