import Foundation
import Kernels
import Model
import Volume

/// How a batch runs, the same for all its cases.
struct BatchSettings {
    var outDir: URL
    var prompts: [String]
    var precision: Precision
    var zoomIn: Bool
    var windowGrid: ZoomPipeline.WindowGrid
    var force: Bool
    /// Cases read ahead of the device (the queue between the readers and the device loop).
    var prefetch: Int
    /// Reader threads, and as many writer threads.
    var ioThreads: Int
    /// Print a line per case.
    var verbose: Bool

    var request: RunRecord.Request {
        RunRecord.Request(prompts: prompts, precision: precision.rawValue, zoomIn: zoomIn, windowGrid: windowGrid.rawValue)
    }
}

/// A model read, checked and uploaded once, with what every run.json records about it.
struct LoadedModel {
    let model: SegVolModel
    let folder: URL
    let weightsFile: URL
    let weightsSha256: String

    static func load(folder: String, backend: Backend, precision: Precision) throws -> LoadedModel {
        let url = URL(fileURLWithPath: folder).standardizedFileURL
        let model = try SegVolModel(modelDirectory: url, backend: backend, precision: precision)
        let weights = model.weights.checkpointURL
        return LoadedModel(model: model, folder: url, weightsFile: weights, weightsSha256: try SHA256.hex(ofFile: weights))
    }
}

/// What a batch did.
struct BatchReport {
    var ok = 0, failed = 0, skipped = 0
    /// The first failed case's error, for callers that print no line per case.
    var firstFailure: String?
    /// Wall time from the first read to the last write (the model is loaded before).
    var seconds = 0.0
    /// Seconds inside submit+wait on the device; nil on the CPU reference backend.
    var deviceSeconds: Double?
    /// Stage seconds summed over the cases computed.
    var stageSeconds = RunRecord.Seconds()

    var casesPerHour: Double { seconds > 0 ? Double(ok) * 3600 / seconds : 0 }
    var deviceBusyShare: Double? { deviceSeconds.map { seconds > 0 ? $0 / seconds : 0 } }
}

/// Runs a batch in three overlapping stages joined by bounded queues: reader threads (checksum, resume check, read
/// and decompress, preprocess), the device loop on the calling thread (every Vulkan call stays on that one thread),
/// and writer threads (segmentation.nii.gz with its label table, statistics.json, run.json, the folder renamed into place).
final class BatchRunner {
    let settings: BatchSettings
    let loaded: LoadedModel
    private var report = BatchReport()
    /// Guards `report` and stdout, which the writer threads share.
    private let reportLock = NSLock()

    init(settings: BatchSettings, model: LoadedModel) {
        self.settings = settings
        loaded = model
    }

    func run(_ cases: [BatchCase]) -> BatchReport {
        let start = Date()
        let recorder = (loaded.model.backend as? VulkanBackend)?.recorder
        let deviceSecondsBefore = recorder?.submitWaitSeconds ?? 0

        let waiting = BoundedQueue<BatchCase>(capacity: cases.count)
        cases.forEach(waiting.push)
        waiting.close()
        let prepared = BoundedQueue<CaseWork>(capacity: settings.prefetch)
        let computed = BoundedQueue<CaseWork>(capacity: 1)
        let readers = startThreads(settings.ioThreads, name: "reader") {
            while let item = waiting.pop() { prepared.push(self.prepare(item)) }
        }
        readers.notify(queue: .global()) { prepared.close() }
        let writers = startThreads(settings.ioThreads, name: "writer") {
            while let work = computed.pop() { self.finish(work) }
        }

        let pipeline = ZoomPipeline(model: loaded.model)
        pipeline.zoomIn = settings.zoomIn
        pipeline.windowGrid = settings.windowGrid
        pipeline.keepsZoomOutLogits = false
        while let work = prepared.pop() {
            compute(work, with: pipeline)
            computed.push(work)
        }
        computed.close()
        writers.wait()

        report.seconds = Date().timeIntervalSince(start)
        report.deviceSeconds = recorder.map { $0.submitWaitSeconds - deviceSecondsBefore }
        return report
    }

    /// Starts `count` threads running `body`; the returned group is done when all of them are.
    private func startThreads(_ count: Int, name: String, _ body: @escaping () -> Void) -> DispatchGroup {
        let group = DispatchGroup()
        for index in 0..<max(count, 1) {
            group.enter()
            let thread = Thread {
                body()
                group.leave()
            }
            thread.name = "segvol-\(name)-\(index)"
            thread.start()
        }
        return group
    }

    // MARK: Stages

    /// Reader: the input's checksum, the resume check, then reading and preprocessing.
    private func prepare(_ item: BatchCase) -> CaseWork {
        let work = CaseWork(item: item, folder: CaseFolder(outDir: settings.outDir, name: item.name))
        work.folder.removeLeftovers()
        do {
            let start = Date()
            guard FileManager.default.fileExists(atPath: item.url.path) else { throw PipelineError("\(item.url.path): no such file") }
            let checksum = try SHA256.hex(ofPath: item.url)
            work.inputSha256 = checksum
            if !settings.force, let earlier = try? RunRecord.read(work.folder.runRecord),
               earlier.isDone(inputSha256: checksum, request: settings.request, weightsSha256: loaded.weightsSha256) {
                work.skipped = true
                return work
            }
            let checksumSeconds = Date().timeIntervalSince(start)
            let loadedCase = try LoadedCase(url: item.url, spatialSize: loaded.model.config.spatialSize)
            work.seconds.read = checksumSeconds + loadedCase.readSeconds
            work.seconds.preprocess = loadedCase.preprocessSeconds
            work.image = loadedCase.image
            work.geometry = loadedCase.geometry
            work.voxelMillilitres = loadedCase.voxelMillilitres
            work.volume = loadedCase.volume
        } catch {
            work.error = oneLine(error)
        }
        return work
    }

    /// Device loop: the zoom-out and zoom-in passes.
    private func compute(_ work: CaseWork, with pipeline: ZoomPipeline) {
        guard let volume = work.volume, work.error == nil else { return }
        work.volume = nil
        do {
            work.results = try pipeline.run(volume, prompts: settings.prompts.map { Prompt(text: $0) })
            work.seconds.zoomOut = pipeline.statistics.zoomOutSeconds
            work.seconds.zoomIn = pipeline.statistics.zoomInSeconds
            work.windowsEncoded = pipeline.statistics.windowsEncoded
        } catch {
            work.error = oneLine(error)
        }
    }

    /// Writer: segmentation.nii.gz, its label table, statistics.json and run.json into the case's temporary folder,
    /// renamed into place at the end.
    private func finish(_ work: CaseWork) {
        guard !work.skipped else { return tally(work) }
        let start = Date()
        let folder = work.folder
        do {
            try folder.begin()
            var categories: [RunRecord.Category] = []
            if work.error == nil, let geometry = work.geometry, let image = work.image {
                let logits = work.results.map(\.logits)
                let labels = folder.temporary.appendingPathComponent("segmentation.nii.gz")
                try NIfTI.write(mask: labelMap(logits, geometry: geometry), like: image.header, to: labels)
                let reports = ReportFiles(statistics: folder.temporary.appendingPathComponent("statistics.json"), preview: nil,
                                          labelTable: LabelTable.companionFiles(forLabelMap: labels))
                // The run record's voxel counts come from the statistics (always asked for here, so never nil).
                let statistics = try ReportOptions.write(
                    reports, stored: try logits.concurrentMap { geometry.toStored($0, fill: -Float.infinity) },
                    names: settings.prompts, image: image, imagePath: work.item.url.path, stage: { $0 })!
                work.image = nil
                for (c, result) in work.results.enumerated() {
                    let voxels = statistics[c].voxels
                    categories.append(RunRecord.Category(name: settings.prompts[c], label: c + 1, voxels: voxels,
                                                         volumeMl: Double(voxels) * work.voxelMillilitres,
                                                         zoomInWindows: result.windows))
                }
                work.results = []
            }
            work.seconds.write = Date().timeIntervalSince(start)
            try record(of: work, categories: categories).encoded()
                .write(to: folder.temporary.appendingPathComponent("run.json"))
            try folder.commit()
        } catch {
            folder.discard()
            work.error = "cannot write \(folder.final.path): " + oneLine(error)
        }
        tally(work)
    }

    private func record(of work: CaseWork, categories: [RunRecord.Category]) -> RunRecord {
        let model = loaded.model
        return RunRecord(
            caseName: work.item.name, status: work.error == nil ? .ok : .failed, error: work.error,
            input: .init(path: work.item.url.path, sha256: work.inputSha256),
            prompts: settings.prompts, precision: settings.precision.rawValue, zoomIn: settings.zoomIn,
            windowGrid: settings.windowGrid.rawValue,
            model: .init(folder: loaded.folder.path, weightsFile: loaded.weightsFile.lastPathComponent,
                         weightsSha256: loaded.weightsSha256),
            engineVersion: engineVersion, backend: model.backend.kind, device: model.backend.deviceName,
            seconds: work.seconds, windowsEncoded: work.windowsEncoded, categories: categories,
            finished: ISO8601DateFormatter().string(from: Date()))
    }

    /// Counts the case and prints its line.
    private func tally(_ work: CaseWork) {
        reportLock.lock()
        defer { reportLock.unlock() }
        let line: String
        if work.skipped {
            report.skipped += 1
            line = "skipped \(work.item.name): done before with the same input, prompts, model and precision"
        } else if let error = work.error {
            report.failed += 1
            line = "failed  \(work.item.name): \(error)"
            report.firstFailure = report.firstFailure ?? line
        } else {
            report.ok += 1
            let s = work.seconds
            report.stageSeconds.read += s.read
            report.stageSeconds.preprocess += s.preprocess
            report.stageSeconds.zoomOut += s.zoomOut
            report.stageSeconds.zoomIn += s.zoomIn
            report.stageSeconds.write += s.write
            line = String(format: "ok      %@: %.2f s (read %.2f, preprocess %.2f, zoom-out %.2f, zoom-in %.2f, write %.2f)",
                          work.item.name, s.total, s.read, s.preprocess, s.zoomOut, s.zoomIn, s.write)
        }
        if settings.verbose {
            print(line)
            fflush(stdout)
        }
    }
}

/// One case on its way through the stages; each stage has it alone in turn (the queues hand it over).
final class CaseWork {
    let item: BatchCase
    let folder: CaseFolder
    var inputSha256: String?
    /// The input as read (HU on its grid), kept for the statistics until the case is written.
    var image: NIfTIImage?
    var geometry: CaseGeometry?
    var voxelMillilitres = 0.0
    /// The preprocessed crop, dropped once it is on the device.
    var volume: PreprocessedVolume?
    var results: [ZoomPipeline.CategoryResult] = []
    var windowsEncoded = 0
    var seconds = RunRecord.Seconds()
    var error: String?
    var skipped = false

    init(item: BatchCase, folder: CaseFolder) {
        self.item = item
        self.folder = folder
    }
}

/// An error as the one line run.json and the case's status line hold.
private func oneLine(_ error: Error) -> String {
    "\(error)".split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
}
