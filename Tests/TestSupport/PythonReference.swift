import Foundation
import XCTest

/// Runs scripts from `Tests/Python` in the Python environment `tools/python-env.sh` builds under `.build/`
/// (numpy, nibabel, Pillow, pydicom, SimpleITK, highdicom), so tests compare against independent implementations.
/// In CI (`CI=true`) an environment that cannot be built fails the test; elsewhere the test is skipped with the reason.
public enum PythonReference {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The environment's python, built on first use (a minute or two, with network access to PyPI).
    private static let python: Result<String, Error> = Result {
        let setup = try CLIRunner.execute(packageRoot.appendingPathComponent("tools/python-env.sh"), [])
        guard setup.status == 0 else { throw Failure(description: "tools/python-env.sh failed: \(setup.stderr)") }
        return setup.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `Tests/Python/<script>` with `arguments` and returns its standard output.
    public static func run(script: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let interpreter: String
        switch python {
        case let .success(path):
            interpreter = path
        case let .failure(error):
            if VulkanTesting.isCI {
                XCTFail("CI requires the Python reference environment: \(error)", file: file, line: line)
                throw error
            }
            throw XCTSkip("Python reference environment unavailable (run tools/python-env.sh): \(error)")
        }
        let result = try CLIRunner.execute(URL(fileURLWithPath: interpreter), [packageRoot.appendingPathComponent("Tests/Python/" + script).path] + arguments)
        guard result.status == 0 else {
            throw Failure(description: "\(script) \(arguments.first ?? "") failed: \(result.stderr)")
        }
        return result.stdout
    }
}
