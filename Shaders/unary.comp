#version 450
// out[i] = f(x[i]) for f in sigmoid, relu, gelu, quick_gelu, affine, clamp.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params { uint count; uint op; float p0; float p1; } p;

void main() {
    uint i = foldedIndex();
    if (i >= p.count) return;
    float v = x[i];
    float r;
    switch (p.op) {
        case 0u: r = sigmoid(v); break;
        case 1u: r = max(v, 0.0); break;
        case 2u: r = gelu(v); break;
        case 3u: r = quickGelu(v); break;
        case 4u: r = v * p.p0 + p.p1; break;
        default: r = min(max(v, p.p0), p.p1); break;
    }
    y[i] = r;
}
