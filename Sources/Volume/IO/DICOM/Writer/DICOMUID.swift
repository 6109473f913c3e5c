import Foundation

/// UIDs for the objects this engine writes.
enum DICOMUID {
    /// Identifies this engine as the writer of a file (PS3.7 D.3.3.2); made once from a UUID.
    static let implementationClass = "2.25.272194196803436860235108283648372942797"
    static let implementationVersion = "SEGVOL_ENGINE"

    /// A new UID under the 2.25 root: a random UUID written as one decimal integer (PS3.5 B.2).
    static func make() -> String {
        var digits = withUnsafeBytes(of: UUID().uuid) { Array($0) }
        var decimal: [Character] = []
        // Long division of the 128-bit big-endian number by 10, one digit per pass.
        while digits.contains(where: { $0 != 0 }) {
            var remainder = 0
            for n in digits.indices {
                let value = remainder * 256 + Int(digits[n])
                digits[n] = UInt8(value / 10)
                remainder = value % 10
            }
            decimal.append(Character(String(remainder)))
        }
        return "2.25." + (decimal.isEmpty ? "0" : String(decimal.reversed()))
    }
}
