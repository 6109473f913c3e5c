#version 450
// out[i] = a[i] op b[((i + bPhase) / inner) % bCount]: add or multiply with b broadcast over blocks of
// bCount · inner elements, each of its elements repeated over `inner` (1: a trailing block).
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Params { uint count; uint bCount; uint bPhase; uint op; uint inner; } p;

void main() {
    uint i = foldedIndex();
    if (i >= p.count) return;
    float rhs = b[((i + p.bPhase) / p.inner) % p.bCount];
    c[i] = p.op == 0u ? a[i] + rhs : a[i] * rhs;
}
