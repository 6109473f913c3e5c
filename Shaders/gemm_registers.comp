#version 450
// C = act(A·Bᵀ + bias) + residual for CPU-like devices (lavapipe): no shared memory, no barriers.
// Each invocation keeps a BM x BN block of C and reads A as vec4 along k, B as vec4 along k (layout .nk)
// or along n (.kn). lavapipe gathers every load lane by lane, so larger blocks (more FMAs per load) pay.
// Defines: VEC4 (1: vec4 loads; needs k % 4 == 0, and n % 4 == 0 for .kn, and strides % 4 == 0),
// B_KN (B is K x N), A_HALF and B_HALF (A or B stored as fp16, converted on load), C_HALF (C and the
// residual stored as fp16; the fp32 result is rounded once, on store), TEXEL (with VEC4: A and B read
// through uniform texel buffers, which lavapipe loads several times faster than storage buffers), BM x BN
// (the block of C per invocation), STRAIGHT (with TEXEL: the straight-line epilogue, see its comment),
// A_KM (with TEXEL and B_KN: A is K x M, vec4 along m, m % 4 == 0), STORE_K2S2 (with STRAIGHT: C scattered
// into a kernel-2 stride-2 ConvTranspose3d's output, see the epilogue), PACK8 (with TEXEL, A_HALF, B_HALF and
// B as N x K: eight halves per texel, fetched as four words and unpacked here, so half the fetches; k, the
// strides and the offsets multiples of 8), K8 (with TEXEL and B as N x K, without PACK8: k in steps of eight,
// two texels of A and of B per step, so each sum takes eight multiply-adds in a row between fetches, which on
// lavapipe are calls that send the accumulators to the stack; k a multiple of 8). PACK8 steps by eight too.
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
#ifndef A_KM
#define A_KM 0
#endif
#ifndef STORE_K2S2
#define STORE_K2S2 0
#endif
#ifndef PACK8
#define PACK8 0
#endif
#ifndef K8
#define K8 0
#endif
#include "gemm_types.glsl"
#if A_KM && !(B_KN && VEC4 && TEXEL)
#error "A_KM needs B_KN, VEC4 and TEXEL"
#endif
#if STORE_K2S2 && !(A_KM && STRAIGHT)
#error "STORE_K2S2 needs A_KM and STRAIGHT"
#endif
#if PACK8 && !(VEC4 && TEXEL && A_HALF && B_HALF && !B_KN)
#error "PACK8 needs VEC4, TEXEL, A_HALF, B_HALF and B as N x K"
#endif
#if K8 && !(VEC4 && TEXEL && !B_KN && !PACK8)
#error "K8 needs VEC4, TEXEL and B as N x K, without PACK8"
#endif

#if PACK8
layout(binding = 0) uniform usamplerBuffer aWords;
layout(binding = 1) uniform usamplerBuffer bWords;
#elif VEC4 && TEXEL
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


const uint BN4 = BN / 4;
const uint BM4 = BM / 4;

#if PACK8
// Offsets are in elements and multiples of 8: one texel, values offset .. offset+3 in lo, the next four in hi.
void loadA8(uint offset, out vec4 lo, out vec4 hi) { unpackHalves8(texelFetch(aWords, int(offset >> 3)), lo, hi); }
void loadB8(uint offset, out vec4 lo, out vec4 hi) { unpackHalves8(texelFetch(bWords, int(offset >> 3)), lo, hi); }
#elif VEC4 && TEXEL
// Offsets are in elements and multiples of 4: one texel. An fp16 view converts on fetch.
vec4 loadA(uint offset) { return texelFetch(aTexels, int(offset >> 2)); }
vec4 loadB(uint offset) { return texelFetch(bTexels, int(offset >> 2)); }
#if K8
// Two texels: values offset .. offset+3 in lo, the next four in hi.
void loadA8(uint offset, out vec4 lo, out vec4 hi) { lo = loadA(offset); hi = loadA(offset + 4u); }
void loadB8(uint offset, out vec4 lo, out vec4 hi) { lo = loadB(offset); hi = loadB(offset + 4u); }
#endif
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

#if A_KM
    // Whole vec4 row groups, the last aligned one repeated past the edge (m % 4 == 0), as the epilogue sees them.
    uint aCol[BM4];
    [[unroll]] for (uint g = 0; g < BM4; g++) aCol[g] = aBase + min(row0 + 4 * g, p.m - 4);
#else
    // Rows and columns past the edge are clamped to the last one: loads stay in bounds, stores are skipped.
    uint aRow[BM];
    [[unroll]] for (uint i = 0; i < BM; i++) aRow[i] = aBase + min(row0 + i, p.m - 1) * p.lda;
#endif
    // One scalar sum per element, given its four k steps in a row (j outer, q inner) as explicit fma.
    float acc[BM][BN];
    [[unroll]] for (uint i = 0; i < BM; i++) [[unroll]] for (uint j = 0; j < BN; j++) acc[i][j] = 0.0;
    uint k4 = p.k & ~3u;

#if B_KN
#if VEC4
    // BN / 4 vec4 column groups; a group past the edge is clamped to the last aligned one (n % 4 == 0).
    uint bCol[BN4];
    [[unroll]] for (uint g = 0; g < BN4; g++) bCol[g] = bBase + min(col0 + 4 * g, p.n - 4);
#else
    uint bCol[BN];
    [[unroll]] for (uint j = 0; j < BN; j++) bCol[j] = bBase + min(col0 + j, p.n - 1);
#endif
    for (uint kk = 0; kk < p.k; kk += 4) {
        uint steps = min(4u, p.k - kk);
        vec4 bq[4][BN4];
        [[unroll]] for (uint q = 0; q < 4; q++) {
            // Rows past k are clamped too; their A factor is zero.
            uint rowOffset = min(kk + q, p.k - 1) * p.n;
#if VEC4
            [[unroll]] for (uint g = 0; g < BN4; g++) bq[q][g] = loadB(bCol[g] + rowOffset);
#else
            [[unroll]] for (uint g = 0; g < BN4; g++)
                bq[q][g] = vec4(float(b[bCol[4 * g] + rowOffset]), float(b[bCol[4 * g + 1] + rowOffset]),
                                float(b[bCol[4 * g + 2] + rowOffset]), float(b[bCol[4 * g + 3] + rowOffset]));
#endif
        }
#if A_KM
        vec4 aq[4][BM4];
        [[unroll]] for (uint q = 0; q < 4; q++)
            [[unroll]] for (uint g = 0; g < BM4; g++) aq[q][g] = loadA(aCol[g] + (kk + q) * p.lda);
        [[unroll]] for (uint i = 0; i < BM; i++)
            [[unroll]] for (uint j = 0; j < BN; j++)
                [[unroll]] for (uint q = 0; q < 4; q++) acc[i][j] = fma(aq[q][i >> 2][i & 3u], bq[q][j >> 2][j & 3u], acc[i][j]);
#else
        [[unroll]] for (uint i = 0; i < BM; i++) {
#if VEC4
            vec4 av = loadA(aRow[i] + kk);
#else
            vec4 av = steps == 4u ? loadA(aRow[i] + kk) : loadATail(aRow[i] + kk, steps);
#endif
            [[unroll]] for (uint j = 0; j < BN; j++)
                [[unroll]] for (uint q = 0; q < 4; q++) acc[i][j] = fma(av[q], bq[q][j >> 2][j & 3u], acc[i][j]);
        }
#endif
    }
#else
    uint bRow[BN];
#if STRAIGHT
    // Whole vec4 column groups, the last aligned one repeated past the edge (n % 4 == 0), as the epilogue
    // (and the .kn loads) see them.
    [[unroll]] for (uint j = 0; j < BN; j++) bRow[j] = bBase + (min(col0 + (j & ~3u), p.n - 4) + (j & 3u)) * p.k;
#else
    [[unroll]] for (uint j = 0; j < BN; j++) bRow[j] = bBase + min(col0 + j, p.n - 1) * p.k;
#endif
#if PACK8 || K8
    // The same sums in the same order as steps of four (PACK8: from half as many fetches).
    for (uint kk = 0; kk < p.k; kk += 8) {
        vec4 bLo[BN], bHi[BN];
        [[unroll]] for (uint j = 0; j < BN; j++) loadB8(bRow[j] + kk, bLo[j], bHi[j]);
        [[unroll]] for (uint i = 0; i < BM; i++) {
            vec4 aLo, aHi;
            loadA8(aRow[i] + kk, aLo, aHi);
            [[unroll]] for (uint j = 0; j < BN; j++) {
                [[unroll]] for (uint q = 0; q < 4; q++) acc[i][j] = fma(aLo[q], bLo[j][q], acc[i][j]);
                [[unroll]] for (uint q = 0; q < 4; q++) acc[i][j] = fma(aHi[q], bHi[j][q], acc[i][j]);
            }
        }
    }
#else
    for (uint kk = 0; kk < k4; kk += 4) {
        vec4 bv[BN];
        [[unroll]] for (uint j = 0; j < BN; j++) bv[j] = loadB(bRow[j] + kk);
        [[unroll]] for (uint i = 0; i < BM; i++) {
            vec4 av = loadA(aRow[i] + kk);
            [[unroll]] for (uint j = 0; j < BN; j++)
                [[unroll]] for (uint q = 0; q < 4; q++) acc[i][j] = fma(av[q], bv[j][q], acc[i][j]);
        }
    }
#endif
#if !VEC4
    // The last k % 4 values, one at a time.
    for (uint kk = k4; kk < p.k; kk++) {
        float bk[BN];
        [[unroll]] for (uint j = 0; j < BN; j++) bk[j] = float(b[bRow[j] + kk]);
        [[unroll]] for (uint i = 0; i < BM; i++) {
            float av = float(a[aRow[i] + kk]);
            [[unroll]] for (uint j = 0; j < BN; j++) acc[i][j] = fma(av, bk[j], acc[i][j]);
        }
    }
#endif
#endif

#if STRAIGHT
    // Straight-line epilogue (no activation but ReLU, no partial sums; bias, residual, ldc, strideC, n and
    // the offsets multiples of 4): lavapipe runs it much faster than the rolled one below, which indexes an
    // array by a loop counter, and compiles it quickly, which it does not when storage loads are unrolled.
    // Rows past the edge were clamped to the last, column groups to the last whole one, so their sums equal
    // those at the clamped position: storing them there writes the same value again. Every residual is read
    // before the first store.
#if STORE_K2S2
    // C's row r = co·8 + tap (tap = kd·4 + kh·2 + kw, the weight's layout) and column c = a voxel (d, h, w) of
    // the convolution's input (inW, inHW: its W and H·W); the sum lands at out[co, 2d+kd, 2h+kh, 2w+kw] of an
    // output of 8·n voxels per channel, plus bias[co]. A column group is four voxels of one input row
    // (W % 4 == 0), so its outputs are every other voxel of one output row.
    uint outRow[BM];
    float rowBias[BM];
    [[unroll]] for (uint i = 0; i < BM; i++) {
        uint r = min(row0 + (i & ~3u), p.m - 4) + (i & 3u), co = r >> 3, tap = r & 7u;
        outRow[i] = batch * p.strideC + co * 8u * p.n + (tap >> 2) * 4u * p.inHW + ((tap >> 1) & 1u) * 2u * p.inW + (tap & 1u);
        rowBias[i] = (p.flags & 1u) != 0u ? texelFetch(biasTexels, int(co >> 2))[co & 3u] : 0.0;
    }
    [[unroll]] for (uint g = 0; g < BN4; g++) {
        uint col = min(col0 + 4 * g, p.n - 4), d = col / p.inHW, h = (col % p.inHW) / p.inW, w = col % p.inW;
        uint outCol = d * 8u * p.inHW + h * 4u * p.inW + 2u * w;
        [[unroll]] for (uint i = 0; i < BM; i++)
            [[unroll]] for (uint e = 0; e < 4; e++) c[p.cOffset + outRow[i] + outCol + 2 * e] = CSCALAR(acc[i][4 * g + e] + rowBias[i]);
    }
#else
    float result[BM][BN];
    uint cRow[BM];
    [[unroll]] for (uint i = 0; i < BM; i++) cRow[i] = batch * p.strideC + min(row0 + i, p.m - 1) * p.ldc;
    [[unroll]] for (uint g = 0; g < BN4; g++) {
        uint col = min(col0 + 4 * g, p.n - 4);
        vec4 b = (p.flags & 1u) != 0u ? texelFetch(biasTexels, int((p.biasOffset + col) >> 2)) : vec4(0.0);
        [[unroll]] for (uint i = 0; i < BM; i++) {
            vec4 r = (p.flags & 2u) != 0u ? texelFetch(residualTexels, int((p.residualOffset + cRow[i] + col) >> 2)) : vec4(0.0);
            [[unroll]] for (uint e = 0; e < 4; e++) {
                float value = acc[i][4 * g + e] + b[e];
                result[i][4 * g + e] = (p.activation == 1u ? max(value, 0.0) : value) + r[e];
            }
        }
    }
    [[unroll]] for (uint i = 0; i < BM; i++) [[unroll]] for (uint g = 0; g < BN4; g++) {
        uint index = p.cOffset + cRow[i] + min(col0 + 4 * g, p.n - 4);
        [[unroll]] for (uint e = 0; e < 4; e++) c[index + e] = CSCALAR(result[i][4 * g + e]);
    }
#endif
#else
    // Epilogue (gemm_epilogue.glsl). The block is copied out with constant indices (acc stays in registers)
    // and finished in a rolled loop, so the activation is not inlined BM x BN times.
    float values[BM * BN];
    [[unroll]] for (uint i = 0; i < BM; i++) [[unroll]] for (uint j = 0; j < BN; j++) values[i * BN + j] = acc[i][j];
    for (uint e = 0; e < BM * BN; e++) {
        uint row = row0 + e / BN, col = col0 + e % BN;
        if (row < p.m && col < p.n) storeC(values[e], batch, row, col);
    }
#endif
}
