import Foundation

/// A NIfTI file could not be read or written; the message names the file.
public struct NIfTIError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    init(_ url: URL, _ reason: String) {
        message = "\(url.path): \(reason)"
    }
}

/// The header of a single-file NIfTI-1 volume, parsed, with its raw bytes kept so a file written
/// `like:` it carries every other field (orientation codes, units, description) unchanged.
public struct NIfTIHeader {
    /// Voxel counts along the stored axes i, j, k.
    public let dims: [Int]
    /// Voxel sizes along i, j, k (pixdim[1...3]).
    public let pixdim: [Float]
    /// The NIfTI datatype code of the stored voxels.
    public let datatype: Int16
    /// 4x4 matrix from voxel indices (i, j, k, 1) to RAS+ millimetres, chosen as nibabel does:
    /// sform when sform_code > 0, else qform when qform_code > 0, else pixdim scaling.
    public let affine: [[Double]]
    /// The 348 header bytes as stored, in the file's byte order.
    public let rawHeader: [UInt8]
    /// True when the file's header and voxels are big-endian.
    public let isBigEndian: Bool

    var scaleSlope: Float { fields.float32(at: NIfTIOffset.sclSlope) }
    var scaleIntercept: Float { fields.float32(at: NIfTIOffset.sclInter) }
    var voxelOffset: Float { fields.float32(at: NIfTIOffset.voxOffset) }
    var fields: NIfTIHeaderFields { NIfTIHeaderFields(bytes: rawHeader, bigEndian: isBigEndian) }
}

/// A NIfTI volume: the header and the voxels as Float, scaled by scl_slope / scl_inter.
public struct NIfTIImage {
    public var header: NIfTIHeader
    /// Voxels in stored order: i fastest, then j, then k.
    public var data: [Float]
}

/// Byte offsets of the NIfTI-1 header fields this reader uses.
enum NIfTIOffset {
    static let sizeofHdr = 0, dim = 40, datatype = 70, bitpix = 72, pixdim = 76, voxOffset = 108
    static let sclSlope = 112, sclInter = 116, xyztUnits = 123, calMax = 124, calMin = 128
    static let qformCode = 252, sformCode = 254, quatern = 256, qoffset = 268, srow = 280, magic = 344
    static let headerSize = 348, singleFileDataOffset = 352
}

/// Typed access to header bytes in either byte order; offsets are the fixed ones in `NIfTIOffset`,
/// all inside the 348 bytes, which the reader checks before building one.
struct NIfTIHeaderFields {
    var bytes: [UInt8]
    let bigEndian: Bool

    private func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[offset..<offset + MemoryLayout<T>.size]) }
        return bigEndian ? T(bigEndian: value) : T(littleEndian: value)
    }

    private mutating func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        var stored = bigEndian ? value.bigEndian : value.littleEndian
        withUnsafeBytes(of: &stored) { bytes.replaceSubrange(offset..<offset + MemoryLayout<T>.size, with: $0) }
    }

    func int16(at offset: Int) -> Int16 { load(Int16.self, at: offset) }
    func int32(at offset: Int) -> Int32 { load(Int32.self, at: offset) }
    func float32(at offset: Int) -> Float { Float(bitPattern: load(UInt32.self, at: offset)) }
    mutating func setInt16(_ value: Int16, at offset: Int) { store(value, at: offset) }
    mutating func setInt32(_ value: Int32, at offset: Int) { store(value, at: offset) }
    mutating func setFloat32(_ value: Float, at offset: Int) { store(value.bitPattern, at: offset) }
}

/// The voxel types this reader accepts, by NIfTI datatype code.
private enum VoxelType: Int16 {
    case uint8 = 2, int16 = 4, int32 = 8, float32 = 16, float64 = 64, int8 = 256, uint16 = 512, uint32 = 768

    var byteCount: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .float64: return 8
        }
    }
}

public enum NIfTI {
    /// Reads a single-file NIfTI-1 volume, `.nii` or gzip-compressed (recognised by its magic bytes).
    public static func read(_ url: URL) throws -> NIfTIImage {
        do {
            let reader = try ByteFiles.reader(path: url.path)
            var rawHeader = [UInt8](repeating: 0, count: NIfTIOffset.headerSize)
            let headerBytes = try rawHeader.withUnsafeMutableBytes { try reader.read(into: $0) }
            if headerBytes < NIfTIOffset.headerSize {
                throw NIfTIError(url, "not a NIfTI-1 file: \(headerBytes) bytes, too short for a 348-byte header")
            }
            let header = try parseHeader(rawHeader, url: url)
            let voxelType = try voxelType(of: header, url: url)
            let offset = try dataOffset(of: header, url: url)
            try reader.skip(offset - NIfTIOffset.headerSize)

            let (count, overflow) = header.dims.reduce(1, *).multipliedReportingOverflow(by: voxelType.byteCount)
            if overflow { throw NIfTIError(url, "dimensions \(header.dims) are too large") }
            // One buffer of raw voxel bytes, converted to Float in one pass.
            let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
            defer { raw.deallocate() }
            let got = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]))
            if got < count {
                throw NIfTIError(url, "truncated: expected \(count) bytes of voxels from offset \(offset), "
                    + "found \(got)")
            }
            try reader.drain()
            let data = decode(raw, type: voxelType, count: count / voxelType.byteCount, header: header)
            return NIfTIImage(header: header, data: data)
        } catch let error as ByteStreamError {
            throw NIfTIError(url, error.description)
        }
    }

    /// Writes a uint8 mask with the geometry and other fields of `header`.
    public static func write(mask: [UInt8], like header: NIfTIHeader, to url: URL) throws {
        try write(count: mask.count, datatype: .uint8, like: header, to: url) { writer in
            try mask.withUnsafeBytes { try writer.write($0) }
        }
    }

    /// Writes int16 voxels (a CT in Hounsfield units, say) with the geometry and other fields of `header`.
    public static func write(int16 data: [Int16], like header: NIfTIHeader, to url: URL) throws {
        try write(count: data.count, datatype: .int16, like: header, to: url) { writer in
            let stored = header.isBigEndian ? data.map { $0.bigEndian } : data
            try stored.withUnsafeBytes { try writer.write($0) }
        }
    }

    /// Writes float32 voxels (a probability map, say) with the geometry and other fields of `header`.
    public static func write(float32 data: [Float], like header: NIfTIHeader, to url: URL) throws {
        try write(count: data.count, datatype: .float32, like: header, to: url) { writer in
            guard header.isBigEndian else {
                try data.withUnsafeBytes { try writer.write($0) }
                return
            }
            // Big-endian files get big-endian voxels, swapped a block at a time.
            var block = [UInt32](repeating: 0, count: min(data.count, 1 << 20))
            var start = 0
            while start < data.count {
                let end = min(start + block.count, data.count)
                for n in start..<end { block[n - start] = data[n].bitPattern.bigEndian }
                try block.withUnsafeBytes {
                    try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<(end - start) * 4]))
                }
                start = end
            }
        }
    }

    // MARK: - Reading

    static func parseHeader(_ raw: [UInt8], url: URL) throws -> NIfTIHeader {
        let little = NIfTIHeaderFields(bytes: raw, bigEndian: false)
        let size = little.int32(at: NIfTIOffset.sizeofHdr)
        let bigEndian: Bool
        switch (size, size.byteSwapped) {
        case (348, _): bigEndian = false
        case (_, 348): bigEndian = true
        case (540, _), (_, 540): throw NIfTIError(url, "NIfTI-2 files are not supported (sizeof_hdr 540)")
        default: throw NIfTIError(url, "not a NIfTI-1 file (sizeof_hdr is \(size), not 348)")
        }
        let fields = NIfTIHeaderFields(bytes: raw, bigEndian: bigEndian)

        let magic = Array(raw[NIfTIOffset.magic..<NIfTIOffset.magic + 4])
        if magic == Array("ni1\0".utf8) {
            throw NIfTIError(url, "detached .hdr/.img NIfTI pairs are not supported; convert to a single .nii file")
        }
        if magic != Array("n+1\0".utf8) {
            throw NIfTIError(url, "not a single-file NIfTI-1 image (magic is not \"n+1\")")
        }

        let dim = (0..<8).map { Int(fields.int16(at: NIfTIOffset.dim + 2 * $0)) }
        try checkDimensions(dim, url: url)
        let dims = Array(dim[1...3])
        let pixdimAll = (0..<8).map { fields.float32(at: NIfTIOffset.pixdim + 4 * $0) }
        return NIfTIHeader(dims: dims, pixdim: Array(pixdimAll[1...3]),
                           datatype: fields.int16(at: NIfTIOffset.datatype),
                           affine: affine(fields, dims: dims, pixdim: pixdimAll),
                           rawHeader: raw, isBigEndian: bigEndian)
    }

    /// Accepts one 3D volume: dim[0] 3, or 4 or 5 with the extra axes of length 1.
    private static func checkDimensions(_ dim: [Int], url: URL) throws {
        let rank = dim[0]
        guard (1...7).contains(rank) else { throw NIfTIError(url, "invalid dim[0] = \(rank)") }
        let shape = Array(dim[1...rank])
        if rank < 3 { throw NIfTIError(url, "\(rank)D images are not supported (dim \(shape)); expected a 3D volume") }
        if rank > 5 || shape[3...].contains(where: { $0 != 1 }) {
            throw NIfTIError(url, "expected a single 3D volume, found dim \(shape)")
        }
        if shape[0..<3].contains(where: { $0 < 1 }) { throw NIfTIError(url, "invalid dimensions \(shape)") }
    }

    private static func voxelType(of header: NIfTIHeader, url: URL) throws -> VoxelType {
        guard let type = VoxelType(rawValue: header.datatype) else {
            throw NIfTIError(url, "unsupported datatype code \(header.datatype); supported: uint8 (2), int8 (256), "
                + "int16 (4), uint16 (512), int32 (8), uint32 (768), float32 (16), float64 (64)")
        }
        return type
    }

    private static func dataOffset(of header: NIfTIHeader, url: URL) throws -> Int {
        let offset = header.voxelOffset
        guard offset.isFinite, offset >= 0, offset == offset.rounded(), offset < 1e9 else {
            throw NIfTIError(url, "invalid vox_offset \(offset)")
        }
        // A single file's voxels cannot start before 352; nibabel repairs a smaller offset the same way.
        return max(Int(offset), NIfTIOffset.singleFileDataOffset)
    }

    private static func affine(_ fields: NIfTIHeaderFields, dims: [Int], pixdim: [Float]) -> [[Double]] {
        let row = { (offset: Int) in (0..<4).map { Double(fields.float32(at: offset + 4 * $0)) } }
        if fields.int16(at: NIfTIOffset.sformCode) > 0 {
            return [row(NIfTIOffset.srow), row(NIfTIOffset.srow + 16), row(NIfTIOffset.srow + 32), [0, 0, 0, 1]]
        }
        let zooms = pixdim[1...3].map(Double.init)
        if fields.int16(at: NIfTIOffset.qformCode) > 0 {
            let quatern = (0..<3).map { Double(fields.float32(at: NIfTIOffset.quatern + 4 * $0)) }
            let offset = (0..<3).map { Double(fields.float32(at: NIfTIOffset.qoffset + 4 * $0)) }
            let rotation = rotationMatrix(b: quatern[0], c: quatern[1], d: quatern[2])
            // qfac (pixdim[0]) flips the k axis; nibabel treats anything but -1 as 1.
            let scale = [zooms[0], zooms[1], pixdim[0] == -1 ? -zooms[2] : zooms[2]]
            let rows: [[Double]] = (0..<3).map { r in
                [rotation[r][0] * scale[0], rotation[r][1] * scale[1], rotation[r][2] * scale[2], offset[r]]
            }
            return rows + [[0, 0, 0, 1]]
        }
        // No orientation: scale by pixdim about the volume centre, x flipped (nibabel's base affine).
        let signed = [-zooms[0], zooms[1], zooms[2]]
        let rows: [[Double]] = (0..<3).map { r in
            var row: [Double] = [0, 0, 0, -Double(dims[r] - 1) / 2 * signed[r]]
            row[r] = signed[r]
            return row
        }
        return rows + [[0, 0, 0, 1]]
    }

    /// The rotation of the quaternion (a, b, c, d), with a recovered as NIfTI-1 defines it and the
    /// quaternion normalised (nibabel's `quat2mat`).
    private static func rotationMatrix(b: Double, c: Double, d: Double) -> [[Double]] {
        let a = max(0, 1 - (b * b + c * c + d * d)).squareRoot()
        let norm = a * a + b * b + c * c + d * d
        if norm < Double.ulpOfOne { return [[1, 0, 0], [0, 1, 0], [0, 0, 1]] }
        let s = 2 / norm
        let (ab, ac, ad) = (a * b * s, a * c * s, a * d * s)
        let (bb, bc, bd) = (b * b * s, b * c * s, b * d * s)
        let (cc, cd, dd) = (c * c * s, c * d * s, d * d * s)
        return [
            [1 - (cc + dd), bc - ad, bd + ac],
            [bc + ad, 1 - (bb + dd), cd - ab],
            [bd - ac, cd + ab, 1 - (bb + cc)],
        ]
    }

    /// Converts the raw voxels to Float in one pass, swapping bytes and applying scl_slope / scl_inter.
    private static func decode(_ raw: UnsafeMutableRawBufferPointer, type: VoxelType, count: Int,
                               header: NIfTIHeader) -> [Float] {
        let slope = header.scaleSlope, intercept = header.scaleIntercept
        // As nibabel: a zero or non-finite slope means unscaled, and (1, 0) needs no work.
        let scaled = slope.isFinite && slope != 0 && !(slope == 1 && intercept == 0)
        let scale = (slope: Double(slope), intercept: intercept.isFinite ? Double(intercept) : 0)
        let big = header.isBigEndian
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            func fill<T>(_: T.Type, _ value: (T) -> Double) {
                let source = raw.bindMemory(to: T.self)
                if scaled {
                    for n in 0..<count { out[n] = Float(value(source[n]) * scale.slope + scale.intercept) }
                } else {
                    for n in 0..<count { out[n] = Float(value(source[n])) }
                }
            }
            switch type {
            case .uint8: fill(UInt8.self) { Double($0) }
            case .int8: fill(Int8.self) { Double($0) }
            case .int16: fill(Int16.self) { Double(big ? Int16(bigEndian: $0) : Int16(littleEndian: $0)) }
            case .uint16: fill(UInt16.self) { Double(big ? UInt16(bigEndian: $0) : UInt16(littleEndian: $0)) }
            case .int32: fill(Int32.self) { Double(big ? Int32(bigEndian: $0) : Int32(littleEndian: $0)) }
            case .uint32: fill(UInt32.self) { Double(big ? UInt32(bigEndian: $0) : UInt32(littleEndian: $0)) }
            case .float32:
                fill(UInt32.self) { Double(Float(bitPattern: big ? UInt32(bigEndian: $0) : UInt32(littleEndian: $0))) }
            case .float64:
                fill(UInt64.self) { Double(bitPattern: big ? UInt64(bigEndian: $0) : UInt64(littleEndian: $0)) }
            }
            initialized = count
        }
    }

    // MARK: - Writing

    /// Writes the header of `like` adjusted for `datatype` (352-byte offset, no extensions, no
    /// scaling), then the voxels through `body`, atomically, gzip-compressed when `url` ends in .gz.
    private static func write(count: Int, datatype: VoxelType, like header: NIfTIHeader, to url: URL,
                              body: (ByteWriter) throws -> Void) throws {
        let expected = header.dims.reduce(1, *)
        if count != expected {
            throw NIfTIError(url, "\(count) voxels do not fill dimensions \(header.dims) (\(expected) voxels)")
        }
        var fields = header.fields
        let dim = [3] + header.dims + [1, 1, 1, 1]
        for (n, value) in dim.enumerated() { fields.setInt16(Int16(value), at: NIfTIOffset.dim + 2 * n) }
        fields.setInt16(datatype.rawValue, at: NIfTIOffset.datatype)
        fields.setInt16(Int16(datatype.byteCount * 8), at: NIfTIOffset.bitpix)
        fields.setFloat32(Float(NIfTIOffset.singleFileDataOffset), at: NIfTIOffset.voxOffset)
        fields.setFloat32(1, at: NIfTIOffset.sclSlope)
        fields.setFloat32(0, at: NIfTIOffset.sclInter)
        // The source's display window (a CT's, say) means nothing for the new values.
        fields.setFloat32(0, at: NIfTIOffset.calMax)
        fields.setFloat32(0, at: NIfTIOffset.calMin)
        // Header, then the 4-byte extension flag (zero: no extensions), then the voxels.
        let prefix = fields.bytes + [0, 0, 0, 0]
        do {
            try ByteFiles.writeAtomically(to: url, gzip: url.pathExtension == "gz") { writer in
                try prefix.withUnsafeBytes { try writer.write($0) }
                try body(writer)
            }
        } catch let error as ByteStreamError {
            throw NIfTIError(url, error.description)
        }
    }
}
