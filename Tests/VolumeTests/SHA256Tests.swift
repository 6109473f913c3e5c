import Foundation
import TestSupport
import Volume
import XCTest

/// SHA-256 against the FIPS 180-4 examples and the system's sha256sum.
final class SHA256Tests: XCTestCase {
    func testKnownDigests() {
        XCTAssertEqual(SHA256.hex(of: Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(of: Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(of: Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(of: Data(repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Feeding the bytes in pieces of every awkward size gives the digest of the whole.
    func testPiecewiseUpdatesEqualOneUpdate() {
        var random = SeededRandom(seed: 3)
        let bytes = Data((0..<1000).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        let whole = SHA256.hex(of: bytes)
        for piece in [1, 3, 63, 64, 65, 127, 999] {
            var hasher = SHA256()
            var start = 0
            while start < bytes.count {
                hasher.update(bytes[start..<min(start + piece, bytes.count)])
                start += piece
            }
            XCTAssertEqual(hasher.finalize(), whole, "pieces of \(piece)")
        }
    }

    func testFileDigestMatchesSha256sum() throws {
        let ct = Fixtures.data("ct/example_ct_sm.nii.gz")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [ct.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(try SHA256.hex(ofFile: ct), String(output.prefix(64)))
    }
}
