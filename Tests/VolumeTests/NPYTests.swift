import Foundation
import TestSupport
import Volume
import XCTest

final class NPYTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("NPYTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func testRoundTrip() throws {
        var random = SeededRandom(seed: 7)
        for shape in [[3, 4, 5], [7], [], [2, 0, 3]] {
            let data = random.floats(shape.reduce(1, *))
            let url = folder.appendingPathComponent("a.npy")
            try NPY.write(data, shape: shape, to: url)
            let back = try NPY.readFloat32(url)
            XCTAssertEqual(back.shape, shape)
            XCTAssertEqual(back.data, data)
            // NumPy aligns the data start to 64 bytes.
            let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int
            XCTAssertEqual(size.map { ($0 - 4 * data.count) % 64 }, 0)
        }
    }

    func testReadsOfficialFixture() throws {
        let (shape, data) = try NPY.readFloat32(Fixtures.model("text").appendingPathComponent("preprocessed.npy"))
        XCTAssertEqual(shape, [30, 96, 121])
        XCTAssertEqual(data.count, 30 * 96 * 121)
        // From numpy: sum in float64 and one element.
        XCTAssertEqual(data.reduce(0.0) { $0 + Double($1) }, 80555.3672330468, accuracy: 1e-6)
        XCTAssertEqual(data[123_456], 0.2637793719768524)
    }

    /// Builds a version-1 .npy file with the given header dict and payload.
    private func npy(_ dict: String, _ payload: [UInt8], version: UInt8 = 1) throws -> URL {
        var header = Array(dict.utf8) + [0x0a]
        let lengthBytes = version == 1 ? 2 : 4
        let length = (0..<lengthBytes).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) }
        header = [0x93] + Array("NUMPY".utf8) + [version, 0] + length + header
        let url = folder.appendingPathComponent("t-\(UUID().uuidString).npy")
        try Data(header + payload).write(to: url)
        return url
    }

    private func bytes<T>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    func testOtherTypesAndVersion2() throws {
        let f8 = try npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", bytes([1.5, -2, 3, 4.25] as [Double]))
        XCTAssertEqual(try NPY.readFloat32(f8).data, [1.5, -2, 3, 4.25])
        let i8 = try npy("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", bytes([-7, 0, 9] as [Int64]))
        XCTAssertEqual(try NPY.readFloat32(i8).data, [-7, 0, 9])
        let u1 = try npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 3), }", [0, 128, 255], version: 2)
        let read = try NPY.readFloat32(u1)
        XCTAssertEqual(read.shape, [1, 3])
        XCTAssertEqual(read.data, [0, 128, 255])
    }

    func testBadInputsThrow() throws {
        let cases: [(URL, String)] = [
            (try npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", [UInt8](repeating: 0, count: 16)), "Fortran"),
            (try npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", [UInt8](repeating: 0, count: 8)), "dtype '>f4'"),
            (try npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", [UInt8](repeating: 0, count: 8)), "truncated"),
            (try npy("{'descr': '<f4', 'shape': (4,), }", [UInt8](repeating: 0, count: 16)), "fortran_order"),
            (folder.appendingPathComponent("missing.npy"), "cannot open"),
        ]
        for (url, fragment) in cases {
            XCTAssertThrowsError(try NPY.readFloat32(url)) { error in
                let message = (error as? NPYError)?.message ?? "not an NPYError: \(error)"
                XCTAssertTrue(message.contains(fragment) && message.contains(url.path), message)
            }
        }
        XCTAssertThrowsError(try NPY.write([1, 2, 3], shape: [2, 2], to: folder.appendingPathComponent("x.npy")))
    }
}
