import Foundation

/// Where the shared data lives: `$SEGVOL_SHARED`, else `../shared` beside the package root.
public enum Fixtures {
    public static let sharedDirectory: URL = {
        if let override = ProcessInfo.processInfo.environment["SEGVOL_SHARED"] {
            return URL(fileURLWithPath: override)
        }
        // #filePath is Tests/TestSupport/Fixtures.swift: three levels up is the package root.
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.deletingLastPathComponent().appendingPathComponent("shared")
    }()

    public static let officialTiny = sharedDirectory.appendingPathComponent("fixtures/official-tiny")
    public static let fixtureFolders = ["text-box", "text", "box-fp16"]

    public static func model(_ name: String) -> URL { officialTiny.appendingPathComponent(name) }
    public static func data(_ path: String) -> URL { sharedDirectory.appendingPathComponent("data/" + path) }
}

/// A small deterministic generator (SplitMix64) so random test inputs are the same on every run.
public struct SeededRandom {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }

    public mutating func floats(_ count: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        (0..<count).map { _ in uniform(lo, hi) }
    }
}

/// Largest |a - e| divided by the largest |e|: the tolerance measure the fixtures README states.
public func relativeMaxError(_ actual: [Float], _ expected: [Float]) -> Float {
    precondition(actual.count == expected.count, "size mismatch \(actual.count) vs \(expected.count)")
    var maxDiff: Float = 0
    var maxRef: Float = 0
    for i in 0..<actual.count {
        maxDiff = max(maxDiff, abs(actual[i] - expected[i]))
        maxRef = max(maxRef, abs(expected[i]))
    }
    if actual.contains(where: { $0.isNaN }) { return .infinity }
    return maxDiff / max(maxRef, 1e-30)
}
