import Foundation
import Kernels
import TestSupport
import XCTest

/// resize3d (PyTorch F.interpolate on 5D input): Vulkan against the CPU reference, PyTorch's nearest
/// indices, the zoom-out fixture, and outputs larger than one binding.
final class ResizeTests: XCTestCase {
    let cpu = CPUBackend()
    let modes: [ResizeMode] = [.nearest, .nearestExact, .trilinear(alignCorners: false), .trilinear(alignCorners: true)]

    private func resize(_ backend: Backend, _ values: [Float], channels: Int, _ inSize: [Int], _ outSize: [Int],
                        _ mode: ResizeMode) throws -> [Float] {
        let x = try backend.tensor(values, shape: [channels] + inSize, dtype: .float32)
        let out = try backend.empty(shape: [channels] + outSize)
        try backend.resize3d(x, out: out, channels: channels, inSize: inSize, outSize: outSize, mode: mode)
        return try backend.read(out)
    }

    func testAllModesUpAndDown() throws {
        let gpu = try VulkanTesting.backend()
        var random = SeededRandom(seed: 21)
        let cases: [(channels: Int, inSize: [Int], outSize: [Int])] = [
            (2, [5, 7, 30], [11, 3, 16]),
            (1, [1, 121, 7], [7, 64, 1]),
            (3, [7, 1, 64], [1, 7, 121]),
            (1, [16, 30, 17], [16, 30, 17]),
            (2, [4, 16, 16], [8, 64, 64]),
        ]
        for (channels, inSize, outSize) in cases {
            let x = random.floats(channels * inSize.reduce(1, *))
            for mode in modes {
                let expected = try resize(cpu, x, channels: channels, inSize, outSize, mode)
                let actual = try resize(gpu, x, channels: channels, inSize, outSize, mode)
                if mode == .nearest || mode == .nearestExact {
                    XCTAssertEqual(actual, expected, "\(mode) \(inSize)->\(outSize): nearest copies values exactly")
                } else {
                    // Same taps and weights as the reference; only fused multiply-adds may round differently.
                    XCTAssertLessThan(relativeMaxError(actual, expected), 1e-6, "\(mode) \(inSize)->\(outSize)")
                }
            }
        }
    }

    /// Indices from PyTorch's CPU formulas worked by hand: legacy floorf(dst * (float)(in/out)),
    /// nearest-exact floorf((dst + 0.5) * scale - 0.5 + 0.5), both clamped to in - 1.
    func testNearestIndicesMatchPyTorch() {
        func indices(_ inSize: Int, _ outSize: Int, _ mode: ResizeMode) -> [Int] {
            resizeTaps(inSize: inSize, outSize: outSize, mode: mode).map(\.i0)
        }
        func check(_ inSize: Int, _ outSize: Int, _ mode: ResizeMode, head: [Int], tail: [Int], line: UInt = #line) {
            let all = indices(inSize, outSize, mode)
            XCTAssertEqual(Array(all.prefix(head.count)), head, "\(mode) \(inSize)->\(outSize) head", line: line)
            XCTAssertEqual(Array(all.suffix(tail.count)), tail, "\(mode) \(inSize)->\(outSize) tail", line: line)
        }
        // 121/64 = 1.890625 exactly: legacy floor(1.890625 i), exact floor(1.890625 (i + 0.5)).
        check(121, 64, .nearest, head: [0, 1, 3, 5, 7], tail: [113, 115, 117, 119])
        check(121, 64, .nearestExact, head: [0, 2, 4, 6, 8], tail: [114, 116, 118, 120])
        // 64/121 = 0.5289...: i = 120 gives 63.47 (legacy) and 63.74 (exact).
        check(64, 121, .nearest, head: [0, 0, 1, 1, 2], tail: [61, 62, 62, 63])
        check(64, 121, .nearestExact, head: [0, 0, 1, 1, 2], tail: [62, 62, 63, 63])
        check(30, 16, .nearest, head: [0, 1, 3, 5, 7], tail: [22, 24, 26, 28])
        check(30, 16, .nearestExact, head: [0, 2, 4, 6, 8], tail: [23, 25, 27, 29])
        check(96, 64, .nearest, head: [0, 1, 3, 4, 6], tail: [90, 91, 93, 94])
        check(96, 64, .nearestExact, head: [0, 2, 3, 5, 6], tail: [90, 92, 93, 95])
        check(16, 30, .nearest, head: [0, 0, 1, 1, 2], tail: [13, 14, 14, 15])
        check(5, 11, .nearestExact, head: [0, 0, 1, 1, 2], tail: [3, 3, 4, 4])
        // One output: legacy takes 0, nearest-exact the middle (floor(0.5 * 7) = 3).
        XCTAssertEqual(indices(7, 1, .nearest), [0])
        XCTAssertEqual(indices(7, 1, .nearestExact), [3])
        // Trilinear: half-pixel source clamped at 0; align_corners maps the ends onto the ends.
        let half = resizeTaps(inSize: 4, outSize: 8, mode: .trilinear(alignCorners: false))
        XCTAssertEqual(half[0], ResizeTap(i0: 0, i1: 1, w0: 1, w1: 0))
        XCTAssertEqual(half[1], ResizeTap(i0: 0, i1: 1, w0: 0.75, w1: 0.25))
        // Past the last centre the index stops at in - 1 but the weight is still the fraction (both taps read x[3]).
        XCTAssertEqual(half[7], ResizeTap(i0: 3, i1: 3, w0: 0.75, w1: 0.25))
        let corners = resizeTaps(inSize: 3, outSize: 5, mode: .trilinear(alignCorners: true))
        XCTAssertEqual(corners[1], ResizeTap(i0: 0, i1: 1, w0: 0.5, w1: 0.5))
        XCTAssertEqual(corners[4], ResizeTap(i0: 2, i1: 2, w0: 1, w1: 0))
        XCTAssertEqual(resizeTaps(inSize: 9, outSize: 1, mode: .trilinear(alignCorners: true))[0].i0, 0)
    }

    /// The fixture's zoom-out image is PyTorch's nearest-exact resize of the preprocessed volume.
    func testZoomOutFixtureExactly() throws {
        let folder = Fixtures.model("text")
        let source = folder.appendingPathComponent("preprocessed.npy")
        let target = folder.appendingPathComponent("zoom_out_image.npy")
        guard FileManager.default.fileExists(atPath: source.path) else { throw XCTSkip("fixture missing: \(source.path)") }
        let (inSize, input) = try loadFloatNpy(source)
        let (outSize, expected) = try loadFloatNpy(target)
        let gpu = try VulkanTesting.backend()
        for backend in [cpu, gpu] as [Backend] {
            let actual = try resize(backend, input, channels: 1, inSize, outSize, .nearestExact)
            XCTAssertEqual(actual, expected, "\(backend.kind): nearest-exact \(inSize)->\(outSize) bit-exact")
        }
    }

    /// An output past maxStorageBufferRange (136 MB, 2 channels, 128 MiB bindings on lavapipe) is resized in
    /// ranges of depth planes, one range crossing the channel boundary. Checked on sampled voxels.
    func testOutputLargerThanOneBinding() throws {
        let gpu = try VulkanTesting.backend()
        let (channels, inSize, outSize) = (2, [8, 64, 64], [260, 256, 256])
        try XCTSkipUnless(channels * outSize.reduce(1, *) * 4 > Int(gpu.device.info.maxStorageBufferRange),
                          "device bindings hold the whole output")
        let input = (0..<channels * inSize.reduce(1, *)).map { Float($0 % 9973) }
        for mode in [ResizeMode.nearest, .trilinear(alignCorners: false)] {
            let actual = try resize(gpu, input, channels: channels, inSize, outSize, mode)
            let taps = (0..<3).map { resizeTaps(inSize: inSize[$0], outSize: outSize[$0], mode: mode) }
            var random = SeededRandom(seed: 22)
            var samples = [0, outSize.reduce(1, *) - 1, outSize.reduce(1, *), actual.count - 1]
            samples += (0..<2000).map { _ in Int(random.next() % UInt64(actual.count)) }
            for index in samples {
                let w = index % outSize[2], h = index / outSize[2] % outSize[1]
                let d = index / (outSize[1] * outSize[2]) % outSize[0], c = index / outSize.reduce(1, *)
                let (td, th, tw) = (taps[0][d], taps[1][h], taps[2][w])
                func value(_ id: Int, _ ih: Int, _ iw: Int) -> Float {
                    input[((c * inSize[0] + id) * inSize[1] + ih) * inSize[2] + iw]
                }
                func row(_ id: Int, _ ih: Int) -> Float { value(id, ih, tw.i0) * tw.w0 + value(id, ih, tw.i1) * tw.w1 }
                func plane(_ id: Int) -> Float { row(id, th.i0) * th.w0 + row(id, th.i1) * th.w1 }
                let expected = plane(td.i0) * td.w0 + plane(td.i1) * td.w1
                // Values up to ~1e4 with weights in [0, 1]: a few ulps of fused multiply-add difference.
                XCTAssertEqual(actual[index], expected, accuracy: 4e-3, "\(mode) voxel \(index) (c \(c), d \(d), h \(h), w \(w))")
            }
        }
    }

    /// A little-endian float32 C-order .npy file: shape and values.
    private func loadFloatNpy(_ url: URL) throws -> ([Int], [Float]) {
        let data = try Data(contentsOf: url)
        guard data.count > 10, data.prefix(6) == Data([0x93]) + Data("NUMPY".utf8) else { throw BackendError("not an npy file") }
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        guard let header = String(data: data[10..<10 + headerLength], encoding: .ascii), header.contains("'<f4'"),
              let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw BackendError("unsupported npy header")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let count = shape.reduce(1, *)
        let start = 10 + headerLength
        guard data.count >= start + count * 4 else { throw BackendError("npy file too short") }
        let values = data[start..<start + count * 4].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (shape, values)
    }
}
