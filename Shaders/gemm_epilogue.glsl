// Bindings 2 to 5, the push constants and the epilogue shared by the three GEMM shaders (GemmKernel.swift).
// Include after common.glsl and gemm_types.glsl.
#ifndef STRAIGHT
#define STRAIGHT 0
#endif
#if STRAIGHT
// gemm_registers.comp's straight-line epilogue reads bias and residual as vec4 texels.
layout(binding = 2) uniform samplerBuffer biasTexels;
layout(binding = 3) uniform samplerBuffer residualTexels;
#else
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
// Residual and C may be the same buffer (in place x += f(x)): each element is read before it is written.
layout(std430, binding = 3) readonly buffer Residual { CSCALAR residual[]; };
#endif
layout(std430, binding = 4) writeonly buffer C { CSCALAR c[]; };
// A GEMM split along k: the fp32 sums of the earlier k chunks, laid out like C (may be C's own buffer).
layout(std430, binding = 5) readonly buffer Partial { float partial[]; };
// lda and ldc are A's and C's row strides (they differ from k and n when a GEMM is split into chunks); the
// offsets place each operand inside its binding; blocksN and blockCount are used by the register variant only.
// flags: 1 bias, 2 residual, 4 partial sums. inW, inHW: the input's W and H·W of a STORE_K2S2 build.
layout(push_constant) uniform Params {
    uint m, n, k, strideA, strideB, strideC, batchOffset, activation, flags, blocksN, blockCount,
         lda, ldc, aOffset, bOffset, biasOffset, residualOffset, cOffset, partialOffset, inW, inHW;
} p;

#if !STRAIGHT
// C[batch, row, col] = act(sum + bias + partial) + residual, from the fp32 sum of this dispatch's k range;
// rounded once to C's storage type.
void storeC(float sum, uint batch, uint row, uint col) {
    uint index = batch * p.strideC + row * p.ldc + col;
    float value = sum;
    if ((p.flags & 1u) != 0u) value += bias[p.biasOffset + col];
    if ((p.flags & 4u) != 0u) value += partial[p.partialOffset + index];
    value = activate(value, p.activation);
    if ((p.flags & 2u) != 0u) value += float(residual[p.residualOffset + index]);
    c[p.cOffset + index] = CSCALAR(value);
}
#endif
