import Foundation

/// The text stages in front of BPE, as the published CLIP `tokenizer.json` configures them:
/// normaliser (NFC, whitespace runs to one space, lower case), the CLIP split regex and the
/// GPT-2 byte-to-unicode mapping.
enum CLIPTextSplitting {
    typealias Scalars = [Unicode.Scalar]

    /// Splits `text` at every occurrence of `token`; `nil` entries mark the occurrences.
    static func split(_ text: Scalars, on token: Scalars) -> [Scalars?] {
        var pieces: [Scalars?] = []
        var start = 0, i = 0
        while i + token.count <= text.count {
            if text[i..<(i + token.count)].elementsEqual(token) {
                pieces.append(Array(text[start..<i]))
                pieces.append(nil)
                i += token.count
                start = i
            } else {
                i += 1
            }
        }
        pieces.append(Array(text[start...]))
        return pieces
    }

    /// NFC, then `\s+` -> " ", then per-scalar lower case (the Rust normaliser maps each char
    /// on its own, so there is no context-dependent final sigma as `String.lowercased()` has).
    static func normalize(_ text: Scalars) -> Scalars {
        let nfc = String(String.UnicodeScalarView(text)).precomposedStringWithCanonicalMapping
        var out: Scalars = []
        var previousWasSpace = false
        for scalar in nfc.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !previousWasSpace { out.append(" ") }
                previousWasSpace = true
            } else {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                previousWasSpace = false
            }
        }
        return out
    }

    /// The words the pre-tokeniser keeps: the matches of
    /// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
    /// (leftmost alternative first, whitespace between matches dropped), each then re-split by
    /// the ByteLevel pre-tokeniser's GPT-2 regex, which changes only the special-token matches.
    static func words(_ text: Scalars) -> [Scalars] {
        var words: [Scalars] = []
        var i = 0
        while i < text.count {
            let scalar = text[i]
            if scalar.properties.isWhitespace {
                i += 1
            } else if let special = specialTokens.first(where: { text[i...].starts(with: $0) }) {
                // GPT-2's regex cuts "<|endoftext|>" into "<|", "endoftext", "|>".
                words += [Array(special.prefix(2)), Array(special.dropFirst(2).dropLast(2)), Array(special.suffix(2))]
                i += special.count
            } else if let contraction = contractions.first(where: { text[i...].starts(with: $0) }) {
                words.append(contraction)
                i += contraction.count
            } else if isLetter(scalar) {
                let end = text[i...].firstIndex { !isLetter($0) } ?? text.count
                words.append(Array(text[i..<end]))
                i = end
            } else if isNumber(scalar) {
                words.append([scalar])
                i += 1
            } else {
                let end = text[i...].firstIndex { $0.properties.isWhitespace || isLetter($0) || isNumber($0) } ?? text.count
                words.append(Array(text[i..<end]))
                i = end
            }
        }
        return words
    }

    private static let specialTokens: [Scalars] = ["<|startoftext|>", "<|endoftext|>"].map { Array($0.unicodeScalars) }
    private static let contractions: [Scalars] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    private static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the other 68
    /// bytes are moved to U+0100 and up, so every byte is a visible vocabulary character.
    static let byteToUnicode: [String] = {
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var table = [String](repeating: "", count: 256)
        var next = 256
        for byte in 0..<256 {
            let code: Int
            if printable.contains(byte) {
                code = byte
            } else {
                code = next
                next += 1
            }
            table[byte] = String(Character(Unicode.Scalar(UInt32(code))!))
        }
        return table
    }()
}
