import VulkanRuntime

/// `fma_ceiling.comp`: the device's fp32 multiply-add rate on registers, with no loads. Not a model op: the
/// kernel benchmark measures it where no data sheet gives the device's peak (lavapipe), so that its kernels'
/// GFLOP/s stand next to what the device's arithmetic alone allows.
public enum FmaCeilingKernel {
    static let localSize = 64
    /// Four steps of eight vec4 multiply-adds per round.
    public static let flopsPerRound = 4 * 8 * 4 * 2

    /// Floating-point operations of `count` invocations running `rounds` rounds.
    public static func flops(count: Int, rounds: Int) -> Double { Double(count) * Double(rounds) * Double(flopsPerRound) }

    static func record(_ backend: VulkanBackend, out: Tensor, rounds: Int) throws {
        try require(out.dtype == .float32, "fma ceiling: out must be fp32")
        try require(out.count <= backend.maxBindingElements(), "fma ceiling: \(out.count) sums do not fit one binding")
        try require(rounds >= 0 && rounds <= Int(UInt32.max), "fma ceiling: rounds must fit 32 bits")
        let pipeline = try backend.pipeline("fma_ceiling", bindings: 1)
        try backend.recorder.dispatch(pipeline, bindings: [backend.binding(out, .write)],
                                      push: [out.count.word, UInt32(rounds)],
                                      groups: backend.grid(out.count, localSize: localSize), label: "fma ceiling")
    }
}

extension VulkanBackend {
    /// One sum per element of `out` from `rounds` rounds of multiply-add chains (see `CPUBackend.fmaCeilingSums`).
    public func fmaCeiling(out: Tensor, rounds: Int) throws {
        try FmaCeilingKernel.record(self, out: out, rounds: rounds)
    }
}
