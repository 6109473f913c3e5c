import Foundation

public struct TokenizerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "TokenizerError: \(message)" }
}

/// CLIP's byte-level BPE tokenizer, producing the same ids as the published HuggingFace one.
public final class CLIPTokenizer {
    public static let bos: Int32 = 49406
    public static let eos: Int32 = 49407
    public static let maxLength = 77

    /// The slow HF tokenizer keeps only this many merges of a merges.txt (49152 - 256 - 2).
    private static let mergeCount = 48_894

    private struct Pair: Hashable {
        let first: String
        let second: String
    }

    private let vocab: [String: Int32]
    private let ranks: [Pair: Int]
    /// Word -> ids, as CLIP caches BPE results; guarded by `cacheLock`.
    private var cache: [String: [Int32]] = [:]
    private let cacheLock = NSLock()

    /// Reads `vocab.json` and the merges from `tokenizer.json`, or else from `merges.txt`.
    public init(modelDirectory: URL) throws {
        let vocabURL = modelDirectory.appendingPathComponent("vocab.json")
        let tokenizerURL = modelDirectory.appendingPathComponent("tokenizer.json")
        let mergesURL = modelDirectory.appendingPathComponent("merges.txt")
        let files = FileManager.default

        guard files.fileExists(atPath: vocabURL.path) else {
            throw TokenizerError(message: "no vocab.json in \(modelDirectory.path)")
        }
        vocab = try Self.decode([String: Int32].self, from: vocabURL)

        let merges: [Pair]
        if files.fileExists(atPath: tokenizerURL.path) {
            merges = try Self.decode(TokenizerFile.self, from: tokenizerURL).model.merges.map { Pair(first: $0.first, second: $0.second) }
        } else if files.fileExists(atPath: mergesURL.path) {
            merges = try Self.readMergesText(mergesURL)
        } else {
            throw TokenizerError(message: "no tokenizer.json or merges.txt in \(modelDirectory.path)")
        }
        ranks = Dictionary(merges.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: min)
    }

    /// `[BOS] + tokens + [EOS]`; throws if that is longer than `maxLength`.
    public func encode(_ text: String) throws -> [Int32] {
        var ids: [Int32] = [Self.bos]
        // Per tokenizer.json's added_tokens: <|endoftext|> is found in the raw text
        // (normalized: false), <|startoftext|> after normalisation (normalized: true).
        for raw in CLIPTextSplitting.split(Array(text.unicodeScalars), on: Array("<|endoftext|>".unicodeScalars)) {
            guard let raw else { ids.append(Self.eos); continue }
            let normalized = CLIPTextSplitting.normalize(raw)
            for piece in CLIPTextSplitting.split(normalized, on: Array("<|startoftext|>".unicodeScalars)) {
                guard let piece else { ids.append(Self.bos); continue }
                for word in CLIPTextSplitting.words(piece) {
                    ids += bpeIDs(forWord: String(String.UnicodeScalarView(word)))
                }
            }
        }
        ids.append(Self.eos)
        if ids.count > Self.maxLength {
            throw TokenizerError(message: "prompt is too long: \(ids.count) tokens with BOS and EOS, "
                + "\(ids.count - Self.maxLength) over the limit of \(Self.maxLength)")
        }
        return ids
    }

    public static func prompt(forCategory name: String) -> String {
        "A computerized tomography of a \(name)."
    }

    private func bpeIDs(forWord word: String) -> [Int32] {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let cached = cache[word] { return cached }
        var symbols = word.utf8.map { CLIPTextSplitting.byteToUnicode[Int($0)] }
        symbols[symbols.count - 1] += "</w>"
        // Unknown symbols map to the unk token, <|endoftext|>, as in tokenizer.json.
        let ids = bpe(symbols).map { vocab[$0] ?? Self.eos }
        cache[word] = ids
        return ids
    }

    /// Repeatedly merges every occurrence (left to right) of the lowest-ranked adjacent pair.
    private func bpe(_ word: [String]) -> [String] {
        var symbols = word
        while symbols.count > 1 {
            var best: (rank: Int, pair: Pair)?
            for i in 0..<(symbols.count - 1) {
                let pair = Pair(first: symbols[i], second: symbols[i + 1])
                if let rank = ranks[pair], rank < best?.rank ?? .max { best = (rank, pair) }
            }
            guard let pair = best?.pair else { break }
            var merged: [String] = []
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count, symbols[i] == pair.first, symbols[i + 1] == pair.second {
                    merged.append(pair.first + pair.second)
                    i += 2
                } else {
                    merged.append(symbols[i])
                    i += 1
                }
            }
            symbols = merged
        }
        return symbols
    }

    private static func decode<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(contentsOf: url))
        } catch {
            throw TokenizerError(message: "cannot read \(url.lastPathComponent): \(error)")
        }
    }

    /// merges.txt: a `#version` line, then one "first second" pair per line.
    private static func readMergesText(_ url: URL) throws -> [Pair] {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw TokenizerError(message: "cannot read merges.txt: \(error)")
        }
        var lines = text.split(whereSeparator: \.isNewline)
        if lines.first?.hasPrefix("#version") == true { lines.removeFirst() }
        return try lines.prefix(mergeCount).map { line in
            let parts = line.split(whereSeparator: \.isWhitespace)
            guard parts.count == 2 else { throw TokenizerError(message: "bad merges.txt line: \(line)") }
            return Pair(first: String(parts[0]), second: String(parts[1]))
        }
    }
}

/// The part of tokenizer.json the tokenizer needs: `model.merges`.
private struct TokenizerFile: Decodable {
    struct Model: Decodable { let merges: [Merge] }
    let model: Model
}

/// One merge, stored either as "first second" or as ["first", "second"].
private struct Merge: Decodable {
    let first: String
    let second: String

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let parts = try (try? container.decode([String].self)) ?? container.decode(String.self).split(separator: " ").map(String.init)
        guard parts.count == 2 else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "merge is not a pair: \(parts)")
        }
        (first, second) = (parts[0], parts[1])
    }
}
