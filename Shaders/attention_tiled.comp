#version 450
// Fused attention for desktop GPUs (FlashAttention-2 style): out = softmax(Q·Kᵀ·scale [+ causal mask])·V.
// A work group covers LOCAL_SIZE·ROWS queries of one (head, batch) and loops over the keys, staging
// SHARED_KEYS rows of K and V in shared memory per step; the score matrix is never stored. Each invocation
// owns ROWS query rows and keeps their running max, sum and output rows in registers (online softmax,
// fp32, in the exp2 domain). Keys come four at a time (one vec4 of scores per row), so the accumulator is
// rescaled once per four keys.
// Rows are vec4s of head-dim values; a head dim that is not a multiple of 4 is padded with zeros.
// QKV_HALF: Q, K and V stored as fp16; OUT_HALF: out stored as fp16 (attention_types.glsl).
#extension GL_EXT_control_flow_attributes : require
#if QKV_HALF || OUT_HALF
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
layout(local_size_x = LOCAL_SIZE) in;
#include "attention_types.glsl"
layout(std430, binding = 0) readonly buffer Q { QKV_SCALAR q[]; };
layout(std430, binding = 1) readonly buffer K { QKV_SCALAR k[]; };
layout(std430, binding = 2) readonly buffer V { QKV_SCALAR v[]; };
layout(std430, binding = 3) writeonly buffer O { OUT_SCALAR o[]; };
layout(push_constant) uniform Params {
    uint queries, keys, causal;
    float scale;
    uint qOffset, qRow, qHead, qBatch;
    uint kOffset, kRow, kHead, kBatch;
    uint vOffset, vRow, vHead, vBatch;
    uint oOffset, oRow, oHead, oBatch;
} p;

const uint D = HEAD_DIM;
const uint D4 = (D + 3) / 4;
const float LOG2E = 1.4426950408889634;
// A finite start for the running max: a block whose keys are all masked then rescales by exp2(0) = 1.
const float NO_MAX = -1e30;
#define MINUS_INFINITY uintBitsToFloat(0xff800000u)

// Values c4·4 ... c4·4+3 of the row at `base` in `buf`, zero past the head dim.
#define LOAD4(buf, base, c4) vec4(float(buf[(base) + 4 * (c4)]), \
    4 * (c4) + 1 < D ? float(buf[(base) + 4 * (c4) + 1]) : 0.0, \
    4 * (c4) + 2 < D ? float(buf[(base) + 4 * (c4) + 2]) : 0.0, \
    4 * (c4) + 3 < D ? float(buf[(base) + 4 * (c4) + 3]) : 0.0)

shared vec4 kTile[SHARED_KEYS * D4];
shared vec4 vTile[SHARED_KEYS * D4];
#define KEY(j, c4) kTile[(j) * D4 + (c4)]
#define VALUE(j, c4) vTile[(j) * D4 + (c4)]

void main() {
    const uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
    const uint groupRows = LOCAL_SIZE * ROWS;
    const uint firstRow = gl_WorkGroupID.x * groupRows + gl_LocalInvocationID.x * ROWS;
    const uint qBase = p.qOffset + b * p.qBatch + h * p.qHead;
    const uint kBase = p.kOffset + b * p.kBatch + h * p.kHead;
    const uint vBase = p.vOffset + b * p.vBatch + h * p.vHead;

    vec4 query[ROWS][D4];
    vec4 acc[ROWS][D4];
    float rowMax[ROWS];
    float rowSum[ROWS];
    // Scores come out pre-multiplied by log2(e) so the softmax can use exp2.
    const float qScale = p.scale * LOG2E;
    [[unroll]] for (uint r = 0; r < ROWS; r++) {
        uint row = min(firstRow + r, p.queries - 1);
        [[unroll]] for (uint c4 = 0; c4 < D4; c4++) {
            query[r][c4] = LOAD4(q, qBase + row * p.qRow, c4) * qScale;
            acc[r][c4] = vec4(0.0);
        }
        rowMax[r] = NO_MAX;
        rowSum[r] = 0.0;
    }
    // Causal: no query of this work group sees past its last row.
    const uint lastRow = min(gl_WorkGroupID.x * groupRows + groupRows, p.queries) - 1;
    const uint keyEnd = p.causal != 0u ? min(p.keys, lastRow + 1) : p.keys;

    for (uint tile = 0; tile < keyEnd; tile += SHARED_KEYS) {
        barrier();
        for (uint e = gl_LocalInvocationID.x; e < SHARED_KEYS * D4; e += LOCAL_SIZE) {
            uint j = min(tile + e / D4, keyEnd - 1), c4 = e % D4;
            kTile[e] = LOAD4(k, kBase + j * p.kRow, c4);
            vTile[e] = LOAD4(v, vBase + j * p.vRow, c4);
        }
        barrier();
        const uint end = min(tile + SHARED_KEYS, keyEnd);
        for (uint j0 = tile; j0 < end; j0 += 4) {
            const uint local = j0 - tile, last = end - 1 - tile;
            // Scores of keys j0 ... j0+3 (padding keys past `end` repeat the last key and are masked).
            vec4 s[ROWS];
            [[unroll]] for (uint jj = 0; jj < 4; jj++) {
                const uint j = min(local + jj, last);
                vec4 partial[ROWS];
                [[unroll]] for (uint r = 0; r < ROWS; r++) partial[r] = vec4(0.0);
                [[unroll]] for (uint c4 = 0; c4 < D4; c4++) {
                    const vec4 key = KEY(j, c4);
                    [[unroll]] for (uint r = 0; r < ROWS; r++) partial[r] += query[r][c4] * key;
                }
                [[unroll]] for (uint r = 0; r < ROWS; r++) {
                    const bool visible = j0 + jj < end && (p.causal == 0u || j0 + jj <= firstRow + r);
                    s[r][jj] = visible ? dot(partial[r], vec4(1.0)) : MINUS_INFINITY;
                }
            }
            [[unroll]] for (uint r = 0; r < ROWS; r++) {
                const float blockMax = max(max(rowMax[r], max(s[r].x, s[r].y)), max(s[r].z, s[r].w));
                const float rescale = exp2(rowMax[r] - blockMax);
                rowMax[r] = blockMax;
                s[r] = exp2(s[r] - blockMax);
                rowSum[r] = rowSum[r] * rescale + dot(s[r], vec4(1.0));
                [[unroll]] for (uint c4 = 0; c4 < D4; c4++) acc[r][c4] *= rescale;
            }
            [[unroll]] for (uint jj = 0; jj < 4; jj++) {
                const uint j = min(local + jj, last);
                [[unroll]] for (uint c4 = 0; c4 < D4; c4++) {
                    const vec4 value = VALUE(j, c4);
                    [[unroll]] for (uint r = 0; r < ROWS; r++) acc[r][c4] += s[r][jj] * value;
                }
            }
        }
    }

    const uint oBase = p.oOffset + b * p.oBatch + h * p.oHead;
    [[unroll]] for (uint r = 0; r < ROWS; r++) {
        if (firstRow + r < p.queries) {
            const float inverse = 1.0 / rowSum[r];
            const uint base = oBase + (firstRow + r) * p.oRow;
            [[unroll]] for (uint c4 = 0; c4 < D4; c4++) {
                const vec4 value = acc[r][c4] * inverse;
                [[unroll]] for (uint i = 0; i < 4; i++) {
                    if (4 * c4 + i < D) o[base + 4 * c4 + i] = OUT_SCALAR(value[i]);
                }
            }
        }
    }
}
