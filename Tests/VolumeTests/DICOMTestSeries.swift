import Foundation
import TestSupport

/// Series written by pydicom from the shared `example_ct_sm.nii.gz` (one folder per variant: see
/// `make_series` in Tests/Python/dicom_checks.py), made once per test class and removed after.
final class DICOMTestSeries {
    let root: URL
    let source: URL = Fixtures.data("ct/example_ct_sm.nii.gz")

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("segvol-dicom-\(UUID().uuidString)")
        _ = try PythonReference.run(script: "dicom_checks.py", ["make-series", source.path, root.path])
    }

    func url(_ variant: String) -> URL { root.appendingPathComponent(variant) }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

/// Largest difference between two 4x4 affines (their top three rows).
func affineDistance(_ a: [[Double]], _ b: [[Double]]) -> Double {
    (0..<3).flatMap { r in (0..<4).map { abs(a[r][$0] - b[r][$0]) } }.max() ?? .infinity
}
