#version 450
// C = act(A·Bᵀ + bias) + residual for CPU-like devices (lavapipe): no shared memory, no barriers.
// Each invocation keeps a 16x8 block of C in 32 vec4 registers and reads A as vec4 along k; B is
// read as vec4 along k (layout .nk, acc += dot(a_i, b_j)) or along n (.kn, acc += a_i[q]·B[q, j..j+3]).
// Defines: VEC4 (1: vec4 loads; needs k % 4 == 0, and n % 4 == 0 for .kn, and strides % 4 == 0),
// B_KN (B is K x N), A_HALF and B_HALF (A or B stored as fp16, converted on load), C_HALF (C and the
// residual stored as fp16; the fp32 result is rounded once, on store), TEXEL (with VEC4: A and B read
// through uniform texel buffers, which lavapipe loads several times faster than storage buffers).
#extension GL_EXT_control_flow_attributes : require
#if A_HALF || B_HALF || C_HALF
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
layout(local_size_x = 64) in;
#include "common.glsl"
#ifndef TEXEL
#define TEXEL 0
#endif
#include "gemm_types.glsl"

#if VEC4 && TEXEL
layout(binding = 0) uniform samplerBuffer aTexels;
layout(binding = 1) uniform samplerBuffer bTexels;
#elif VEC4
layout(std430, binding = 0) readonly buffer A { AVEC4 a[]; };
layout(std430, binding = 1) readonly buffer B { BVEC4 b[]; };
#else
layout(std430, binding = 0) readonly buffer A { ASCALAR a[]; };
layout(std430, binding = 1) readonly buffer B { BSCALAR b[]; };
#endif
#include "gemm_epilogue.glsl"

const uint BM = 16, BN = 8;

#if VEC4 && TEXEL
// Offsets are in elements and multiples of 4: one texel. An fp16 view converts on fetch.
vec4 loadA(uint offset) { return texelFetch(aTexels, int(offset >> 2)); }
vec4 loadB(uint offset) { return texelFetch(bTexels, int(offset >> 2)); }
#elif VEC4
// Offsets are in elements and multiples of 4.
vec4 loadA(uint offset) { return vec4(a[offset >> 2]); }
vec4 loadB(uint offset) { return vec4(b[offset >> 2]); }
#else
vec4 loadA(uint offset) { return vec4(float(a[offset]), float(a[offset + 1]), float(a[offset + 2]), float(a[offset + 3])); }
vec4 loadB(uint offset) { return vec4(float(b[offset]), float(b[offset + 1]), float(b[offset + 2]), float(b[offset + 3])); }
// The last k % 4 values, zero-padded.
vec4 loadATail(uint offset, uint count) {
    return vec4(float(a[offset]), count > 1u ? float(a[offset + 1]) : 0.0, count > 2u ? float(a[offset + 2]) : 0.0, 0.0);
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
            float av = float(a[aRow[i] + kk]);
            acc[i][0] += av * b0;
            acc[i][1] += av * b1;
        }
    }
#endif
#endif

    // Epilogue (gemm_epilogue.glsl). The block is copied out with constant indices (acc stays in registers)
    // and finished in a rolled loop, so the activation is not inlined 128 times.
    float values[BM * BN];
    [[unroll]] for (uint i = 0; i < BM; i++) [[unroll]] for (uint j = 0; j < BN; j++) values[i * BN + j] = acc[i][j >> 2][j & 3u];
    for (uint e = 0; e < BM * BN; e++) {
        uint row = row0 + e / BN, col = col0 + e % BN;
        if (row < p.m && col < p.n) storeC(values[e], batch, row, col);
    }
}
