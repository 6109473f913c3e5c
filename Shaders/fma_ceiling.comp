#version 450
// The device's fp32 multiply-add rate with no loads, for `segvol bench kernels` where no data sheet gives a peak
// (lavapipe): each invocation runs `rounds` rounds of four steps of CHAINS independent vec4 chains
// acc = acc·y + x, on registers only, and stores the sum of its chains so that the work cannot be dropped.
// 256 flops per invocation and round. Invocations past `count` compute too and store nothing: an early return
// would put the loop under an execution mask, which costs lavapipe a blend per chain and round.
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = 64) in;
#include "common.glsl"
layout(std430, binding = 0) writeonly buffer Sums { float sums[]; };
layout(push_constant) uniform Params { uint count; uint rounds; } p;

const uint CHAINS = 8;

void main() {
    uint i = foldedIndex();
    float x = float(i % 1024u) / 1024.0;
    const vec4 y = vec4(0.999, 0.998, 0.997, 0.996);
    vec4 acc[CHAINS];
    [[unroll]] for (uint c = 0; c < CHAINS; c++) acc[c] = vec4(float(c) + x);
    for (uint r = 0; r < p.rounds; r++)
        [[unroll]] for (uint step = 0; step < 4; step++)
            [[unroll]] for (uint c = 0; c < CHAINS; c++) acc[c] = fma(acc[c], y, vec4(x));
    vec4 total = acc[0];
    [[unroll]] for (uint c = 1; c < CHAINS; c++) total += acc[c];
    if (i < p.count) sums[i] = total.x + total.y + total.z + total.w;
}
