import Foundation
import Model
import Volume

/// The inputs of `bench pipeline`: CTs resampled from a shared CT, and a model folder with random weights.
enum PipelineBenchData {
    /// Stored sizes (i, j, k) of the benchmark CTs, used in turn: full-size abdominal CTs, or small ones with --small.
    static let publishedSizes = [[512, 512, 300], [512, 512, 200], [384, 384, 250], [512, 512, 120]]
    static let smallSizes = [[122, 101, 112], [96, 96, 64], [122, 101, 30], [80, 80, 40]]

    /// Ten categories for the ten-category runs; the one-category runs take the first.
    static let categories = ["liver", "spleen", "left kidney", "right kidney", "aorta", "pancreas", "stomach", "gallbladder",
                             "esophagus", "inferior vena cava"]

    /// The sizes of the official-tiny fixture models, for --small.
    static var fixtureConfig: SegVolConfig {
        var config = SegVolConfig()
        config.spatialSize = [16, 64, 64]
        config.embedDim = 64
        config.vitLayers = 2
        config.vitHeads = 4
        config.vitMLP = 128
        config.decoderHeads = 4
        config.decoderMLP = 96
        config.clipHidden = 32
        config.clipLayers = 2
        config.clipHeads = 2
        config.clipMLP = 64
        return config
    }

    /// `count` CTs `case_<n>.nii.gz` in `folder`, each the source resampled (trilinear) to the next of `sizes`.
    static func writeCases(from source: URL, sizes: [[Int]], count: Int, into folder: URL) throws -> [URL] {
        let image = try NIfTI.read(source)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return try (0..<count).map { n in
            let url = folder.appendingPathComponent("case_\(n).nii.gz")
            let resampled = try image.resampled(to: sizes[n % sizes.count])
            try NIfTI.write(float32: resampled.data, like: resampled.header, to: url)
            return url
        }
    }

    /// A model folder: seeded random weights as model.safetensors, the sizes as model-config.json, and the CLIP
    /// tokenizer files copied from `tokenizer`.
    static func writeRandomModel(config: SegVolConfig, tokenizer: URL, into folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let files = ["vocab.json", "tokenizer.json", "merges.txt"].filter {
            FileManager.default.fileExists(atPath: tokenizer.appendingPathComponent($0).path)
        }
        guard files.contains("vocab.json") else {
            throw PipelineError("--tokenizer \(tokenizer.path) holds no vocab.json (the CLIP tokenizer files of a model folder)")
        }
        for file in files {
            try FileManager.default.copyItem(at: tokenizer.appendingPathComponent(file), to: folder.appendingPathComponent(file))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(config).write(to: folder.appendingPathComponent("model-config.json"))
        try ModelWeights.writeRandomCheckpoint(seed: 42, config: config, to: folder.appendingPathComponent("model.safetensors"))
    }

    /// Per category, Dice between two label maps of the same case (label c against label c), for each case.
    static func labelDice(_ first: URL, _ second: URL, categories: Int) throws -> [Double] {
        let a = try NIfTI.read(first).data, b = try NIfTI.read(second).data
        return (1...categories).map { label in
            let value = Float(label)
            var both = 0, inA = 0, inB = 0
            for v in 0..<a.count {
                let x = a[v] == value, y = b[v] == value
                if x { inA += 1 }
                if y { inB += 1 }
                if x && y { both += 1 }
            }
            return inA + inB == 0 ? 1 : 2 * Double(both) / Double(inA + inB)
        }
    }
}
