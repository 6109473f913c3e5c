import Foundation
import TestSupport
import XCTest
@testable import Model

final class CheckpointTests: XCTestCase {
    private let positionEmbeddings = "model.image_encoder.patch_embedding.position_embeddings"
    private let gaussianMatrix = "model.prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"

    // MARK: fixtures

    /// Shapes that every fixture shares (the tiny config: E = 64, CLIP hidden 32).
    func testFixturesLoadWithExpectedShapes() throws {
        for folder in Fixtures.fixtureFolders {
            let checkpoint = try Checkpoint(contentsOf: Fixtures.model(folder).appendingPathComponent("pytorch_model.bin"))
            XCTAssertEqual(checkpoint.names.count, 205, folder)
            XCTAssertEqual(checkpoint.names.first, positionEmbeddings, folder)
            XCTAssertEqual(checkpoint.names.last, "model.text_encoder.clip_text_model.text_model.embeddings.position_ids", folder)
            let expected: [String: [Int]] = [
                positionEmbeddings: [1, 64, 64],
                "model.image_encoder.patch_embedding.patch_embeddings.1.weight": [64, 1024],
                "model.text_encoder.dim_align.weight": [64, 32],
                "model.mask_decoder.output_upscaling.0.weight": [64, 16, 2, 2, 2],
                "model.mask_decoder.output_upscaling.1.weight": [16, 8, 8, 8],
                "model.text_encoder.clip_text_model.text_model.embeddings.token_embedding.weight": [49408, 32],
                gaussianMatrix: [3, 32],
            ]
            for (name, shape) in expected {
                XCTAssertEqual(checkpoint[name]?.shape, shape, "\(folder) \(name)")
            }
            let ids = try XCTUnwrap(checkpoint["model.text_encoder.clip_text_model.text_model.embeddings.position_ids"])
            XCTAssertEqual(ids.dtype, .int64)
            XCTAssertEqual(try ids.floats(), (0..<77).map(Float.init))
            XCTAssertEqual(checkpoint[positionEmbeddings]?.dtype, folder == "box-fp16" ? .float16 : .float32)
            XCTAssertNil(checkpoint["model.no_such_tensor"])
        }
    }

    /// First values and sums extracted from the raw storages with python zipfile + numpy.
    func testFixtureValuesMatchNumpy() throws {
        let expected: [(folder: String, first: [Float], sum: Double, firstPosition: [Float])] = [
            ("text-box", [-0.5545857548713684, -0.3869098424911499, -0.9785393476486206, 0.41505807638168335], -8.623088241103687,
             [-0.017591247335076332, -0.018005628138780594, -0.0039152903482317924, -0.0067793563939630985]),
            ("text", [1.2073547840118408, 0.17068378627300262, 1.6671925783157349, -0.7243108153343201], 8.20846996596083,
             [-0.023837435990571976, -0.01172237191349268, -0.010218451730906963, -0.02514819987118244]),
            ("box-fp16", [-0.331298828125, -0.5234375, 0.0274658203125, -0.7431640625], -7.331718444824219,
             [-0.016265869140625, 0.01432037353515625, -0.0203704833984375, -0.017333984375]),
        ]
        for item in expected {
            let checkpoint = try Checkpoint(contentsOf: Fixtures.model(item.folder).appendingPathComponent("pytorch_model.bin"))
            let matrix = try XCTUnwrap(checkpoint[gaussianMatrix]).floats()
            XCTAssertEqual(matrix.count, 96)
            XCTAssertEqual(Array(matrix.prefix(4)), item.first, item.folder)
            XCTAssertEqual(matrix.reduce(0) { $0 + Double($1) }, item.sum, accuracy: 1e-9, item.folder)
            let position = try XCTUnwrap(checkpoint[positionEmbeddings])
            XCTAssertEqual(position.count, 4096)
            XCTAssertEqual(Array(try position.floats().prefix(4)), item.firstPosition, item.folder)
        }
    }

    func testHalfBitsOfFloat16Fixture() throws {
        let checkpoint = try Checkpoint(contentsOf: Fixtures.model("box-fp16").appendingPathComponent("pytorch_model.bin"))
        let position = try XCTUnwrap(checkpoint[positionEmbeddings])
        XCTAssertEqual(Array(try XCTUnwrap(position.halfBits()).prefix(4)), [42026, 9045, 42295, 42096])
        let fp32 = try Checkpoint(contentsOf: Fixtures.model("text").appendingPathComponent("pytorch_model.bin"))
        XCTAssertNil(try fp32[positionEmbeddings]?.halfBits())
    }

    // MARK: strided views, all storage types, ZIP64

    /// Made with Python's pickle (protocol 2, as torch.save) over stand-ins for torch's classes, in a
    /// zip written by hand like PyTorch's: stem `archive`, 'FB' padding, ZIP64 sizes and offsets.
    /// Storage 0 = arange(12) * 0.5 - 1 (float32), viewed as `model.strided` (offset 2, size (2, 3),
    /// stride (1, 2)) and `model.whole`; `model.half_t` = fp16 [1, -2.5, 65504, 2^-24, -0, 0.333] with
    /// size (3, 2), stride (1, 3); `model.bf` = bf16 bits [0x3F80, 0xC040, 0x0001, 0x7F80] through
    /// `_rebuild_parameter`; `model.ids` = int64 [0, 1, -5, 2^40]; the dict carries `_metadata` (BUILD).
    private static let stridedArchive = Data(base64Encoded: """
        UEsDBC0AAAAAAAAAAABLLuQZYgIAAGICAAAQABIAYXJjaGl2ZS9kYXRhLnBrbEZCDgBaWlpaWlpaWlpaWlpaWoACY2NvbGxlY3Rp
        b25zCk9yZGVyZWREaWN0CnEAKVJxAShYDQAAAG1vZGVsLnN0cmlkZWRxAmN0b3JjaC5fdXRpbHMKX3JlYnVpbGRfdGVuc29yX3Yy
        CnEDKChYBwAAAHN0b3JhZ2VxBGN0b3JjaApGbG9hdFN0b3JhZ2UKcQVYAQAAADBxBlgDAAAAY3B1cQdLDHRxCFFLAksCSwOGcQlL
        AUsChnEKiWgAKVJxC3RxDFJxDVgLAAAAbW9kZWwud2hvbGVxDmgDKChoBGgFaAZoB0sMdHEPUUsASwyFcRBLAYVxEYloAClScRJ0
        cRNScRRYDAAAAG1vZGVsLmhhbGZfdHEVaAMoKGgEY3RvcmNoCkhhbGZTdG9yYWdlCnEWWAEAAAAxcRdoB0sGdHEYUUsASwNLAoZx
        GUsBSwOGcRqJaAApUnEbdHEcUnEdWAgAAABtb2RlbC5iZnEeY3RvcmNoLl91dGlscwpfcmVidWlsZF9wYXJhbWV0ZXIKcR9oAygo
        aARjdG9yY2gKQkZsb2F0MTZTdG9yYWdlCnEgWAIAAABiN3EhaAdLBHRxIlFLAEsCSwKGcSNLAksBhnEkiWgAKVJxJXRxJlJxJ4ho
        AClScSiHcSlScSpYCQAAAG1vZGVsLmlkc3EraAMoKGgEY3RvcmNoCkxvbmdTdG9yYWdlCnEsWAEAAAAzcS1oB0sEdHEuUUsASwSF
        cS9oEYloAClScTB0cTFScTJ1fXEzWAkAAABfbWV0YWRhdGFxNGgAKVJxNVgAAAAAcTZ9cTdYBwAAAHZlcnNpb25xOEsBc3NzYi5Q
        SwMELQAAAAAAAAAAAIU94xkGAAAABgAAABEALwBhcmNoaXZlL2J5dGVvcmRlckZCKwBaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpa
        WlpaWlpaWlpaWlpaWlpaWlpabGl0dGxlUEsDBC0AAAAAAAAAAADMImYLMAAAADAAAAAOAA4AYXJjaGl2ZS9kYXRhLzBGQgoAWlpa
        WlpaWlpaWgAAgL8AAAC/AAAAAAAAAD8AAIA/AADAPwAAAEAAACBAAABAQAAAYEAAAIBAAACQQFBLAwQtAAAAAAAAAAAA3h4wnAwA
        AAAMAAAADgAkAGFyY2hpdmUvZGF0YS8xRkIgAFpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaADwAwf97AQAAgFQ1UEsD
        BC0AAAAAAAAAAAA8/vrNCAAAAAgAAAAPAAcAYXJjaGl2ZS9kYXRhL2I3RkIDAFpaWoA/QMABAIB/UEsDBC0AAAAAAAAAAAAAm7La
        IAAAACAAAAAOAAwAYXJjaGl2ZS9kYXRhLzNGQggAWlpaWlpaWloAAAAAAAAAAAEAAAAAAAAA+/////////8AAAAAAAEAAFBLAQIt
        AC0AAAAAAAAAAABLLuQZ//////////8QABwAAAAAAAAAAAAAAP////9hcmNoaXZlL2RhdGEucGtsAQAYAGICAAAAAAAAYgIAAAAA
        AAAAAAAAAAAAAFBLAQItAC0AAAAAAAAAAACFPeMZ//////////8RABwAAAAAAAAAAAAAAP////9hcmNoaXZlL2J5dGVvcmRlcgEA
        GAAGAAAAAAAAAAYAAAAAAAAAogIAAAAAAABQSwECLQAtAAAAAAAAAAAAzCJmC///////////DgAcAAAAAAAAAAAAAAD/////YXJj
        aGl2ZS9kYXRhLzABABgAMAAAAAAAAAAwAAAAAAAAAAYDAAAAAAAAUEsBAi0ALQAAAAAAAAAAAN4eMJz//////////w4AHAAAAAAA
        AAAAAAAA/////2FyY2hpdmUvZGF0YS8xAQAYAAwAAAAAAAAADAAAAAAAAABwAwAAAAAAAFBLAQItAC0AAAAAAAAAAAA8/vrN////
        //////8PABwAAAAAAAAAAAAAAP////9hcmNoaXZlL2RhdGEvYjcBABgACAAAAAAAAAAIAAAAAAAAAMwDAAAAAAAAUEsBAi0ALQAA
        AAAAAAAAAACbstr//////////w4AHAAAAAAAAAAAAAAA/////2FyY2hpdmUvZGF0YS8zAQAYACAAAAAAAAAAIAAAAAAAAAAIBAAA
        AAAAAFBLBgYsAAAAAAAAAC0ALQAAAAAAAAAAAAYAAAAAAAAABgAAAAAAAAAWAgAAAAAAAGAEAAAAAAAAUEsGBwAAAAB2BgAAAAAA
        AAEAAABQSwUGAAAAAP///////////////wAA
        """, options: .ignoreUnknownCharacters)!

    /// Like the archive above, but its only tensor (size (2, 7), stride (1, 2), offset 2) overruns the 12-element storage.
    private static let overrunArchive = Data(base64Encoded: """
        UEsDBC0AAAAAAAAAAAAWdAxWrwAAAK8AAAAKABgAeC9kYXRhLnBrbEZCFABaWlpaWlpaWlpaWlpaWlpaWlpaWoACY2NvbGxlY3Rp
        b25zCk9yZGVyZWREaWN0CnEAKVJxAVgHAAAAdG9vX2ZhcnECY3RvcmNoLl91dGlscwpfcmVidWlsZF90ZW5zb3JfdjIKcQMoKFgH
        AAAAc3RvcmFnZXEEY3RvcmNoCkZsb2F0U3RvcmFnZQpxBVgBAAAAMHEGWAMAAABjcHVxB0sMdHEIUUsCSwJLB4ZxCUsBSwKGcQqJ
        aAApUnELdHEMUnENcy5QSwMELQAAAAAAAAAAAIU94xkGAAAABgAAAAsAKAB4L2J5dGVvcmRlckZCJABaWlpaWlpaWlpaWlpaWlpa
        WlpaWlpaWlpaWlpaWlpaWlpaWlpsaXR0bGVQSwMELQAAAAAAAAAAAMwiZgswAAAAMAAAAAgAFAB4L2RhdGEvMEZCEABaWlpaWlpa
        WlpaWlpaWlpaAACAvwAAAL8AAAAAAAAAPwAAgD8AAMA/AAAAQAAAIEAAAEBAAABgQAAAgEAAAJBAUEsBAi0ALQAAAAAAAAAAABZ0
        DFb//////////woAHAAAAAAAAAAAAAAA/////3gvZGF0YS5wa2wBABgArwAAAAAAAACvAAAAAAAAAAAAAAAAAAAAUEsBAi0ALQAA
        AAAAAAAAAIU94xn//////////wsAHAAAAAAAAAAAAAAA/////3gvYnl0ZW9yZGVyAQAYAAYAAAAAAAAABgAAAAAAAADvAAAAAAAA
        AFBLAQItAC0AAAAAAAAAAADMImYL//////////8IABwAAAAAAAAAAAAAAP////94L2RhdGEvMAEAGAAwAAAAAAAAADAAAAAAAAAA
        RgEAAAAAAABQSwYGLAAAAAAAAAAtAC0AAAAAAAAAAAADAAAAAAAAAAMAAAAAAAAA+wAAAAAAAACwAQAAAAAAAFBLBgcAAAAAqwIA
        AAAAAAABAAAAUEsFBgAAAAD///////////////8AAA==
        """, options: .ignoreUnknownCharacters)!

    func testStridedViewsAndStorageTypes() throws {
        let url = try write(Self.stridedArchive, "strided.bin")
        let checkpoint = try Checkpoint(contentsOf: url)
        XCTAssertEqual(checkpoint.names, ["model.strided", "model.whole", "model.half_t", "model.bf", "model.ids"])

        let strided = try XCTUnwrap(checkpoint["model.strided"])
        XCTAssertEqual(strided.shape, [2, 3])
        XCTAssertEqual(try strided.floats(), [0, 1, 2, 0.5, 1.5, 2.5])
        XCTAssertEqual(try checkpoint["model.whole"]?.floats(), (0..<12).map { Float($0) * 0.5 - 1 })

        let half = try XCTUnwrap(checkpoint["model.half_t"])
        XCTAssertEqual(half.dtype, .float16)
        let halfValues = try half.floats()
        XCTAssertEqual(halfValues, [1, 0x1p-24, -2.5, 0, 65504, 0.3330078125])
        XCTAssertEqual(halfValues[3].sign, .minus)
        XCTAssertEqual(try half.halfBits(), [15360, 1, 49408, 32768, 31743, 13652])

        let bf = try XCTUnwrap(checkpoint["model.bf"])
        XCTAssertEqual(bf.dtype, .bfloat16)
        XCTAssertEqual(try bf.floats(), [1, -3, Float(bitPattern: 0x0001_0000), .infinity])
        XCTAssertNil(try bf.halfBits())

        let ids = try XCTUnwrap(checkpoint["model.ids"])
        XCTAssertEqual(ids.dtype, .int64)
        XCTAssertEqual(try ids.floats(), [0, 1, -5, 0x1p40])
    }

    func testHalfConversionIsExactForEveryBitPattern() {
        for bits in UInt16.min...UInt16.max {
            let value = floatFromHalf(bits)
            let exponent = Int(bits >> 10) & 0x1F
            let mantissa = Double(bits & 0x3FF)
            let sign: Double = bits & 0x8000 != 0 ? -1 : 1
            switch exponent {
            case 0x1F where mantissa != 0: XCTAssertTrue(value.isNaN, "\(bits)")
            case 0x1F: XCTAssertEqual(Double(value), sign * .infinity, "\(bits)")
            case 0: XCTAssertEqual(Double(value), sign * mantissa * 0x1p-24, "\(bits)")
            default: XCTAssertEqual(Double(value), sign * (1 + mantissa / 1024) * pow(2, Double(exponent - 15)), "\(bits)")
            }
        }
    }

    /// `pickle.dumps(value, protocol=2 and 4)` of a plain value: the result is rendered like Python's repr.
    func testUnpicklerReadsPlainValues() throws {
        let pickles = [
            "gAJdcQAoSwFdcQEoSwJLA2VdcQJLB2EoR0ASAAAAAAAAToiJdHEDfXEEKFgBAAAAYXEFSpDu/v9YAQAAAGJxBooGAAAAAAABWAEAAABjcQeKCAAAAAAAAACAdX1xCFgBAAAAa3EJWAIAAADDqXEKc00sAWUu",
            "gASVWQAAAAAAAABdlChLAV2UKEsCSwNlXZRLB2EoR0ASAAAAAAAAToiJdJR9lCiMAWGUSpDu/v+MAWKUigYAAAAAAAGMAWOUiggAAAAAAAAAgHV9lIwBa5SMAsOplHNNLAFlLg==",
        ]
        let unpickler = Unpickler(persistentLoad: { _ in throw FormatError("no persistent ids here") },
                                  reduce: { module, name, _ in throw FormatError("no calls here: \(module).\(name)") })
        for base64 in pickles {
            let data = try XCTUnwrap(Data(base64Encoded: base64))
            let value = try unpickler.load(ByteSpan(data: data, offset: 0, count: data.count))
            XCTAssertEqual(repr(value), "[1, [2, 3], [7], (4.5, None, True, False), "
                + "{'a': -70000, 'b': 1099511627776, 'c': -9223372036854775808}, {'k': 'é'}, 300]")
        }
    }

    private func repr(_ value: PickleValue) -> String {
        switch value {
        case .none: return "None"
        case .bool(let flag): return flag ? "True" : "False"
        case .int(let n): return "\(n)"
        case .float(let x): return "\(x)"
        case .string(let text): return "'\(text)'"
        case .tuple(let items): return "(" + items.map(repr).joined(separator: ", ") + ")"
        case .list(let list): return "[" + list.items.map(repr).joined(separator: ", ") + "]"
        case .dict(let dict): return "{" + dict.entries.map { repr($0.key) + ": " + repr($0.value) }.joined(separator: ", ") + "}"
        default: return value.kind
        }
    }

    // MARK: safetensors

    func testSafeTensorsRoundTrip() throws {
        // Header order differs from data order on purpose: names come back in data order.
        let floats: [Float] = [1.5, -2, 3.25, 0, 1e-3, 7]
        let halves: [UInt16] = [0x3C00, 0xC000]  // 1, -2
        let brains: [UInt16] = [0x4040]  // 3
        let longs: [Int64] = [-1, 1 << 40]
        var body = Data()
        func append<T>(_ values: [T]) -> [Int] {
            let begin = body.count
            values.withUnsafeBytes { body.append(contentsOf: $0) }
            return [begin, body.count]
        }
        let f = append(floats), h = append(halves), b = append(brains), l = append(longs)
        let header = """
        {"z.long":{"dtype":"I64","shape":[2],"data_offsets":\(l)},\
        "__metadata__":{"format":"pt"},\
        "b.half":{"dtype":"F16","shape":[2,1],"data_offsets":\(h)},\
        "y.brain":{"dtype":"BF16","shape":[],"data_offsets":\(b)},\
        "a.float":{"dtype":"F32","shape":[2,3],"data_offsets":\(f)}}
        """
        var file = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: Array(header.utf8))
        file.append(body)
        let checkpoint = try Checkpoint(contentsOf: try write(file, "model.safetensors"))

        XCTAssertEqual(checkpoint.names, ["a.float", "b.half", "y.brain", "z.long"])
        XCTAssertEqual(checkpoint["a.float"]?.shape, [2, 3])
        XCTAssertEqual(try checkpoint["a.float"]?.floats(), floats)
        XCTAssertEqual(try checkpoint["b.half"]?.floats(), [1, -2])
        XCTAssertEqual(try checkpoint["b.half"]?.halfBits(), halves)
        XCTAssertEqual(checkpoint["y.brain"]?.count, 1)
        XCTAssertEqual(try checkpoint["y.brain"]?.floats(), [3])
        XCTAssertEqual(try checkpoint["z.long"]?.floats(), [-1, 0x1p40])

        // A tensor whose byte range disagrees with its shape is rejected.
        let wrong = header.replacingOccurrences(of: "\"shape\":[2,3]", with: "\"shape\":[3,3]")
        var bad = Data()
        withUnsafeBytes(of: UInt64(wrong.utf8.count).littleEndian) { bad.append(contentsOf: $0) }
        bad.append(contentsOf: Array(wrong.utf8))
        bad.append(body)
        try assertCheckpointError(bad, "bad.safetensors", mentioning: "a.float")
    }

    // MARK: bad input

    func testTruncatedFixtureThrows() throws {
        let full = try Data(contentsOf: Fixtures.model("text-box").appendingPathComponent("pytorch_model.bin"))
        try assertCheckpointError(full.prefix(full.count * 6 / 10), "truncated.bin", mentioning: "end-of-central-directory")
    }

    func testRandomEmptyAndTextFilesThrow() throws {
        var random = SeededRandom(seed: 7)
        let noise = Data((0..<4096).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        try assertCheckpointError(noise, "random.bin", mentioning: "not a PyTorch or safetensors checkpoint")
        try assertCheckpointError(Data(), "empty.bin", mentioning: "not a PyTorch or safetensors checkpoint")
        try assertCheckpointError(Data("hello, this is not a model\n".utf8), "text.txt", mentioning: "not a PyTorch or safetensors checkpoint")
        try assertCheckpointError(Data("PK\u{3}\u{4}".utf8), "tiny.zip", mentioning: "zip")
    }

    func testMissingStorageThrows() throws {
        // Renames the zip entry (local and central names) that holds storage '3'.
        let renamed = replacing(Self.stridedArchive, Data("archive/data/3".utf8), with: Data("archive/data/9".utf8))
        try assertCheckpointError(renamed, "missing.bin", mentioning: "storage '3'")
    }

    func testStorageTooSmallThrows() throws {
        try assertCheckpointError(Self.overrunArchive, "overrun.bin", mentioning: "too_far")
    }

    func testUnknownOpcodeThrows() throws {
        // The pickle ends "SETITEM SETITEM SETITEM BUILD STOP": turn BUILD into an undefined opcode.
        let patched = replacing(Self.stridedArchive, Data("sssb.".utf8), with: Data([0x73, 0x73, 0x73, 0xFF, 0x2E]))
        try assertCheckpointError(patched, "opcode.bin", mentioning: "unsupported pickle opcode 0xFF")
    }

    /// Every prefix and many single-byte corruptions of a small archive load or throw CheckpointError, never crash.
    func testDamagedArchivesNeverCrash() throws {
        let original = [UInt8](Self.stridedArchive)
        var damaged: [[UInt8]] = (0..<original.count).map { Array(original.prefix($0)) }
        var random = SeededRandom(seed: 11)
        for _ in 0..<500 {
            var bytes = original
            bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            damaged.append(bytes)
        }
        let url = temporaryFolder.appendingPathComponent("damaged.bin")
        for bytes in damaged {
            try Data(bytes).write(to: url)
            do {
                let checkpoint = try Checkpoint(contentsOf: url)
                for name in checkpoint.names { _ = try checkpoint[name]?.floats() }
            } catch {
                XCTAssertTrue(error is CheckpointError, "\(error)")
            }
        }
    }

    func testDeflatedEntryIsReported() throws {
        // Marks the first central-directory entry (data.pkl) as deflate-compressed.
        var bytes = [UInt8](Self.stridedArchive)
        let central = try XCTUnwrap((0..<(bytes.count - 4)).first { bytes[$0..<($0 + 4)].elementsEqual([0x50, 0x4B, 0x01, 0x02]) })
        bytes[central + 10] = 8
        try assertCheckpointError(Data(bytes), "deflate.bin", mentioning: "unsupported compression (deflate)")
    }

    func testUnreadableFileThrows() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-checkpoint-\(UUID()).bin")
        XCTAssertThrowsError(try Checkpoint(contentsOf: missing)) { error in
            XCTAssertTrue((error as? CheckpointError)?.description.hasPrefix(missing.path) == true, "\(error)")
        }
    }

    // MARK: helpers

    private var temporaryFolder: URL!

    override func setUpWithError() throws {
        temporaryFolder = FileManager.default.temporaryDirectory.appendingPathComponent("CheckpointTests-\(UUID())")
        try FileManager.default.createDirectory(at: temporaryFolder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: temporaryFolder)
    }

    private func write(_ data: Data, _ name: String) throws -> URL {
        let url = temporaryFolder.appendingPathComponent(name)
        try data.write(to: url)
        return url
    }

    private func assertCheckpointError(_ data: Data, _ name: String, mentioning text: String,
                                       file: StaticString = #filePath, line: UInt = #line) throws {
        let url = try write(data, name)
        XCTAssertThrowsError(try Checkpoint(contentsOf: url), file: file, line: line) { error in
            guard let error = error as? CheckpointError else {
                return XCTFail("expected CheckpointError, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.file, url.path, file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix(url.path + ": "), error.description, file: file, line: line)
            XCTAssertTrue(error.message.contains(text), error.message, file: file, line: line)
        }
    }

    /// Replaces every occurrence of `pattern` (same length as `replacement`).
    private func replacing(_ data: Data, _ pattern: Data, with replacement: Data) -> Data {
        var bytes = [UInt8](data)
        var found = 0
        var i = 0
        while i + pattern.count <= bytes.count {
            if bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
                bytes.replaceSubrange(i..<(i + pattern.count), with: replacement)
                found += 1
            }
            i += 1
        }
        XCTAssertGreaterThan(found, 0, "pattern not found")
        return Data(bytes)
    }
}
