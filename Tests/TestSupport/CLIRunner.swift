import Foundation

/// Runs the built `segvol` binary (tests exercise the command line end to end).
public enum CLIRunner {
    /// The products folder holding the test bundle also holds the executable.
    public static var binary: URL {
        let products = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }?.bundleURL.deletingLastPathComponent()
            ?? Bundle.main.bundleURL
        return products.appendingPathComponent("segvol")
    }

    public struct Result {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try execute(binary, arguments, environment: environment)
    }

    /// Runs any executable to its end and collects its output; `environment` adds to this process's.
    public static func execute(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Both pipes are drained at once, before waiting, so a chatty child cannot block on either one when full.
        let errData = PipeContents()
        let stderrRead = DispatchGroup()
        stderrRead.enter()
        DispatchQueue.global().async {
            errData.data = err.fileHandleForReading.readDataToEndOfFile()
            stderrRead.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        stderrRead.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData.data, as: UTF8.self))
    }

    /// What the stderr reader hands back; the group's wait orders its one write before the read.
    private final class PipeContents: @unchecked Sendable {
        var data = Data()
    }
}
