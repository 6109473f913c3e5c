import Foundation
import TestSupport
import XCTest

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

/// Tests over the generated series: it is made on first use in a test class and removed after the class;
/// each test gets an empty scratch folder.
class DICOMSeriesTestCase: XCTestCase {
    private static var series: Result<DICOMTestSeries, Error>?
    var scratch: URL!

    func generatedSeries() throws -> DICOMTestSeries {
        if Self.series == nil { Self.series = Result { try DICOMTestSeries() } }
        return try Self.series!.get()
    }

    override class func tearDown() {
        if case .success(let series)? = series { series.remove() }
        series = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("segvol-\(type(of: self))-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }
}

/// Largest difference between two 4x4 affines (their top three rows).
func affineDistance(_ a: [[Double]], _ b: [[Double]]) -> Double {
    (0..<3).flatMap { r in (0..<4).map { abs(a[r][$0] - b[r][$0]) } }.max() ?? .infinity
}
