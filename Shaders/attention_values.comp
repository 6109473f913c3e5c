#version 450
// Blocked attention, step 3: out[h, first + r, c] = Σ_j P[h, r, j] · V[h, j, c] / Σ_j P[h, r, j], with P from
// step 2 (zero past the keys a row sees). Register-blocked like gemm_registers.comp: each invocation keeps
// BM rows x BN head-dim columns (host defines; BN a multiple of 4) in vec4 accumulators, reads P as vec4
// along keys and V rows as vec4 along the head dim; no shared memory, no barriers.
// VEC4 = 1: vec4 loads of V (offset, strides and head dim multiples of 4), else scalars.
// TEXEL = 1 (with VEC4): P and V read through uniform texel buffers, lavapipe's fast load path.
// QKV_HALF: V stored as fp16; OUT_HALF: out stored as fp16 (attention_types.glsl).
#extension GL_EXT_control_flow_attributes : require
#if QKV_HALF || OUT_HALF
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
layout(local_size_x = 64) in;
#include "common.glsl"
#include "attention_types.glsl"

#ifndef TEXEL
#define TEXEL 0
#endif
layout(std430, binding = 1) readonly buffer Inverse { float inverseSum[]; };
#if VEC4 && TEXEL
layout(binding = 0) uniform samplerBuffer prob;
layout(binding = 2) uniform samplerBuffer v;
#define LOAD_P(index) texelFetch(prob, int(index))
#define LOAD_V(index) texelFetch(v, int(index))
#elif VEC4
layout(std430, binding = 0) readonly buffer P { vec4 prob[]; };
layout(std430, binding = 2) readonly buffer V { QKV_VEC4 v[]; };
#define LOAD_P(index) prob[index]
#define LOAD_V(index) vec4(v[index])
#else
layout(std430, binding = 0) readonly buffer P { vec4 prob[]; };
layout(std430, binding = 2) readonly buffer V { QKV_SCALAR v[]; };
#define LOAD_P(index) prob[index]
#endif
layout(std430, binding = 3) writeonly buffer O { OUT_SCALAR o[]; };
layout(push_constant) uniform Params {
    uint rows, keys, headDim, stride, blocksN, blocksM, blockCount, causal, firstQuery;
    uint vOffset, vRow, vHead, oOffset, oRow, oHead;
} p;

#ifndef BM
#define BM 16
#define BN 8
#endif
const uint BN4 = BN / 4;

void main() {
    const uint block = foldedIndex();
    if (block >= p.blockCount) return;
    const uint col0 = (block % p.blocksN) * BN;
    const uint rest = block / p.blocksN;
    const uint row0 = (rest % p.blocksM) * BM;
    const uint h = rest / p.blocksM;
    // Causal: no row of the block sees past its last row's query; P is zero beyond each row's own end.
    const uint lastRow = min(row0 + BM, p.rows) - 1;
    const uint keyEnd = p.causal != 0u ? min(p.keys, p.firstQuery + lastRow + 1) : p.keys;

    // Rows past the edge are clamped to the last one, keys past the end to the last key (its P is zero).
    uint pBase[BM];
    [[unroll]] for (uint i = 0; i < BM; i++) pBase[i] = (h * p.rows + min(row0 + i, p.rows - 1)) * p.stride / 4;
    const uint vBase = p.vOffset + h * p.vHead;
#if VEC4
    // vec4 groups past the head dim are clamped to the last one (their stores are skipped).
    uint vCol[BN4];
    [[unroll]] for (uint g = 0; g < BN4; g++) vCol[g] = vBase + min(col0 + 4 * g, p.headDim - 4);
#else
    uint vCol[BN];
    [[unroll]] for (uint j = 0; j < BN; j++) vCol[j] = vBase + min(col0 + j, p.headDim - 1);
#endif
    vec4 acc[BM][BN4];
    [[unroll]] for (uint i = 0; i < BM; i++) [[unroll]] for (uint g = 0; g < BN4; g++) acc[i][g] = vec4(0.0);

    for (uint key = 0; key < keyEnd; key += 4) {
        vec4 vq[4][BN4];
        [[unroll]] for (uint t = 0; t < 4; t++) {
            const uint rowOffset = min(key + t, p.keys - 1) * p.vRow;
#if VEC4
            [[unroll]] for (uint g = 0; g < BN4; g++) vq[t][g] = LOAD_V((vCol[g] + rowOffset) >> 2);
#else
            [[unroll]] for (uint g = 0; g < BN4; g++)
                vq[t][g] = vec4(float(v[vCol[4 * g] + rowOffset]), float(v[vCol[4 * g + 1] + rowOffset]),
                                float(v[vCol[4 * g + 2] + rowOffset]), float(v[vCol[4 * g + 3] + rowOffset]));
#endif
        }
        [[unroll]] for (uint i = 0; i < BM; i++) {
            const vec4 pv = LOAD_P(pBase[i] + key / 4);
            [[unroll]] for (uint t = 0; t < 4; t++)
                [[unroll]] for (uint g = 0; g < BN4; g++) acc[i][g] += pv[t] * vq[t][g];
        }
    }

    const uint oBase = p.oOffset + h * p.oHead;
    [[unroll]] for (uint i = 0; i < BM; i++) {
        const uint row = row0 + i;
        if (row < p.rows) {
            const float inverse = inverseSum[h * p.rows + row];
            [[unroll]] for (uint j = 0; j < BN; j++) {
                // A guard, not a break: loops with breaks are not unrolled and acc would live in memory.
                if (col0 + j < p.headDim) o[oBase + row * p.oRow + col0 + j] = OUT_SCALAR(acc[i][j >> 2][j & 3u] * inverse);
            }
        }
    }
}
