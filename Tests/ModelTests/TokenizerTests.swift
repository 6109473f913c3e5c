import Foundation
import Model
import TestSupport
import XCTest

final class TokenizerTests: XCTestCase {
    private func tokenizer(_ folder: String = "text-box") throws -> CLIPTokenizer {
        try CLIPTokenizer(modelDirectory: Fixtures.model(folder))
    }

    /// The prompt ids the reference run recorded in each fixture's result.json.
    func testMatchesReferenceTokenIDs() throws {
        for folder in Fixtures.fixtureFolders {
            let result = try JSONSerialization.jsonObject(
                with: Data(contentsOf: Fixtures.model(folder).appendingPathComponent("result.json"))) as! [String: Any]
            let expected = result["token_ids"] as! [String: [Int]]
            XCTAssertFalse(expected.isEmpty, folder)
            let tokenizer = try tokenizer(folder)
            for (name, ids) in expected {
                let actual = try tokenizer.encode(CLIPTokenizer.prompt(forCategory: name))
                XCTAssertEqual(actual, ids.map(Int32.init), "\(folder): \(name)")
            }
        }
    }

    // Expected ids below come from vocab.json / merges by hand, cross-checked with the
    // HuggingFace `tokenizers` library loading the fixture tokenizer.json.
    func testSmallCases() throws {
        let tokenizer = try tokenizer()
        let cases: [(String, [Int32])] = [
            ("", [49406, 49407]),
            ("a liver", [49406, 320, 12639, 49407]),
            ("  A   LIVER  \n\t", [49406, 320, 12639, 49407]),       // whitespace collapsed, lower case
            ("it's liver!!", [49406, 585, 568, 12639, 748, 49407]),   // it</w> 's</w> liver</w> !!</w>
            ("hello, world", [49406, 3306, 267, 1002, 49407]),
            ("Cafe\u{301}", [49406, 15304, 49407]),                   // NFC: same as "café" = cafÃ©</w>
            ("x\u{A0}y", [49406, 343, 344, 49407]),                   // no-break space is whitespace
            ("liver<|endoftext|>", [49406, 12639, 49407, 49407]),     // special token kept whole
            ("<|ENDOFTEXT|>!", [49406, 27, 347, 40786, 4160, 91, 285, 256, 49407]), // not special: < |</w> endof text</w> | ></w> !</w>
        ]
        for (text, ids) in cases {
            XCTAssertEqual(try tokenizer.encode(text), ids, text.debugDescription)
        }
    }

    func testLengthLimit() throws {
        let tokenizer = try tokenizer()
        // 75 one-token words plus BOS and EOS is exactly the limit.
        XCTAssertEqual(try tokenizer.encode(Array(repeating: "liver", count: 75).joined(separator: " ")).count, 77)
        XCTAssertThrowsError(try tokenizer.encode(Array(repeating: "liver", count: 100).joined(separator: " "))) { error in
            let message = (error as? TokenizerError)?.message ?? ""
            XCTAssertTrue(message.contains("too long"), message)
            XCTAssertTrue(message.contains("25 over"), message)
        }
    }

    func testMissingFilesAreNamed() throws {
        let empty = try temporaryDirectory()
        XCTAssertThrowsError(try CLIPTokenizer(modelDirectory: empty)) { error in
            XCTAssertTrue((error as? TokenizerError)?.message.contains("vocab.json") == true, "\(error)")
        }
        try FileManager.default.copyItem(at: Fixtures.model("text").appendingPathComponent("vocab.json"),
                                         to: empty.appendingPathComponent("vocab.json"))
        XCTAssertThrowsError(try CLIPTokenizer(modelDirectory: empty)) { error in
            XCTAssertTrue((error as? TokenizerError)?.message.contains("merges.txt") == true, "\(error)")
        }
    }

    /// The same merges as merges.txt and as [a, b] pairs in tokenizer.json give the same ids.
    func testOtherMergeFormats() throws {
        let source = Fixtures.model("text")
        let tokenizerJSON = try JSONSerialization.jsonObject(
            with: Data(contentsOf: source.appendingPathComponent("tokenizer.json"))) as! [String: Any]
        let merges = (tokenizerJSON["model"] as! [String: Any])["merges"] as! [Any]
        let pairs = merges.map { ($0 as? [String]) ?? ($0 as! String).split(separator: " ").map(String.init) }

        let textFolder = try temporaryDirectory()
        try FileManager.default.copyItem(at: source.appendingPathComponent("vocab.json"),
                                         to: textFolder.appendingPathComponent("vocab.json"))
        let mergesText = (["#version: 0.2"] + pairs.map { $0.joined(separator: " ") }).joined(separator: "\n") + "\n"
        try mergesText.write(to: textFolder.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)

        let pairFolder = try temporaryDirectory()
        try FileManager.default.copyItem(at: source.appendingPathComponent("vocab.json"),
                                         to: pairFolder.appendingPathComponent("vocab.json"))
        try JSONSerialization.data(withJSONObject: ["model": ["merges": pairs]])
            .write(to: pairFolder.appendingPathComponent("tokenizer.json"))

        let reference = try tokenizer("text")
        let fromText = try CLIPTokenizer(modelDirectory: textFolder)
        let fromPairs = try CLIPTokenizer(modelDirectory: pairFolder)
        for name in ["Hepatic Vessel", "T12 vertebra", "inferior vena cava", "it's naïve!!"] {
            let prompt = CLIPTokenizer.prompt(forCategory: name)
            XCTAssertEqual(try fromText.encode(prompt), try reference.encode(prompt), name)
            XCTAssertEqual(try fromPairs.encode(prompt), try reference.encode(prompt), name)
        }
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
