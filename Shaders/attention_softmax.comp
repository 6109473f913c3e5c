#version 450
// Blocked attention, step 2: one invocation per scratch row (a query of one head). Replaces the scores the
// query sees by exp(s - max) and everything after them, up to the row's padded end, by 0 (the masked and
// padding columns), and stores 1 / Σ exp for step 3 to apply to the output row. TEXEL: the scores are read
// through a uniform texel buffer over the same memory (lavapipe's fast load path); each invocation reads a
// value before it writes it and touches no other row, so the two views never disagree.
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = 64) in;
#include "common.glsl"

layout(std430, binding = 0) buffer S { vec4 s[]; };
layout(std430, binding = 1) writeonly buffer Inverse { float inverseSum[]; };
#if TEXEL
layout(binding = 2) uniform samplerBuffer scoreTexels;
vec4 load(uint index) { return texelFetch(scoreTexels, int(index)); }
#else
vec4 load(uint index) { return s[index]; }
#endif
layout(push_constant) uniform Params {
    uint rows, keys, stride, rowCount, causal, firstQuery;
} p;

#define MINUS_INFINITY uintBitsToFloat(0xff800000u)

void main() {
    const uint row = foldedIndex();
    if (row >= p.rowCount) return;
    const uint visible = p.causal != 0u ? min(p.keys, p.firstQuery + row % p.rows + 1) : p.keys;
    const uint base = row * p.stride / 4;
    // Two vec4s per iteration (llvmpipe pays for every loop trip); rows are padded to multiples of 8 scores.
    const uint end8 = (visible + 7) / 8 * 2;
    const uvec4 lane = uvec4(0, 1, 2, 3);

    vec4 best = vec4(MINUS_INFINITY);
    for (uint j = 0; j < end8; j += 2) {
        [[unroll]] for (uint u = 0; u < 2; u++) {
            const bvec4 seen = lessThan(uvec4(4 * (j + u)) + lane, uvec4(visible));
            best = max(best, mix(vec4(MINUS_INFINITY), load(base + j + u), seen));
        }
    }
    const float rowMax = max(max(best.x, best.y), max(best.z, best.w));
    vec4 sum = vec4(0.0);
    for (uint j = 0; j < end8; j += 2) {
        [[unroll]] for (uint u = 0; u < 2; u++) {
            const bvec4 seen = lessThan(uvec4(4 * (j + u)) + lane, uvec4(visible));
            const vec4 e = mix(vec4(0.0), exp(load(base + j + u) - rowMax), seen);
            s[base + j + u] = e;
            sum += e;
        }
    }
    for (uint j = end8; j < p.stride / 4; j++) s[base + j] = vec4(0.0);
    inverseSum[row] = 1.0 / dot(sum, vec4(1.0));
}
