import Foundation

/// Reads the tensors of a `torch.save` zip archive (`<stem>/data.pkl` plus `<stem>/data/<key>`).
enum PyTorchCheckpoint {
    /// A storage named by a persistent id: its element type and bytes.
    private struct Storage {
        let dtype: CheckpointDType
        let span: ByteSpan
    }

    private static let storageTypes: [String: CheckpointDType] = [
        "FloatStorage": .float32, "HalfStorage": .float16, "BFloat16Storage": .bfloat16, "LongStorage": .int64,
    ]

    static func read(_ data: Data) throws -> [CheckpointTensor] {
        let archive = try ZipArchive(data)
        // The stem is the archive's top folder, named after the file when it was saved.
        let pickles = archive.entries.filter { $0.name.hasSuffix("/data.pkl") && $0.name.split(separator: "/").count == 2 }
        guard let pickle = pickles.first else {
            throw FormatError("zip archive has no '<name>/data.pkl' entry, so it is not a PyTorch checkpoint")
        }
        let stem = String(pickle.name.dropLast("/data.pkl".count))
        if let order = archive.entry(named: "\(stem)/byteorder") {
            let text = try archive.contents(of: order).withBytes { String(decoding: $0, as: UTF8.self) }
            guard text == "little" else { throw FormatError("checkpoint byte order is '\(text)'; only little-endian is supported") }
        }

        let unpickler = Unpickler(
            persistentLoad: { try .custom(loadStorage($0, archive: archive, stem: stem)) },
            reduce: { module, name, args in try reduce(module, name, args) }
        )
        let root = try unpickler.load(try archive.contents(of: pickle))
        guard case .dict(let dict) = root else {
            throw FormatError("data.pkl holds a \(root.kind), not a dict of tensors")
        }
        var tensors: [CheckpointTensor] = []
        for (key, value) in dict.entries {
            guard case .string(let name) = key else { throw FormatError("state dict has a \(key.kind) key; expected names") }
            guard case .custom(let payload) = value, let layout = payload as? TensorLayout else {
                throw FormatError("state dict entry '\(name)' is a \(value.kind), not a tensor")
            }
            tensors.append(try CheckpointTensor(name: name, dtype: layout.storage.dtype, shape: layout.shape,
                                                strides: layout.strides, storageOffset: layout.offset,
                                                storage: layout.storage.span))
        }
        return tensors
    }

    /// `('storage', torch.<Type>Storage, key, location, numel)`, the id `torch.save` gives each storage.
    private static func loadStorage(_ id: PickleValue, archive: ZipArchive, stem: String) throws -> Storage {
        guard case .tuple(let fields) = id, fields.count >= 5, case .string("storage") = fields[0] else {
            throw FormatError("unsupported persistent id \(id.kind); expected ('storage', type, key, location, numel)")
        }
        guard case .global(_, let typeName) = fields[1] else {
            throw FormatError("storage type is a \(fields[1].kind), not a storage class")
        }
        guard let dtype = storageTypes[typeName] else {
            throw FormatError("unsupported storage type torch.\(typeName); supported: \(storageTypes.keys.sorted().joined(separator: ", "))")
        }
        guard case .string(let key) = fields[2], case .int(let numel) = fields[4], numel >= 0 else {
            throw FormatError("storage id has a malformed key or element count")
        }
        let path = "\(stem)/data/\(key)"
        guard let entry = archive.entry(named: path) else {
            throw FormatError("the pickle refers to storage '\(key)', but the archive has no entry '\(path)'")
        }
        let span = try archive.contents(of: entry)
        let (needed, overflow) = numel.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, needed <= span.count else {
            throw FormatError("storage '\(key)' should hold \(numel) \(dtype.rawValue) elements but its entry has only \(span.count) bytes")
        }
        return Storage(dtype: dtype, span: ByteSpan(data: span.data, offset: span.offset, count: needed))
    }

    private struct TensorLayout {
        let storage: Storage
        let offset: Int
        let shape: [Int]
        let strides: [Int]
    }

    private static func reduce(_ module: String, _ name: String, _ args: [PickleValue]) throws -> PickleValue {
        switch (module, name) {
        case ("collections", "OrderedDict") where args.isEmpty:
            return .dict(PickleDict())
        case ("torch._utils", "_rebuild_tensor_v2"):
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            guard args.count >= 4, case .custom(let payload) = args[0], let storage = payload as? Storage,
                  case .int(let offset) = args[1] else {
                throw FormatError("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, ...)")
            }
            return .custom(TensorLayout(storage: storage, offset: offset,
                                        shape: try ints(args[2], "size"), strides: try ints(args[3], "stride")))
        case ("torch._utils", "_rebuild_parameter"):
            // (data, requires_grad, backward_hooks): an nn.Parameter is just its tensor here.
            guard let data = args.first else { throw FormatError("_rebuild_parameter has no tensor argument") }
            return data
        default:
            throw FormatError("the pickle calls \(module).\(name)(\(args.count) arguments), which a checkpoint reader does not support")
        }
    }

    private static func ints(_ value: PickleValue, _ what: String) throws -> [Int] {
        guard case .tuple(let items) = value else { throw FormatError("tensor \(what) is a \(value.kind), not a tuple") }
        return try items.map {
            guard case .int(let n) = $0 else { throw FormatError("tensor \(what) holds a \($0.kind), not an int") }
            return n
        }
    }
}
