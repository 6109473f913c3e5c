import CZlib
import Foundation

/// A failure while reading or writing a byte stream; the callers wrap it with their file's context.
struct ByteStreamError: Error, CustomStringConvertible {
    let description: String
}

/// A source of bytes read front to back: a plain file or a gzip stream over one.
protocol ByteReader: AnyObject {
    /// Fills up to `buffer.count` bytes and returns how many were read; fewer only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

extension ByteReader {
    /// Reads exactly `buffer.count` bytes, or throws when the stream ends first.
    func readExactly(into buffer: UnsafeMutableRawBufferPointer) throws {
        let got = try read(into: buffer)
        if got != buffer.count {
            throw ByteStreamError(description: "unexpected end of data: needed \(buffer.count) bytes, got \(got)")
        }
    }

    /// Reads and drops `count` bytes.
    func skip(_ count: Int) throws {
        var left = count
        var scratch = [UInt8](repeating: 0, count: min(count, 1 << 16))
        try scratch.withUnsafeMutableBytes { buffer in
            while left > 0 {
                try readExactly(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(left, buffer.count)]))
                left -= min(left, buffer.count)
            }
        }
    }

    /// Reads to the end, dropping the bytes: for gzip this makes zlib check the CRC and length trailer.
    func drain() throws {
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        try scratch.withUnsafeMutableBytes { buffer in
            while try read(into: buffer) == buffer.count {}
        }
    }
}

/// Reads a file through stdio.
final class FileByteReader: ByteReader {
    private let file: UnsafeMutablePointer<FILE>

    init(path: String) throws {
        guard let file = fopen(path, "rb") else {
            throw ByteStreamError(description: "cannot open: \(String(cString: strerror(errno)))")
        }
        self.file = file
    }

    deinit { fclose(file) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let got = fread(base, 1, buffer.count, file)
        if got < buffer.count && ferror(file) != 0 {
            throw ByteStreamError(description: "read failed: \(String(cString: strerror(errno)))")
        }
        return got
    }

    /// The first bytes of the file, read without consuming them (for magic-number checks).
    func peek(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = try bytes.withUnsafeMutableBytes { try read(into: $0) }
        rewind(file)
        return Array(bytes[0..<got])
    }
}

/// Streams the decompressed bytes of a gzip file (several concatenated members are read as one).
final class GzipReader: ByteReader {
    private let source: ByteReader
    private var stream = z_stream()
    /// Compressed input; allocated by hand because zlib keeps a pointer into it between calls.
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    private var sourceEnded = false
    private var finished = false

    init(source: ByteReader) throws {
        self.source = source
        // 15 + 32: the largest window, and let zlib detect the gzip header.
        let status = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        if status != Z_OK {
            input.deallocate()
            throw ByteStreamError(description: "zlib inflateInit2 failed (\(status))")
        }
    }

    deinit {
        inflateEnd(&stream)
        input.deallocate()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        var produced = 0
        while produced < buffer.count && !finished {
            if stream.avail_in == 0 && !sourceEnded { try refill() }
            // zlib's counters are 32-bit: hand it the output in pieces it can count.
            let want = min(buffer.count - produced, Int(UInt32.max))
            stream.next_out = (base + produced).assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(want)
            let status = inflate(&stream, Z_NO_FLUSH)
            produced += want - Int(stream.avail_out)
            switch status {
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress was possible: zlib needs input, and there is none left.
                if stream.avail_in == 0 && sourceEnded {
                    throw ByteStreamError(description: "truncated gzip data (the compressed stream ends early)")
                }
            case Z_STREAM_END:
                try startNextMemberIfAny()
            default:
                let detail = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw ByteStreamError(description: "corrupt gzip data (\(detail))")
            }
        }
        return produced
    }

    /// Loads the next chunk of compressed bytes.
    private func refill() throws {
        let got = try source.read(into: input)
        if got < input.count { sourceEnded = true }
        stream.next_in = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.avail_in = uInt(got)
    }

    /// After one member ends another may follow, as `gzip` and `pigz` allow; zero padding after the
    /// last one is skipped, as Python's gzip does.
    private func startNextMemberIfAny() throws {
        while true {
            if stream.avail_in == 0 {
                if sourceEnded {
                    finished = true
                    return
                }
                try refill()
            } else if stream.next_in.pointee == 0 {
                stream.next_in += 1
                stream.avail_in -= 1
            } else {
                break
            }
        }
        let status = inflateReset(&stream)
        if status != Z_OK { throw ByteStreamError(description: "zlib inflateReset failed (\(status))") }
    }
}

/// A sink of bytes written front to back.
protocol ByteWriter: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Flushes everything; the writer is unusable afterwards.
    func finish() throws
}

/// Writes a file through stdio.
final class FileByteWriter: ByteWriter {
    private var file: UnsafeMutablePointer<FILE>?

    init(path: String) throws {
        guard let file = fopen(path, "wb") else {
            throw ByteStreamError(description: "cannot create: \(String(cString: strerror(errno)))")
        }
        self.file = file
    }

    deinit { if let file { fclose(file) } }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let file, let base = bytes.baseAddress, bytes.count > 0 else { return }
        if fwrite(base, 1, bytes.count, file) != bytes.count {
            throw ByteStreamError(description: "write failed: \(String(cString: strerror(errno)))")
        }
    }

    func finish() throws {
        guard let file else { return }
        self.file = nil
        if fflush(file) != 0 || fsync(fileno(file)) != 0 {
            let reason = String(cString: strerror(errno))
            fclose(file)
            throw ByteStreamError(description: "write failed: \(reason)")
        }
        if fclose(file) != 0 {
            throw ByteStreamError(description: "close failed: \(String(cString: strerror(errno)))")
        }
    }
}

/// Compresses into a gzip stream over another writer.
final class GzipWriter: ByteWriter {
    private let sink: ByteWriter
    private var stream = z_stream()
    private var output = [UInt8](repeating: 0, count: 1 << 20)
    private var ended = false

    /// Level 1 by default, as nibabel writes: masks and probability maps compress well even so.
    init(sink: ByteWriter, level: Int32 = 1) throws {
        self.sink = sink
        // windowBits 31 = 15 + 16: the largest window, with a gzip header and trailer.
        let status = deflateInit2_(&stream, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        if status != Z_OK { throw ByteStreamError(description: "zlib deflateInit2 failed (\(status))") }
    }

    deinit { deflateEnd(&stream) }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let piece = min(bytes.count - offset, Int(UInt32.max))
            stream.next_in = UnsafeMutablePointer(mutating: (base + offset).assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(piece)
            while stream.avail_in > 0 { try deflateStep(flush: Z_NO_FLUSH) }
            offset += piece
        }
    }

    func finish() throws {
        guard !ended else { return }
        ended = true
        stream.avail_in = 0
        while try deflateStep(flush: Z_FINISH) != Z_STREAM_END {}
        try sink.finish()
    }

    /// Runs deflate once into `output` and passes on what it produced.
    @discardableResult
    private func deflateStep(flush: Int32) throws -> Int32 {
        let (status, produced) = output.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
            stream.next_out = out.baseAddress
            stream.avail_out = uInt(out.count)
            let status = deflate(&stream, flush)
            return (status, out.count - Int(stream.avail_out))
        }
        if status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR {
            throw ByteStreamError(description: "zlib deflate failed (\(status))")
        }
        try output.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
        return status
    }
}

enum ByteFiles {
    /// True when the file starts with the gzip magic bytes 1f 8b.
    static func isGzip(_ file: FileByteReader) throws -> Bool {
        try file.peek(2) == [0x1f, 0x8b]
    }

    /// A reader of the file's content, decompressed when the file is gzip (detected by magic bytes).
    static func reader(path: String) throws -> ByteReader {
        let file = try FileByteReader(path: path)
        return try isGzip(file) ? GzipReader(source: file) : file
    }

    /// Writes through `body` into a temporary file beside `url`, then renames it over `url`, so
    /// readers never see a half-written file; gzip-compressed when `gzip` is true.
    static func writeAtomically(to url: URL, gzip: Bool, _ body: (ByteWriter) throws -> Void) throws {
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            let file = try FileByteWriter(path: temporary.path)
            let writer: ByteWriter = gzip ? try GzipWriter(sink: file) : file
            try body(writer)
            try writer.finish()
            if rename(temporary.path, url.path) != 0 {
                throw ByteStreamError(description: "rename failed: \(String(cString: strerror(errno)))")
            }
        } catch {
            unlink(temporary.path)
            throw error
        }
    }
}
