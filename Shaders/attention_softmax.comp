#version 450
// Blocked attention, step 2: one invocation per scratch row (a query of one head). Replaces the scores the
// query sees by exp(s - max) and everything after them, up to the row's padded end, by 0 (the masked and
// padding columns), and stores 1 / Σ exp for step 3 to apply to the output row.
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = 64) in;
#include "common.glsl"

layout(std430, binding = 0) buffer S { vec4 s[]; };
layout(std430, binding = 1) writeonly buffer Inverse { float inverseSum[]; };
layout(push_constant) uniform Params {
    uint rows, keys, stride, rowCount, causal, firstQuery;
} p;

#define MINUS_INFINITY uintBitsToFloat(0xff800000u)

void main() {
    const uint row = foldedIndex();
    if (row >= p.rowCount) return;
    const uint visible = p.causal != 0u ? min(p.keys, p.firstQuery + row % p.rows + 1) : p.keys;
    const uint base = row * p.stride / 4;
    const uint end4 = (visible + 3) / 4;
    const uvec4 lane = uvec4(0, 1, 2, 3);

    vec4 best = vec4(MINUS_INFINITY);
    for (uint j = 0; j < end4; j++) {
        const bvec4 seen = lessThan(uvec4(4 * j) + lane, uvec4(visible));
        best = max(best, mix(vec4(MINUS_INFINITY), s[base + j], seen));
    }
    const float rowMax = max(max(best.x, best.y), max(best.z, best.w));
    vec4 sum = vec4(0.0);
    for (uint j = 0; j < end4; j++) {
        const bvec4 seen = lessThan(uvec4(4 * j) + lane, uvec4(visible));
        const vec4 e = mix(vec4(0.0), exp(s[base + j] - rowMax), seen);
        s[base + j] = e;
        sum += e;
    }
    for (uint j = end4; j < p.stride / 4; j++) s[base + j] = vec4(0.0);
    inverseSum[row] = 1.0 / dot(sum, vec4(1.0));
}
