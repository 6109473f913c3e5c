#version 450
// out[i] = f(x[i]) for f in sigmoid, relu, gelu, quick_gelu, affine, clamp.
// VEC4 = 1: four elements per invocation, x read as vec4 texels (lavapipe's fast load path; count in vec4s).
layout(local_size_x = 256) in;
#include "common.glsl"
#if VEC4
layout(binding = 0) uniform samplerBuffer x;
layout(std430, binding = 1) writeonly buffer Y { vec4 y[]; };
#else
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
#endif
layout(push_constant) uniform Params { uint count; uint op; float p0; float p1; } p;

float apply(float v) {
    switch (p.op) {
        case 0u: return sigmoid(v);
        case 1u: return max(v, 0.0);
        case 2u: return gelu(v);
        case 3u: return quickGelu(v);
        case 4u: return v * p.p0 + p.p1;
        default: return min(max(v, p.p0), p.p1);
    }
}

void main() {
    uint i = foldedIndex();
    if (i >= p.count) return;
#if VEC4
    const vec4 v = texelFetch(x, int(i));
    y[i] = vec4(apply(v.x), apply(v.y), apply(v.z), apply(v.w));
#else
    y[i] = apply(x[i]);
#endif
}
