import Foundation
import TestSupport
import Volume
import XCTest

/// Previews: view sizes follow the spacing, masks are drawn where they are in the radiological convention, and the
/// PNG decodes (with Pillow) to the same pixels.
final class PreviewTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("PreviewTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// 64 x 48 x 20 voxels of 1 x 1 x 3 mm, identity orientation, origin 0: RAS x = i, y = j, z = 3k.
    /// Every voxel is 40 HU, which the abdomen window (400/40) shows as grey 128.
    private func uniformImage() throws -> NIfTIImage {
        var header = TestNIfTI()
        header.dim = [3, 64, 48, 20, 1, 1, 1, 1]
        header.pixdim = [1, 1, 1, 3, 1, 1, 1, 1]
        header.qformCode = 1
        let voxels = (0..<64 * 48 * 20).flatMap { _ in withUnsafeBytes(of: Int16(40).littleEndian, Array.init) }
        let url = folder.appendingPathComponent("uniform.nii")
        try Data(header.bytes(voxels: voxels)).write(to: url)
        return try NIfTI.read(url)
    }

    /// A box of voxels, inclusive, on the 64 x 48 x 20 grid.
    private func box(_ i: ClosedRange<Int>, _ j: ClosedRange<Int>, _ k: ClosedRange<Int>) -> [UInt8] {
        var mask = [UInt8](repeating: 0, count: 64 * 48 * 20)
        for z in k { for y in j { for x in i { mask[(z * 48 + y) * 64 + x] = 1 } } }
        return mask
    }

    func testViewsRespectSpacingAndDrawMasksWhereTheyAre() throws {
        let image = try uniformImage()
        let labels = LabelTable(names: ["liver", "spleen"])
        let masks = [box(10...20, 8...16, 5...9), box(40...50, 30...40, 10...14)]
        let preview = try PreviewRenderer.render(image: image, masks: masks, labels: labels, window: .abdomen, title: "uniform")
        XCTAssertEqual(preview.views.count, 6)

        // The longest extent (64 mm in x; z spans 60 mm) maps to 256 pixels: 0.25 mm a pixel in every view, so
        // the 3 mm slices are not squashed.
        let sizes = preview.views.prefix(3).map { [$0.width, $0.height] }
        XCTAssertEqual(sizes, [[256, 192], [256, 240], [192, 240]])
        XCTAssertTrue(preview.views.allSatisfy { $0.millimetresPerPixel == 0.25 })

        let grey = RGB(128, 128, 128)
        let liver = labels.entries[0].colour
        let filled = blend(grey, liver, 0.35)
        // The liver's views pass through its centroid (i 15, j 12, k 7: x 15, y 12, z 21). Its box spans
        // x 9.5...20.5, y 7.5...16.5, z 13.5...28.5 mm. Radiological convention: x (towards the patient's right)
        // decreases to the right of the image from 63.5, y decreases downwards from 47.5 (axial), z from 58.5.
        let axial = preview.views[0], coronal = preview.views[1], sagittal = preview.views[2]
        check(preview.image, axial, across: (63.5, 9.5...20.5), down: (47.5, 7.5...16.5), inside: filled, outside: grey, outline: liver)
        check(preview.image, coronal, across: (63.5, 9.5...20.5), down: (58.5, 13.5...28.5), inside: filled, outside: grey, outline: liver)
        // Sagittal: y decreases to the right (anterior on the left).
        check(preview.image, sagittal, across: (47.5, 7.5...16.5), down: (58.5, 13.5...28.5), inside: filled, outside: grey, outline: liver)
        // The spleen's row: its own colour where its box is, in the axial view through z = 36.
        let spleen = labels.entries[1].colour
        check(preview.image, preview.views[3], across: (63.5, 39.5...50.5), down: (47.5, 29.5...40.5),
              inside: blend(grey, spleen, 0.35), outside: grey, outline: spleen)
    }

    func testPNGDecodesToTheSamePixels() throws {
        let preview = try PreviewRenderer.render(image: try uniformImage(), masks: [box(10...20, 8...16, 5...9)],
                                                 labels: LabelTable(names: ["liver"]), window: .abdomen, title: "uniform")
        let png = folder.appendingPathComponent("preview.png"), raw = folder.appendingPathComponent("preview.rgb")
        try PNGEncoder.encode(preview.image).write(to: png)
        let decoded = try PythonReference.run(script: "png_to_rgb.py", [png.path, raw.path])
        XCTAssertEqual(decoded.trimmingCharacters(in: .whitespacesAndNewlines),
                       "\(preview.image.width) \(preview.image.height) RGB")
        XCTAssertEqual([UInt8](try Data(contentsOf: raw)), preview.image.pixels)
    }

    /// A real CT with TotalSegmentator's masks: each category's colour is drawn in each of its own views, and
    /// an empty mask gets a row without views.
    func testRealCTWithTotalSegmentatorMasks() throws {
        let ct = try NIfTI.read(Fixtures.data("ct/example_ct_sm.nii.gz"))
        let segmentation = try NIfTI.read(Fixtures.data("ct/example_seg.nii.gz"))
        // Labels of the shared map: 5 liver, 1 spleen, 2 right kidney; 90 (brain) is not in this abdomen.
        let values: [Float] = [5, 1, 2, 90]
        let masks = values.map { value in segmentation.data.map { $0 == value ? UInt8(1) : 0 } }
        let labels = LabelTable(names: ["liver", "spleen", "right kidney", "brain"])
        let preview = try PreviewRenderer.render(image: ct, masks: masks, labels: labels, window: .abdomen, title: "ct")
        XCTAssertEqual(preview.views.map(\.label), [1, 1, 1, 2, 2, 2, 3, 3, 3])
        for view in preview.views {
            let colour = labels.entries[view.label - 1].colour
            var count = 0
            for y in view.y..<view.y + view.height {
                for x in view.x..<view.x + view.width where preview.image[x, y] == colour { count += 1 }
            }
            XCTAssertGreaterThan(count, 10, "outline of label \(view.label) in the \(view.plane.name) view")
        }
    }

    /// Checks one view against a box in its plane: `across` and `down` give the millimetre coordinate at the view's
    /// left (top) edge, decreasing by the scale per pixel, and the box's range along it. Pixels more than two pixels
    /// inside the box must be `inside`, more than two outside (up to 5 mm away) `outside`; pixels in the band
    /// between are the outline or the fill, and the outline appears.
    private func check(_ image: RGBImage, _ view: Preview.View, across: (Double, ClosedRange<Double>),
                       down: (Double, ClosedRange<Double>), inside: RGB, outside: RGB, outline: RGB,
                       file: StaticString = #filePath, line: UInt = #line) {
        let scale = view.millimetresPerPixel, margin = 2 * view.millimetresPerPixel
        var outlinePixels = 0, wrong = 0
        for v in 0..<view.height {
            for u in 0..<view.width {
                let a = across.0 - (Double(u) + 0.5) * scale, b = down.0 - (Double(v) + 0.5) * scale
                let distance = max(distanceOutside(a, across.1), distanceOutside(b, down.1))
                let pixel = image[view.x + u, view.y + v]
                if distance < -margin {
                    if pixel != inside { wrong += 1 }
                } else if distance > margin && distance < 5 {
                    if pixel != outside { wrong += 1 }
                } else if abs(distance) <= margin {
                    if pixel == outline { outlinePixels += 1 } else if pixel != inside && pixel != outside { wrong += 1 }
                }
            }
        }
        XCTAssertEqual(wrong, 0, "pixels of the wrong colour in the \(view.plane.name) view", file: file, line: line)
        XCTAssertGreaterThan(outlinePixels, 20, "outline in the \(view.plane.name) view", file: file, line: line)
    }

    /// Positive outside the range (how far), negative inside (how deep).
    private func distanceOutside(_ value: Double, _ range: ClosedRange<Double>) -> Double {
        max(range.lowerBound - value, value - range.upperBound)
    }

    private func blend(_ base: RGB, _ colour: RGB, _ opacity: Double) -> RGB {
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) * (1 - opacity) + Double(b) * opacity).rounded()) }
        return RGB(mix(base.red, colour.red), mix(base.green, colour.green), mix(base.blue, colour.blue))
    }
}
