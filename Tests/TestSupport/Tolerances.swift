/// One rounding to fp16 storage, relative to the value: at most 2^-11 with round-to-nearest (the CPU reference,
/// `Float16(x)`), below 2^-10 where the device rounds toward zero (Vulkan leaves the choice to the device).
/// When a kernel and the reference each round a result whose fp32 values already differ by the fp32 tolerance,
/// the rounded values differ by at most that tolerance plus this: add it once per fp16 store.
public let halfRoundingTolerance: Float = 0x1p-11 + 0x1p-10
