import ArgumentParser
import Foundation
import Volume

/// `segvol bench preprocess`: SegVol's preprocessing (spec section 6, steps 1-5) of a CT-sized volume on the CPU.
struct PreprocessBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Time the published preprocessing (foreground statistics, normalisation, transpose, padding, crop) of a CT-sized volume.",
        discussion: """
            The volume is synthetic: a body-sized disc of soft tissue (40 HU with noise) in air (-1000 HU) on every slice, \
            the shape of a CT. `Benchmarks/preprocess_peer.py` times the same steps written with NumPy, as the published code \
            does them, on the same volume.

            Example: segvol bench preprocess --size 512,512,300 --runs 3 --warmup 1
            """)

    @Option(name: .long, help: "Stored size i,j,k of the volume.")
    var size = "512,512,300"

    @OptionGroup var options: BenchRunOptions

    func run() throws {
        reportingErrors {
            let dims = size.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard dims.count == 3, dims.allSatisfy({ $0 > 0 }) else { throw PipelineError("--size needs three positive sizes i,j,k") }
            progress("building a \(dims.map(String.init).joined(separator: "x")) volume")
            let stored = Self.syntheticCT(dims)
            var shape: [Int] = []
            let ms = try medianMilliseconds(runs: options.runs, warmup: options.warmup) {
                shape = try Preprocessing.run(stored: stored, dims: dims, spatialSize: [32, 256, 256]).shape
            }
            var report = Report(json: options.json)
            report.add(["stage": "preprocess", "size": dims.map(String.init).joined(separator: "x"), "crop": shape.map(String.init).joined(separator: "x"),
                        "ms": ms, "mvoxels_per_s": Double(stored.count) / ms / 1e3, "cores": ProcessInfo.processInfo.activeProcessorCount])
            report.printTable(columns: [("stage", "stage"), ("size", "stored size"), ("crop", "crop (D,H,W)"), ("ms", "ms"),
                                        ("mvoxels_per_s", "Mvoxel/s"), ("cores", "cores")])
        }
    }

    /// Air with a disc of noisy soft tissue on every slice (i fastest), like a body in a CT.
    static func syntheticCT(_ dims: [Int]) -> [Float] {
        let (ni, nj, nk) = (dims[0], dims[1], dims[2])
        let radius = Double(min(ni, nj)) * 0.39
        var state: UInt64 = 5
        let noise = (0..<4096).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 33) % 41 - 20)
        }
        var volume = [Float](repeating: -1000, count: ni * nj * nk)
        volume.withUnsafeMutableBufferPointer { v in
            for k in 0..<nk { for j in 0..<nj { for i in 0..<ni {
                let (x, y) = (Double(i - ni / 2), Double(j - nj / 2))
                if x * x + y * y < radius * radius {
                    let n = (k * nj + j) * ni + i
                    v[n] = 40 + noise[n & 4095]
                }
            } } }
        }
        return volume
    }
}
