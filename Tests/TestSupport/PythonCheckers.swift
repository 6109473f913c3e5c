import Foundation
import XCTest

/// The Python tools the DICOM tests compare against (pydicom, SimpleITK, highdicom), in the virtual
/// environment `tools/python-checkers.sh` creates under `.build/`. In CI (`CI=true`) a missing
/// checker fails the test; elsewhere the test is skipped with the reason.
public enum PythonCheckers {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private struct Failure: Error, CustomStringConvertible { let description: String }

    /// The venv's python, from the set-up script (idempotent: quick once the venv exists).
    private static let python: Result<String, Error> = Result {
        let setup = try execute(packageRoot.appendingPathComponent("tools/python-checkers.sh").path, [])
        guard setup.status == 0 else { throw Failure(description: "tools/python-checkers.sh failed: \(setup.stderr)") }
        return setup.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `Tests/PythonCheckers/dicom_checks.py` with `arguments`; returns its stdout.
    public static func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let interpreter: String
        switch python {
        case let .success(path):
            interpreter = path
        case let .failure(error):
            if VulkanTesting.isCI {
                XCTFail("CI requires the Python checkers: \(error)", file: file, line: line)
                throw error
            }
            throw XCTSkip("Python checkers unavailable (run tools/python-checkers.sh): \(error)")
        }
        let script = packageRoot.appendingPathComponent("Tests/PythonCheckers/dicom_checks.py").path
        let result = try execute(interpreter, [script] + arguments)
        guard result.status == 0 else {
            throw Failure(description: "dicom_checks.py \(arguments.first ?? "") failed: \(result.stderr)")
        }
        return result.stdout
    }

    private static func execute(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes before waiting so a chatty child cannot block on a full pipe.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}
