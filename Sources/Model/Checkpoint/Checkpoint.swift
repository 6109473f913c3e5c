import Foundation

public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let message: String

    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

/// The tensors of a PyTorch `pytorch_model.bin` (zip) or `.safetensors` file, read from a memory map.
public final class Checkpoint: Sendable {
    public let url: URL
    /// Tensor names in file order.
    public let names: [String]
    private let tensors: [String: CheckpointTensor]

    public init(contentsOf url: URL) throws {
        self.url = url
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw CheckpointError(file: url.path, message: "cannot read the file (\(error.localizedDescription))")
        }
        let list: [CheckpointTensor]
        do {
            if data.starts(with: [0x50, 0x4B, 0x03, 0x04]) {  // "PK\3\4": a zip archive
                list = try PyTorchCheckpoint.read(data)
            } else if SafeTensors.looksLike(data) {
                list = try SafeTensors.read(data)
            } else {
                throw FormatError("not a PyTorch or safetensors checkpoint (\(data.count) bytes, no zip or safetensors header)")
            }
        } catch let error as FormatError {
            throw CheckpointError(file: url.path, message: error.message)
        }
        names = list.map(\.name)
        tensors = Dictionary(list.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    public subscript(name: String) -> CheckpointTensor? { tensors[name] }
}
