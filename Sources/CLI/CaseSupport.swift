import ArgumentParser
import Foundation
import Kernels
import Model
import Volume

/// Reads a CT and runs the published preprocessing; every failure is a one-line error.
struct LoadedCase {
    let image: NIfTIImage
    /// The source series when the image is DICOM.
    let dicom: DICOMVolume?
    let volume: PreprocessedVolume
    let geometry: CaseGeometry
    /// Seconds spent reading (with decompression) and preprocessing, for batch reports.
    let readSeconds: Double
    let preprocessSeconds: Double

    init(url: URL, spatialSize: [Int], series: String? = nil) throws {
        let start = Date()
        let input = try readInput(url.path, series: series)
        readSeconds = Date().timeIntervalSince(start)
        image = input.image
        dicom = input.dicom
        do {
            volume = try Preprocessing.run(stored: image.data, dims: image.header.dims, spatialSize: spatialSize)
        } catch {
            throw PipelineError("\(url.path): \(error)")
        }
        geometry = CaseGeometry(storedDims: image.header.dims, volume: volume, spatialSize: spatialSize)
        preprocessSeconds = Date().timeIntervalSince(start) - readSeconds
    }

    /// Volume of one voxel in millilitres, from the affine.
    var voxelMillilitres: Double {
        abs(determinant3(image.header.affine)) / 1000
    }
}

/// The backend the user asked for: the CPU reference with --cpu, else a Vulkan device.
func makeBackend(_ options: DeviceOptions) throws -> Backend {
    options.cpu ? CPUBackend() : try VulkanBackend(selector: options.device)
}

/// Progress lines on stderr when it is a terminal, unless --quiet.
func progressReporter(quiet: Bool) -> ((String) -> Void)? {
    guard !quiet, isatty(STDERR_FILENO) != 0 else { return nil }
    return { message in FileHandle.standardError.write(Data("\u{1B}[2K\r\(message)".utf8)) }
}

/// Outputs are written under temporary names and renamed into place only when all of them are written,
/// so a failed run leaves nothing half-written beside the inputs.
final class OutputSet {
    private var staged: [(temporary: URL, final: URL)] = []
    let overwrite: Bool

    init(overwrite: Bool) { self.overwrite = overwrite }

    /// Checks a planned output before any work starts.
    func plan(_ url: URL) throws {
        if !overwrite && FileManager.default.fileExists(atPath: url.path) {
            throw PipelineError("\(url.path) exists; pass --overwrite to replace it")
        }
        let folder = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PipelineError("cannot write \(url.path): folder \(folder.path) does not exist")
        }
    }

    /// A temporary path beside `url` keeping its extension (so .nii.gz is still compressed).
    func stage(_ url: URL) -> URL {
        let name = url.lastPathComponent
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(name).partial-\(getpid())-\(staged.count)-" + name)
        staged.append((temporary, url))
        return temporary
    }

    func commit() throws {
        for (temporary, final) in staged {
            if FileManager.default.fileExists(atPath: final.path) { try FileManager.default.removeItem(at: final) }
            try FileManager.default.moveItem(at: temporary, to: final)
        }
        staged = []
    }

    func discard() {
        for (temporary, _) in staged { try? FileManager.default.removeItem(at: temporary) }
        staged = []
    }
}

/// "a,b,c" as integers or numbers, with a clear error naming the option.
func parseNumbers(_ text: String, count: Int, option: String) throws -> [Double] {
    let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.count == count, parts.allSatisfy({ $0 != nil }) else {
        throw PipelineError("\(option) \(text): expected \(count) comma-separated numbers")
    }
    return parts.map { $0! }
}

func fileName(for category: String) -> String {
    category.replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "/", with: "_")
}

/// Determinant of the upper-left 3x3 block of a matrix.
func determinant3(_ m: [[Double]]) -> Double {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

extension ZoomPipeline.WindowBox: ExpressibleByArgument {}
extension ZoomPipeline.PromptTokens: ExpressibleByArgument {}
extension ZoomPipeline.WindowGrid: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}

/// `--precision`, one help text for every command that loads the model.
struct PrecisionOption: ParsableArguments {
    @Option(name: .long, help: "Storage precision: fp32, or fp16 (the image encoder's weights and activations in fp16, its sums and residual stream in fp32; the text tower and mask decoder stay fp32; fp32 where the device lacks fp16).")
    var precision: Precision = .fp32
}

/// `--window-grid`, shared by `segment` and `batch`.
struct WindowGridOption: ParsableArguments {
    @Option(name: .long, help: "Zoom-in windows: exact (each category's own windows, as the published model; windows that coincide are encoded once) or shared (one grid over the union of the categories' regions, every window encoded once per case; masks differ slightly, see BENCHMARKS.md).")
    var windowGrid: ZoomPipeline.WindowGrid = .exact
}

extension Array {
    /// `map` over the elements in parallel: per-category passes over whole volumes (statistics, masks, the stored
    /// grid), which a GPU box's cores would otherwise run one after another while the device waits.
    func concurrentMap<T>(_ transform: (Element) throws -> T) throws -> [T] {
        var results = [Result<T, Error>?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { slots in
            DispatchQueue.concurrentPerform(iterations: slots.count) { index in
                slots[index] = Result { try transform(self[index]) }
            }
        }
        return try results.map { try $0!.get() }
    }
}
