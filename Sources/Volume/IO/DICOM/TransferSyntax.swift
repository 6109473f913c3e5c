/// A file's transfer syntax (PS3.5 A, PS3.6 A). Files in a syntax whose pixels we cannot decode
/// still parse (every encapsulated syntax is explicit VR little endian), so they can be listed;
/// decoding their pixels is an error naming the syntax.
public struct TransferSyntax: Equatable {
    public enum PixelEncoding: Equatable {
        case native, jpeg2000, jpegLS, rle, undecodable
    }

    public let uid: String
    public let name: String
    let isImplicitVR: Bool
    let isDeflated: Bool
    let pixelEncoding: PixelEncoding

    static let explicitVRLittleEndian = "1.2.840.10008.1.2.1"

    private static let supported: [TransferSyntax] = [
        .init(uid: "1.2.840.10008.1.2", name: "Implicit VR Little Endian", isImplicitVR: true, isDeflated: false, pixelEncoding: .native),
        .init(uid: explicitVRLittleEndian, name: "Explicit VR Little Endian", isImplicitVR: false, isDeflated: false, pixelEncoding: .native),
        .init(uid: "1.2.840.10008.1.2.1.99", name: "Deflated Explicit VR Little Endian", isImplicitVR: false, isDeflated: true, pixelEncoding: .native),
        .init(uid: "1.2.840.10008.1.2.4.80", name: "JPEG-LS Lossless", isImplicitVR: false, isDeflated: false, pixelEncoding: .jpegLS),
        .init(uid: "1.2.840.10008.1.2.4.81", name: "JPEG-LS Near-Lossless", isImplicitVR: false, isDeflated: false, pixelEncoding: .jpegLS),
        .init(uid: "1.2.840.10008.1.2.4.90", name: "JPEG 2000 Lossless", isImplicitVR: false, isDeflated: false, pixelEncoding: .jpeg2000),
        .init(uid: "1.2.840.10008.1.2.4.91", name: "JPEG 2000", isImplicitVR: false, isDeflated: false, pixelEncoding: .jpeg2000),
        .init(uid: "1.2.840.10008.1.2.5", name: "RLE Lossless", isImplicitVR: false, isDeflated: false, pixelEncoding: .rle),
    ]

    private static let explicitVRBigEndian = "1.2.840.10008.1.2.2"

    /// Names of syntaxes we recognise but cannot decode, so the error can say what the file is.
    private static let undecodableNames: [String: String] = [
        explicitVRBigEndian: "Explicit VR Big Endian",
        "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
        "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
        "1.2.840.10008.1.2.4.57": "JPEG Lossless (Process 14)",
        "1.2.840.10008.1.2.4.70": "JPEG Lossless SV1 (Process 14, Selection Value 1)",
        "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile",
        "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264",
        "1.2.840.10008.1.2.4.110": "JPEG XL Lossless",
    ]

    private init(uid: String, name: String, isImplicitVR: Bool, isDeflated: Bool, pixelEncoding: PixelEncoding) {
        self.uid = uid
        self.name = name
        self.isImplicitVR = isImplicitVR
        self.isDeflated = isDeflated
        self.pixelEncoding = pixelEncoding
    }

    init(uid: String) throws {
        if let known = Self.supported.first(where: { $0.uid == uid }) {
            self = known
            return
        }
        let name = Self.undecodableNames[uid] ?? "unknown"
        // Big endian data sets are not even parsed.
        if uid == Self.explicitVRBigEndian { throw DICOMParseError(Self.unsupportedMessage(uid: uid, name: name)) }
        self.uid = uid
        self.name = name
        isImplicitVR = false
        isDeflated = false
        pixelEncoding = .undecodable
    }

    /// The error for pixels this reader cannot decode: the syntax, and the ones it can.
    var unsupportedMessage: String { Self.unsupportedMessage(uid: uid, name: name) }

    private static func unsupportedMessage(uid: String, name: String) -> String {
        "transfer syntax \(uid) (\(name)) is not supported; supported: " + supported.map(\.name).joined(separator: ", ")
    }
}
