import Foundation

/// `OUT/<case>/run.json`: how a case was run and what came out, enough to resume a batch and to summarize it.
/// Keys are snake_case in the file.
struct RunRecord: Codable {
    enum Status: String, Codable { case ok, failed }

    struct Input: Codable {
        var path: String
        /// SHA-256 of the file as stored; nil when it could not be read.
        var sha256: String?
    }

    struct Model: Codable {
        var folder: String
        var weightsFile: String
        var weightsSha256: String
    }

    struct Seconds: Codable {
        var read = 0.0, preprocess = 0.0, zoomOut = 0.0, zoomIn = 0.0, write = 0.0
        var total: Double { read + preprocess + zoomOut + zoomIn + write }
    }

    struct Category: Codable {
        var name: String
        var label: Int
        /// Voxels of the category's mask (logit > 0) on the input's grid; categories may overlap.
        var voxels: Int
        var volumeMl: Double
        var zoomInWindows: Int
    }

    /// What a case was asked for besides its input and model; an earlier result is kept only for the same request.
    struct Request: Equatable {
        var prompts: [String]
        var precision: String
        var zoomIn: Bool
        var windowGrid: String
    }

    var caseName: String
    var status: Status
    var error: String?
    var input: Input
    var prompts: [String]
    var precision: String
    var zoomIn: Bool
    var windowGrid: String
    var model: Model
    var engineVersion: String
    var backend: String
    var device: String
    var seconds: Seconds
    /// Zoom-in windows run through the image encoder, all categories together (shared embeddings make it
    /// less than the sum of the categories' windows).
    var windowsEncoded: Int
    var categories: [Category]
    var finished: String

    var request: Request {
        Request(prompts: prompts, precision: precision, zoomIn: zoomIn, windowGrid: windowGrid)
    }

    /// Whether this record is a finished result of the same work, so the case can be skipped.
    func isDone(inputSha256: String, request: Request, weightsSha256: String) -> Bool {
        status == .ok && input.sha256 == inputSha256 && self.request == request && model.weightsSha256 == weightsSha256
    }

    static func read(_ url: URL) throws -> RunRecord {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(RunRecord.self, from: Data(contentsOf: url))
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    enum CodingKeys: String, CodingKey {
        case caseName, status, error, input, prompts, precision, zoomIn, windowGrid, model, engineVersion, backend, device
        case seconds, windowsEncoded, categories, finished
    }

    /// Written by hand only so that `error` is present (null) in records that succeeded.
    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(caseName, forKey: .caseName)
        try container.encode(status, forKey: .status)
        try container.encode(error, forKey: .error)
        try container.encode(input, forKey: .input)
        try container.encode(prompts, forKey: .prompts)
        try container.encode(precision, forKey: .precision)
        try container.encode(zoomIn, forKey: .zoomIn)
        try container.encode(windowGrid, forKey: .windowGrid)
        try container.encode(model, forKey: .model)
        try container.encode(engineVersion, forKey: .engineVersion)
        try container.encode(backend, forKey: .backend)
        try container.encode(device, forKey: .device)
        try container.encode(seconds, forKey: .seconds)
        try container.encode(windowsEncoded, forKey: .windowsEncoded)
        try container.encode(categories, forKey: .categories)
        try container.encode(finished, forKey: .finished)
    }
}

extension RunRecord.Seconds {
    enum CodingKeys: String, CodingKey { case read, preprocess, zoomOut, zoomIn, write, total }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        read = try container.decode(Double.self, forKey: .read)
        preprocess = try container.decode(Double.self, forKey: .preprocess)
        zoomOut = try container.decode(Double.self, forKey: .zoomOut)
        zoomIn = try container.decode(Double.self, forKey: .zoomIn)
        write = try container.decode(Double.self, forKey: .write)
    }

    /// Also writes `total`, so readers of the file need not add the stages.
    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(read, forKey: .read)
        try container.encode(preprocess, forKey: .preprocess)
        try container.encode(zoomOut, forKey: .zoomOut)
        try container.encode(zoomIn, forKey: .zoomIn)
        try container.encode(write, forKey: .write)
        try container.encode(total, forKey: .total)
    }
}
