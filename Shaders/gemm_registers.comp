#version 450
// C = act(A·Bᵀ + bias) + residual for CPU-like devices (lavapipe): no shared memory, no barriers.
// Each invocation keeps a 16x8 block of C in 32 vec4 registers and reads A as vec4 along k; B is
// read as vec4 along k (layout .nk, acc += dot(a_i, b_j)) or along n (.kn, acc += a_i[q]·B[q, j..j+3]).
// Defines: VEC4 (1: vec4 loads; needs k % 4 == 0, and n % 4 == 0 for .kn, and strides % 4 == 0),
// B_KN (B is K x N), B_HALF (B stored as fp16, converted on load), TEXEL (with VEC4: A and B read through
// uniform texel buffers, which lavapipe loads several times faster than storage buffers).
#extension GL_EXT_control_flow_attributes : require
#if B_HALF
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
layout(local_size_x = 64) in;
#include "common.glsl"
#ifndef TEXEL
#define TEXEL 0
#endif

#if B_HALF
#define BSCALAR float16_t
#define BVEC4 f16vec4
#else
#define BSCALAR float
#define BVEC4 vec4
#endif

#if VEC4 && TEXEL
layout(binding = 0) uniform samplerBuffer aTexels;
layout(binding = 1) uniform samplerBuffer bTexels;
#elif VEC4
layout(std430, binding = 0) readonly buffer A { vec4 a[]; };
layout(std430, binding = 1) readonly buffer B { BVEC4 b[]; };
#else
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { BSCALAR b[]; };
#endif
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
// Residual and C may be the same buffer (in place x += f(x)): each element is read before it is written.
layout(std430, binding = 3) readonly buffer Residual { float residual[]; };
layout(std430, binding = 4) writeonly buffer C { float c[]; };
// Shared by the three GEMM shaders (GemmKernel.swift): lda and ldc are A's and C's row strides (they differ
// from k and n when a GEMM is split into chunks); the offsets place each operand inside its binding;
// blocksN and blockCount are used by the register variant only.
layout(push_constant) uniform Params {
    uint m, n, k, strideA, strideB, strideC, batchOffset, activation, flags, blocksN, blockCount,
         lda, ldc, aOffset, bOffset, biasOffset, residualOffset, cOffset;
} p;

const uint BM = 16, BN = 8;

#if VEC4 && TEXEL
// Offsets are in elements and multiples of 4: one texel. An fp16 B view converts on fetch.
vec4 loadA(uint offset) { return texelFetch(aTexels, int(offset >> 2)); }
vec4 loadB(uint offset) { return texelFetch(bTexels, int(offset >> 2)); }
#elif VEC4
// Offsets are in floats and multiples of 4.
vec4 loadA(uint offset) { return a[offset >> 2]; }
vec4 loadB(uint offset) { return vec4(b[offset >> 2]); }
#else
vec4 loadA(uint offset) { return vec4(a[offset], a[offset + 1], a[offset + 2], a[offset + 3]); }
vec4 loadB(uint offset) { return vec4(float(b[offset]), float(b[offset + 1]), float(b[offset + 2]), float(b[offset + 3])); }
// The last k % 4 values, zero-padded.
vec4 loadATail(uint offset, uint count) {
    return vec4(a[offset], count > 1u ? a[offset + 1] : 0.0, count > 2u ? a[offset + 2] : 0.0, 0.0);
}
#endif

void main() {
    uint block = foldedIndex();
    if (block >= p.blockCount) return;
    uint row0 = (block / p.blocksN) * BM, col0 = (block % p.blocksN) * BN;
    uint batch = gl_WorkGroupID.z + p.batchOffset;
    uint aBase = p.aOffset + batch * p.strideA, bBase = p.bOffset + batch * p.strideB;

    // Rows and columns past the edge are clamped to the last one: loads stay in bounds, stores are skipped.
    uint aRow[BM];
    [[unroll]] for (uint i = 0; i < BM; i++) aRow[i] = aBase + min(row0 + i, p.m - 1) * p.lda;
    vec4 acc[BM][2];
    [[unroll]] for (uint i = 0; i < BM; i++) { acc[i][0] = vec4(0.0); acc[i][1] = vec4(0.0); }
    uint k4 = p.k & ~3u;

#if B_KN
#if VEC4
    // Two vec4 column groups; the second is clamped to the last aligned group when n % 8 == 4.
    uint bCol[2] = uint[2](bBase + min(col0, p.n - 4), bBase + min(col0 + 4, p.n - 4));
#else
    uint bCol[BN];
    [[unroll]] for (uint j = 0; j < BN; j++) bCol[j] = bBase + min(col0 + j, p.n - 1);
#endif
    for (uint kk = 0; kk < p.k; kk += 4) {
        uint steps = min(4u, p.k - kk);
        vec4 bq[4][2];
        [[unroll]] for (uint q = 0; q < 4; q++) {
            // Rows past k are clamped too; their A factor is zero.
            uint rowOffset = min(kk + q, p.k - 1) * p.n;
#if VEC4
            bq[q][0] = loadB(bCol[0] + rowOffset);
            bq[q][1] = loadB(bCol[1] + rowOffset);
#else
            bq[q][0] = vec4(float(b[bCol[0] + rowOffset]), float(b[bCol[1] + rowOffset]),
                            float(b[bCol[2] + rowOffset]), float(b[bCol[3] + rowOffset]));
            bq[q][1] = vec4(float(b[bCol[4] + rowOffset]), float(b[bCol[5] + rowOffset]),
                            float(b[bCol[6] + rowOffset]), float(b[bCol[7] + rowOffset]));
#endif
        }
        [[unroll]] for (uint i = 0; i < BM; i++) {
#if VEC4
            vec4 av = loadA(aRow[i] + kk);
#else
            vec4 av = steps == 4u ? loadA(aRow[i] + kk) : loadATail(aRow[i] + kk, steps);
#endif
            [[unroll]] for (uint q = 0; q < 4; q++) {
                acc[i][0] += av[q] * bq[q][0];
                acc[i][1] += av[q] * bq[q][1];
            }
        }
    }
#else
    uint bRow[BN];
    [[unroll]] for (uint j = 0; j < BN; j++) bRow[j] = bBase + min(col0 + j, p.n - 1) * p.k;
    for (uint kk = 0; kk < k4; kk += 4) {
        vec4 bv[BN];
        [[unroll]] for (uint j = 0; j < BN; j++) bv[j] = loadB(bRow[j] + kk);
        [[unroll]] for (uint i = 0; i < BM; i++) {
            vec4 av = loadA(aRow[i] + kk);
            acc[i][0] += vec4(dot(av, bv[0]), dot(av, bv[1]), dot(av, bv[2]), dot(av, bv[3]));
            acc[i][1] += vec4(dot(av, bv[4]), dot(av, bv[5]), dot(av, bv[6]), dot(av, bv[7]));
        }
    }
#if !VEC4
    // The last k % 4 values, one at a time.
    for (uint kk = k4; kk < p.k; kk++) {
        vec4 b0 = vec4(float(b[bRow[0] + kk]), float(b[bRow[1] + kk]), float(b[bRow[2] + kk]), float(b[bRow[3] + kk]));
        vec4 b1 = vec4(float(b[bRow[4] + kk]), float(b[bRow[5] + kk]), float(b[bRow[6] + kk]), float(b[bRow[7] + kk]));
        [[unroll]] for (uint i = 0; i < BM; i++) {
            float av = a[aRow[i] + kk];
            acc[i][0] += av * b0;
            acc[i][1] += av * b1;
        }
    }
#endif
#endif

    // Epilogue: bias, activation, then the residual (read before C is written). The block is copied
    // out with constant indices (acc stays in registers) and finished in a rolled loop, so the
    // activation is not inlined 128 times.
    float values[BM * BN];
    [[unroll]] for (uint i = 0; i < BM; i++) [[unroll]] for (uint j = 0; j < BN; j++) values[i * BN + j] = acc[i][j >> 2][j & 3u];
    uint cBase = batch * p.strideC;
    bool hasBias = (p.flags & 1u) != 0u, hasResidual = (p.flags & 2u) != 0u;
    for (uint e = 0; e < BM * BN; e++) {
        uint row = row0 + e / BN, col = col0 + e % BN;
        if (row >= p.m || col >= p.n) continue;
        float value = values[e];
        if (hasBias) value += bias[p.biasOffset + col];
        value = activate(value, p.activation);
        uint index = cBase + row * p.ldc + col;
        if (hasResidual) value += residual[p.residualOffset + index];
        c[p.cOffset + index] = value;
    }
}
