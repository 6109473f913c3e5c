#version 450
// Fused attention for lavapipe: out = softmax(Q·Kᵀ·scale [+ causal mask])·V without storing the score
// matrix, no shared memory and no barriers. Each invocation owns ROWS query rows of one (head, batch) and
// keeps their running max, sum and output rows in registers (online softmax, fp32, exp2 domain).
// Keys come one subgroup-width block at a time: each lane loads one key's K (then V) row with its own vec4
// loads and subgroupBroadcast hands every row to all lanes (lavapipe serialises per-lane buffer loads
// inside loops, while a broadcast is a register extract), so each load feeds SUBGROUP·ROWS FMAs.
// VEC4 = 1 reads rows as vec4s (offsets, strides and head dim multiples of 4), else as scalars.
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
layout(local_size_x = LOCAL_SIZE) in;
#if VEC4
layout(std430, binding = 0) readonly buffer Q { vec4 q[]; };
layout(std430, binding = 1) readonly buffer K { vec4 k[]; };
layout(std430, binding = 2) readonly buffer V { vec4 v[]; };
#else
layout(std430, binding = 0) readonly buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer K { float k[]; };
layout(std430, binding = 2) readonly buffer V { float v[]; };
#endif
layout(std430, binding = 3) writeonly buffer O { float o[]; };
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
const uint SG = SUBGROUP;
const float LOG2E = 1.4426950408889634;
// A finite start for the running max: a block whose keys are all masked then rescales by exp2(0) = 1.
const float NO_MAX = -1e30;
#define MINUS_INFINITY uintBitsToFloat(0xff800000u)

// Values c4·4 ... c4·4+3 of the row starting at element `base`, zero past the head dim.
#if VEC4
#define LOAD4(buf, base, c4) buf[((base) >> 2) + (c4)]
#else
#define LOAD4(buf, base, c4) vec4(buf[(base) + 4 * (c4)], \
    4 * (c4) + 1 < D ? buf[(base) + 4 * (c4) + 1] : 0.0, \
    4 * (c4) + 2 < D ? buf[(base) + 4 * (c4) + 2] : 0.0, \
    4 * (c4) + 3 < D ? buf[(base) + 4 * (c4) + 3] : 0.0)
#endif

void main() {
    const uint h = gl_WorkGroupID.y, b = gl_WorkGroupID.z;
    const uint lane = gl_SubgroupInvocationID;
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
        const uint row = min(firstRow + r, p.queries - 1);
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

    for (uint j0 = 0; j0 < keyEnd; j0 += SG) {
        // This lane's key of the block; lanes past the end repeat the last key, whose scores are masked.
        const uint myKey = min(j0 + lane, keyEnd - 1);
        vec4 row[D4];
        [[unroll]] for (uint c4 = 0; c4 < D4; c4++) row[c4] = LOAD4(k, kBase + myKey * p.kRow, c4);
        float s[ROWS][SG];
        [[unroll]] for (uint jj = 0; jj < SG; jj++) {
            vec4 partial[ROWS];
            [[unroll]] for (uint r = 0; r < ROWS; r++) partial[r] = vec4(0.0);
            [[unroll]] for (uint c4 = 0; c4 < D4; c4++) {
                const vec4 key = subgroupBroadcast(row[c4], jj);
                [[unroll]] for (uint r = 0; r < ROWS; r++) partial[r] += query[r][c4] * key;
            }
            [[unroll]] for (uint r = 0; r < ROWS; r++) {
                const bool visible = j0 + jj < keyEnd && (p.causal == 0u || j0 + jj <= firstRow + r);
                s[r][jj] = visible ? dot(partial[r], vec4(1.0)) : MINUS_INFINITY;
            }
        }
        [[unroll]] for (uint r = 0; r < ROWS; r++) {
            float blockMax = rowMax[r];
            [[unroll]] for (uint jj = 0; jj < SG; jj++) blockMax = max(blockMax, s[r][jj]);
            const float rescale = exp2(rowMax[r] - blockMax);
            rowMax[r] = blockMax;
            rowSum[r] *= rescale;
            [[unroll]] for (uint jj = 0; jj < SG; jj++) {
                s[r][jj] = exp2(s[r][jj] - blockMax);
                rowSum[r] += s[r][jj];
            }
            [[unroll]] for (uint c4 = 0; c4 < D4; c4++) acc[r][c4] *= rescale;
        }
        [[unroll]] for (uint c4 = 0; c4 < D4; c4++) row[c4] = LOAD4(v, vBase + myKey * p.vRow, c4);
        [[unroll]] for (uint jj = 0; jj < SG; jj++) {
            [[unroll]] for (uint c4 = 0; c4 < D4; c4++) {
                const vec4 value = subgroupBroadcast(row[c4], jj);
                [[unroll]] for (uint r = 0; r < ROWS; r++) acc[r][c4] += s[r][jj] * value;
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
                    if (4 * c4 + i < D) o[base + 4 * c4 + i] = value[i];
                }
            }
        }
    }
}
