import ArgumentParser

/// `--precision`: what the model's weights are stored as. fp16 stores the Linear layers' weights as fp16 where the
/// device supports it (activations and accumulation stay fp32); the rest of an fp16 graph is not there yet.
enum Precision: String, CaseIterable, ExpressibleByArgument {
    case fp32, fp16

    var halfLinearWeights: Bool { self == .fp16 }
}
