import Foundation

/// Reads a `.safetensors` file: u64 header length, a JSON header, then the raw tensor bytes.
enum SafeTensors {
    private static let dtypes: [String: CheckpointDType] = ["F32": .float32, "F16": .float16, "BF16": .bfloat16, "I64": .int64]

    /// Whether the bytes start like a safetensors file (a plausible header length, then a JSON object).
    static func looksLike(_ data: Data) -> Bool {
        let reader = ByteReader(data)
        guard data.count > 8, let length = try? reader.u64(0), length >= 2, length <= UInt64(data.count - 8),
              let first = try? reader.u8(8) else { return false }
        return first == UInt8(ascii: "{")
    }

    static func read(_ data: Data) throws -> [CheckpointTensor] {
        let reader = ByteReader(data)
        let headerLength = try checkedInt(try reader.u64(0), "safetensors header length")
        let header = try reader.bytes(8, headerLength, "safetensors header")
        let dataStart = 8 + headerLength
        guard let json = try? JSONSerialization.jsonObject(with: header), let entries = json as? [String: Any] else {
            throw FormatError("safetensors header is not a JSON object")
        }
        var tensors: [(begin: Int, tensor: CheckpointTensor)] = []
        for (name, value) in entries where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw FormatError("safetensors entry '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let dtype = dtypes[dtypeName] else {
                throw FormatError("safetensors entry '\(name)' has unsupported dtype \(dtypeName); supported: F32, F16, BF16, I64")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end >= begin, end <= data.count else {
                throw FormatError("safetensors entry '\(name)' has bad data_offsets \(offsets) for a \(data.count)-byte file")
            }
            let span = try reader.span(dataStart + begin, end - begin, "safetensors entry '\(name)'")
            let tensor = try CheckpointTensor(name: name, dtype: dtype, shape: shape, strides: contiguousStrides(shape),
                                              storageOffset: 0, storage: span)
            guard tensor.count * dtype.byteSize == span.count else {
                throw FormatError("safetensors entry '\(name)' of shape \(shape) has \(span.count) bytes, expected \(tensor.count * dtype.byteSize)")
            }
            tensors.append((begin, tensor))
        }
        // JSON objects are unordered, so "file order" is the order of the tensors' bytes.
        return tensors.sorted { ($0.begin, $0.tensor.name) < ($1.begin, $1.tensor.name) }.map(\.tensor)
    }

    /// Writes float32 tensors as a `.safetensors` file, asking `values` for one tensor at a time so a large
    /// checkpoint never sits in memory whole.
    static func write(_ entries: [(name: String, shape: [Int])], to url: URL, values: (Int) throws -> [Float]) throws {
        var header: [String: Any] = [:]
        var offset = 0
        for entry in entries {
            let bytes = entry.shape.reduce(1, *) * 4
            header[entry.name] = ["dtype": "F32", "shape": entry.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the tensor bytes start 8-byte aligned, as the format recommends.
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        guard FileManager.default.createFile(atPath: url.path, contents: nil), let file = FileHandle(forWritingAtPath: url.path) else {
            throw FormatError("cannot create \(url.path)")
        }
        defer { try? file.close() }
        var length = UInt64(json.count).littleEndian
        try file.write(contentsOf: Data(bytes: &length, count: 8) + json)
        for index in entries.indices {
            let tensor = try values(index)
            try tensor.withUnsafeBytes { try file.write(contentsOf: Data($0)) }
        }
    }

    private static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for axis in shape.indices.reversed() {
            strides[axis] = step
            step = step &* max(shape[axis], 1)
        }
        return strides
    }
}
