#version 450
// Blocked attention, step 1 (lavapipe): S[h, r, j] = scale · Q[h, first + r] · K[h, j] for a chunk of query
// rows of one batch item, every head, into a scratch matrix of rows `stride` wide (a multiple of BN).
// Register-blocked like gemm_registers.comp: each invocation keeps a BM x BN block of S (host defines; BN a
// multiple of 4) in float accumulators and reads Q and K rows as vec4 along the head dim; no shared memory, no
// barriers. No causal mask here:
// the softmax step reads only the keys a row sees; blocks no row of theirs sees are skipped.
// VEC4 = 1: vec4 loads (offsets, strides and head dim multiples of 4), else scalars zero-padded past the head dim.
// TEXEL = 1 (with VEC4): Q and K read through uniform texel buffers, lavapipe's fast load path.
// QKV_HALF: Q and K stored as fp16 (attention_types.glsl). PACK8 (with TEXEL and QKV_HALF): eight halves per texel,
// fetched as four words and unpacked here, half the fetches (head dim, offsets and strides multiples of 8).
// K8 (with TEXEL, without PACK8): the head dim in steps of eight, two texels of Q and of K per step, so each sum
// takes eight multiply-adds in a row between lavapipe's fetch calls (head dim a multiple of 8).
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
#ifndef PACK8
#define PACK8 0
#endif
#ifndef K8
#define K8 0
#endif
#if PACK8 && !(VEC4 && TEXEL && QKV_HALF)
#error "PACK8 needs VEC4, TEXEL and QKV_HALF"
#endif
#if K8 && !(VEC4 && TEXEL && !PACK8)
#error "K8 needs VEC4 and TEXEL, without PACK8"
#endif
#if PACK8
layout(binding = 0) uniform usamplerBuffer q;
layout(binding = 1) uniform usamplerBuffer k;
#elif VEC4 && TEXEL
layout(binding = 0) uniform samplerBuffer q;
layout(binding = 1) uniform samplerBuffer k;
#elif VEC4
layout(std430, binding = 0) readonly buffer Q { QKV_VEC4 q[]; };
layout(std430, binding = 1) readonly buffer K { QKV_VEC4 k[]; };
#else
layout(std430, binding = 0) readonly buffer Q { QKV_SCALAR q[]; };
layout(std430, binding = 1) readonly buffer K { QKV_SCALAR k[]; };
#endif
layout(std430, binding = 2) writeonly buffer S { vec4 s[]; };
layout(push_constant) uniform Params {
    uint rows, keys, headDim, stride, blocksN, blocksM, blockCount, causal, firstQuery;
    float scale;
    uint qOffset, qRow, qHead, kOffset, kRow, kHead;
} p;

#ifndef BM
#define BM 16
#define BN 8
#endif

// Values c ... c+3 of the row starting at element `base` (with PACK8: c ... c+7 into lo and hi).
#if PACK8
#define LOAD8(buf, base, c, lo, hi) unpackHalves8(texelFetch(buf, int(((base) + (c)) >> 3)), lo, hi)
#elif VEC4 && TEXEL
#define LOAD4(buf, base, c) texelFetch(buf, int(((base) + (c)) >> 2))
#define LOAD8(buf, base, c, lo, hi) { lo = LOAD4(buf, base, c); hi = LOAD4(buf, base, (c) + 4); }
#elif VEC4
#define LOAD4(buf, base, c) vec4(buf[((base) + (c)) >> 2])
#else
#define LOAD4(buf, base, c) vec4(float(buf[(base) + (c)]), \
    (c) + 1 < p.headDim ? float(buf[(base) + (c) + 1]) : 0.0, \
    (c) + 2 < p.headDim ? float(buf[(base) + (c) + 2]) : 0.0, \
    (c) + 3 < p.headDim ? float(buf[(base) + (c) + 3]) : 0.0)
#endif

void main() {
    const uint block = foldedIndex();
    if (block >= p.blockCount) return;
    const uint col0 = (block % p.blocksN) * BN;
    const uint rest = block / p.blocksN;
    const uint row0 = (rest % p.blocksM) * BM;
    const uint h = rest / p.blocksM;
    // Causal: query first + r sees keys 0 ... first + r.
    if (p.causal != 0u && col0 > p.firstQuery + min(row0 + BM, p.rows) - 1) return;

    // Rows and keys past the edge are clamped to the last one: loads stay in bounds, stores are skipped.
    uint qBase[BM];
    [[unroll]] for (uint i = 0; i < BM; i++) qBase[i] = p.qOffset + h * p.qHead + min(row0 + i, p.rows - 1) * p.qRow;
    uint kBase[BN];
    [[unroll]] for (uint j = 0; j < BN; j++) kBase[j] = p.kOffset + h * p.kHead + min(col0 + j, p.keys - 1) * p.kRow;
    float acc[BM][BN];
    [[unroll]] for (uint i = 0; i < BM; i++) [[unroll]] for (uint j = 0; j < BN; j++) acc[i][j] = 0.0;

#if PACK8 || K8
    // The same sums in the same order as steps of four.
    for (uint c = 0; c < p.headDim; c += 8) {
        vec4 kLo[BN], kHi[BN];
        [[unroll]] for (uint j = 0; j < BN; j++) LOAD8(k, kBase[j], c, kLo[j], kHi[j]);
        [[unroll]] for (uint i = 0; i < BM; i++) {
            vec4 qLo, qHi;
            LOAD8(q, qBase[i], c, qLo, qHi);
            [[unroll]] for (uint j = 0; j < BN; j++) {
                acc[i][j] = fma(qLo.x, kLo[j].x, acc[i][j]);
                acc[i][j] = fma(qLo.y, kLo[j].y, acc[i][j]);
                acc[i][j] = fma(qLo.z, kLo[j].z, acc[i][j]);
                acc[i][j] = fma(qLo.w, kLo[j].w, acc[i][j]);
                acc[i][j] = fma(qHi.x, kHi[j].x, acc[i][j]);
                acc[i][j] = fma(qHi.y, kHi[j].y, acc[i][j]);
                acc[i][j] = fma(qHi.z, kHi[j].z, acc[i][j]);
                acc[i][j] = fma(qHi.w, kHi[j].w, acc[i][j]);
            }
        }
    }
#else
    for (uint c = 0; c < p.headDim; c += 4) {
        vec4 kv[BN];
        [[unroll]] for (uint j = 0; j < BN; j++) kv[j] = LOAD4(k, kBase[j], c);
        [[unroll]] for (uint i = 0; i < BM; i++) {
            const vec4 qv = LOAD4(q, qBase[i], c);
            [[unroll]] for (uint j = 0; j < BN; j++) {
                acc[i][j] = fma(qv.x, kv[j].x, acc[i][j]);
                acc[i][j] = fma(qv.y, kv[j].y, acc[i][j]);
                acc[i][j] = fma(qv.z, kv[j].z, acc[i][j]);
                acc[i][j] = fma(qv.w, kv[j].w, acc[i][j]);
            }
        }
    }
#endif

    // Keys past the end land in the row's padding, which the softmax step overwrites.
    [[unroll]] for (uint i = 0; i < BM; i++) {
        if (row0 + i < p.rows) {
            const uint index = ((h * p.rows + row0 + i) * p.stride + col0) >> 2;
            [[unroll]] for (uint j = 0; j < BN / 4; j++) {
                s[index + j] = vec4(acc[i][4 * j], acc[i][4 * j + 1], acc[i][4 * j + 2], acc[i][4 * j + 3]) * p.scale;
            }
        }
    }
}
