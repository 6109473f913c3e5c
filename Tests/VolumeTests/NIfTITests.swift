import Foundation
import TestSupport
import Volume
import XCTest

/// A hand-built single-file NIfTI-1 header, for files the shared data does not cover.
struct TestNIfTI {
    var dim: [Int16] = [3, 1, 1, 1, 1, 1, 1, 1]
    var datatype: Int16 = 4
    var bitpix: Int16 = 16
    var pixdim: [Float] = [1, 1, 1, 1, 1, 1, 1, 1]
    var qformCode: Int16 = 0
    var sformCode: Int16 = 0
    var quatern: [Float] = [0, 0, 0]
    var qoffset: [Float] = [0, 0, 0]
    var slope: Float = 0
    var intercept: Float = 0
    var magic = "n+1\0"
    var bigEndian = false

    /// Header, empty extension flag, then `voxels` as given (already in the file's byte order).
    func bytes(voxels: [UInt8]) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 348)
        func put<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
            let ordered = bigEndian ? value.bigEndian : value.littleEndian
            withUnsafeBytes(of: ordered) { header.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        put(Int32(348), 0)
        for (n, value) in dim.enumerated() { put(value, 40 + 2 * n) }
        put(datatype, 70)
        put(bitpix, 72)
        for (n, value) in pixdim.enumerated() { put(value.bitPattern, 76 + 4 * n) }
        put(Float(352).bitPattern, 108)
        put(slope.bitPattern, 112)
        put(intercept.bitPattern, 116)
        put(qformCode, 252)
        put(sformCode, 254)
        for (n, value) in (quatern + qoffset).enumerated() { put(value.bitPattern, 256 + 4 * n) }
        header.replaceSubrange(344..<348, with: Array(magic.utf8))
        return header + [0, 0, 0, 0] + voxels
    }
}

final class NIfTITests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("NIfTITests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private func file(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// Sum and a position-weighted sum, the checksums computed with nibabel for the shared files.
    private func checksums(_ data: [Float]) -> (Double, Double) {
        var sum = 0.0, weighted = 0.0
        for (n, value) in data.enumerated() {
            sum += Double(value)
            weighted += Double(value) * Double(n % 97 + 1)
        }
        return (sum, weighted)
    }

    private func assertAffine(_ actual: [[Double]], _ expected: [[Double]], accuracy: Double = 1e-6,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, 4, file: file, line: line)
        for (rowA, rowE) in zip(actual, expected) {
            for (a, e) in zip(rowA, rowE) { XCTAssertEqual(a, e, accuracy: accuracy, "\(actual)", file: file, line: line) }
        }
    }

    // Reference numbers from nibabel 5.4.2 (np.asarray(img.dataobj), Fortran-order ravel, img.affine).
    private let exampleAffine: [[Double]] = [
        [3, 0, 0, -177.95632934570312], [0, 3, 0, 11.319000244140625], [0, 0, 3, 94.3017578125], [0, 0, 0, 1],
    ]

    func testReadsSharedCTInt16() throws {
        let image = try NIfTI.read(Fixtures.data("ct/example_ct_sm.nii.gz"))
        XCTAssertEqual(image.header.dims, [122, 101, 30])
        XCTAssertEqual(image.header.datatype, 4)
        XCTAssertEqual(image.header.pixdim, [3, 3, 3])
        assertAffine(image.header.affine, exampleAffine, accuracy: 0)
        XCTAssertEqual(image.data.count, 369_660)
        let (sum, weighted) = checksums(image.data)
        XCTAssertEqual(sum, -130_894_872)
        XCTAssertEqual(weighted, -6_406_950_021)
        XCTAssertEqual([image.data[0], image.data[1], image.data[1000], image.data[12345], image.data[369_659]],
                       [-1024, -1023, -688, -638, -997])
    }

    func testReadsSharedCTInt32AndMaskWithExtensions() throws {
        let ct = try NIfTI.read(Fixtures.data("ct/example_ct.nii.gz"))
        XCTAssertEqual(ct.header.dims, [122, 101, 112])
        XCTAssertEqual(ct.header.datatype, 8)
        XCTAssertEqual(checksums(ct.data).0, -496_851_173)
        XCTAssertEqual(checksums(ct.data).1, -24_349_761_257)

        // The segmentation has vox_offset 13168: its voxels follow header extensions.
        let seg = try NIfTI.read(Fixtures.data("ct/example_seg.nii.gz"))
        XCTAssertEqual(seg.header.dims, [122, 101, 30])
        XCTAssertEqual(seg.header.datatype, 2)
        assertAffine(seg.header.affine, exampleAffine, accuracy: 0)
        XCTAssertEqual(checksums(seg.data).0, 2_734_697)
        XCTAssertEqual(checksums(seg.data).1, 133_791_270)
        XCTAssertEqual(seg.data[1750], 86)
    }

    func testBigEndianQformWithScaling() throws {
        var header = TestNIfTI()
        header.bigEndian = true
        header.dim = [4, 4, 3, 2, 1, 1, 1, 1]
        header.pixdim = [-1, 2, 3, 4, 1, 1, 1, 1]
        header.qformCode = 1
        header.quatern = [0.1, 0.2, 0.3]
        header.qoffset = [10, 20, 30]
        header.slope = 2
        header.intercept = -5
        let voxels = (0..<24).flatMap { value in withUnsafeBytes(of: Int16(value).bigEndian) { Array($0) } }
        let image = try NIfTI.read(file("q.nii", header.bytes(voxels: voxels)))
        XCTAssertTrue(image.header.isBigEndian)
        XCTAssertEqual(image.header.dims, [4, 3, 2])
        XCTAssertEqual(image.data, (0..<24).map { Float($0) * 2 - 5 })
        // nibabel's affine for the same bytes.
        assertAffine(image.header.affine, [
            [1.4799999666213983, -1.5492513835553647, -1.7237789870466562, 10],
            [1.1928342604719482, 2.3999999552965154, 0.26188946074077313, 20],
            [-0.6218894804103061, 0.9164171348946458, -3.599999988079071, 30],
            [0, 0, 0, 1],
        ], accuracy: 1e-12)

        // A mask written like a big-endian header reads back the same.
        let out = folder.appendingPathComponent("q-out.nii.gz")
        let probabilities = (0..<24).map { Float($0) / 24 }
        try NIfTI.write(float32: probabilities, like: image.header, to: out)
        let back = try NIfTI.read(out)
        XCTAssertEqual(back.data, probabilities)
        XCTAssertEqual(back.header.affine, image.header.affine)
    }

    func testFloat64WithoutOrientationUsesPixdimAffine() throws {
        var header = TestNIfTI()
        header.dim = [3, 5, 4, 3, 1, 1, 1, 1]
        header.datatype = 64
        header.bitpix = 64
        header.pixdim = [1, 1.5, 2, 2.5, 1, 1, 1, 1]
        let voxels = (0..<60).flatMap { value in withUnsafeBytes(of: (Double(value) * 0.5).bitPattern.littleEndian) { Array($0) } }
        let image = try NIfTI.read(file("b.nii", header.bytes(voxels: voxels)))
        XCTAssertEqual(image.data, (0..<60).map { Float($0) * 0.5 })
        // nibabel's base affine: x flipped, centred on the volume.
        assertAffine(image.header.affine, [[-1.5, 0, 0, 3], [0, 2, 0, -3], [0, 0, 2.5, -2.5], [0, 0, 0, 1]], accuracy: 0)
    }

    func testMaskAndFloatRoundTrip() throws {
        let ct = try NIfTI.read(Fixtures.data("ct/example_ct_sm.nii.gz"))
        let mask = ct.data.map { $0 > 0 ? UInt8(1) : 0 }
        let probabilities = ct.data.map { $0 / 1000 }
        for name in ["mask.nii", "mask.nii.gz"] {
            let url = folder.appendingPathComponent(name)
            try NIfTI.write(mask: mask, like: ct.header, to: url)
            let back = try NIfTI.read(url)
            XCTAssertEqual(back.header.dims, ct.header.dims)
            XCTAssertEqual(back.header.pixdim, ct.header.pixdim)
            XCTAssertEqual(back.header.datatype, 2)
            XCTAssertEqual(back.header.affine, ct.header.affine)
            XCTAssertEqual(back.data, mask.map(Float.init))
            // The rest of the header (descrip, codes, units) is carried over.
            XCTAssertEqual(back.header.rawHeader[148..<228], ct.header.rawHeader[148..<228])
            XCTAssertEqual(back.header.rawHeader[252..<344], ct.header.rawHeader[252..<344])
            XCTAssertEqual(back.header.rawHeader[123], ct.header.rawHeader[123])
        }
        for name in ["prob.nii", "prob.nii.gz"] {
            let url = folder.appendingPathComponent(name)
            try NIfTI.write(float32: probabilities, like: ct.header, to: url)
            let back = try NIfTI.read(url)
            XCTAssertEqual(back.header.datatype, 16)
            XCTAssertEqual(back.header.affine, ct.header.affine)
            XCTAssertEqual(back.data, probabilities)
        }
        // Only the written files remain: the temporary files were renamed.
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        XCTAssertEqual(names, ["mask.nii", "mask.nii.gz", "prob.nii", "prob.nii.gz"])
    }

    func testGzipIsDetectedByContentNotName() throws {
        let ct = try NIfTI.read(Fixtures.data("ct/example_ct_sm.nii.gz"))
        let mask = ct.data.map { $0 > 0 ? UInt8(1) : 0 }
        let compressed = folder.appendingPathComponent("a.nii.gz")
        let plain = folder.appendingPathComponent("b.nii")
        try NIfTI.write(mask: mask, like: ct.header, to: compressed)
        try NIfTI.write(mask: mask, like: ct.header, to: plain)
        let swappedCompressed = folder.appendingPathComponent("compressed.nii")
        let swappedPlain = folder.appendingPathComponent("plain.nii.gz")
        try FileManager.default.moveItem(at: compressed, to: swappedCompressed)
        try FileManager.default.moveItem(at: plain, to: swappedPlain)
        XCTAssertEqual(try NIfTI.read(swappedCompressed).data, mask.map(Float.init))
        XCTAssertEqual(try NIfTI.read(swappedPlain).data, mask.map(Float.init))
    }

    func testWrongVoxelCountIsAnError() throws {
        let ct = try NIfTI.read(Fixtures.data("ct/example_ct_sm.nii.gz"))
        let url = folder.appendingPathComponent("short.nii")
        XCTAssertThrowsError(try NIfTI.write(mask: [0, 1], like: ct.header, to: url)) { error in
            XCTAssertTrue(error is NIfTIError)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    /// Reading `url` throws a NIfTIError that names the file and contains `fragment`.
    private func assertReadFails(_ url: URL, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try NIfTI.read(url), file: file, line: line) { error in
            guard let error = error as? NIfTIError else {
                return XCTFail("not a NIfTIError: \(error)", file: file, line: line)
            }
            XCTAssertTrue(error.message.contains(url.path), error.message, file: file, line: line)
            XCTAssertTrue(error.message.contains(fragment), error.message, file: file, line: line)
        }
    }

    func testBadInputsThrow() throws {
        let ct = try NIfTI.read(Fixtures.data("ct/example_ct_sm.nii.gz"))
        let full = folder.appendingPathComponent("full.nii.gz")
        try NIfTI.write(mask: ct.data.map { $0 > 0 ? 1 : 0 }, like: ct.header, to: full)
        let bytes = [UInt8](try Data(contentsOf: full))
        assertReadFails(try file("truncated.nii.gz", Array(bytes[0..<bytes.count / 2])), "truncated")
        assertReadFails(try file("no-trailer.nii.gz", Array(bytes[0..<bytes.count - 4])), "truncated")
        var corrupt = bytes
        for n in 40..<80 { corrupt[n] ^= 0x5a }
        assertReadFails(try file("corrupt.nii.gz", corrupt), "gzip")

        let plain = folder.appendingPathComponent("plain.nii")
        try NIfTI.write(mask: ct.data.map { $0 > 0 ? 1 : 0 }, like: ct.header, to: plain)
        let plainBytes = [UInt8](try Data(contentsOf: plain))
        assertReadFails(try file("short.nii", Array(plainBytes[0..<1000])), "truncated")
        assertReadFails(try file("tiny.nii", Array(plainBytes[0..<100])), "too short")

        assertReadFails(try file("text.nii", Array(String(repeating: "not an image\n", count: 40).utf8)), "not a NIfTI-1")
        assertReadFails(folder.appendingPathComponent("missing.nii.gz"), "cannot open")

        var flat = TestNIfTI()
        flat.dim = [2, 4, 4, 1, 1, 1, 1, 1]
        assertReadFails(try file("2d.nii", flat.bytes(voxels: [UInt8](repeating: 0, count: 32))), "2D")

        var series = TestNIfTI()
        series.dim = [4, 2, 2, 2, 3, 1, 1, 1]
        assertReadFails(try file("4d.nii", series.bytes(voxels: [UInt8](repeating: 0, count: 48))), "single 3D volume")

        var pair = TestNIfTI()
        pair.dim = [3, 2, 2, 2, 1, 1, 1, 1]
        pair.magic = "ni1\0"
        assertReadFails(try file("pair.hdr", pair.bytes(voxels: [])), "detached .hdr/.img")

        var rgb = TestNIfTI()
        rgb.dim = [3, 2, 2, 2, 1, 1, 1, 1]
        rgb.datatype = 128
        rgb.bitpix = 24
        assertReadFails(try file("rgb.nii", rgb.bytes(voxels: [UInt8](repeating: 0, count: 24))), "datatype code 128")
    }
}
