#version 450
// out[i] = table[indices[i / rowSize] * rowSize + i % rowSize] for the elements whose source lies in
// the bound table window [windowStart, windowStart + windowCount); other windows are separate dispatches.
// HALF: the table is stored as fp16.
#ifdef HALF
#extension GL_EXT_shader_16bit_storage : require
#endif
layout(local_size_x = 256) in;
#include "common.glsl"
#ifdef HALF
layout(std430, binding = 0) readonly buffer Table { float16_t table[]; };
#else
layout(std430, binding = 0) readonly buffer Table { float table[]; };
#endif
layout(std430, binding = 1) readonly buffer Indices { int indices[]; };
layout(std430, binding = 2) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Params { uint count; uint rowSize; uint windowStart; uint windowCount; } p;

void main() {
    uint i = foldedIndex();
    if (i >= p.count) return;
    uint row = i / p.rowSize;
    uint source = uint(indices[row]) * p.rowSize + (i - row * p.rowSize);
    if (source < p.windowStart || source - p.windowStart >= p.windowCount) return;
    result[i] = float(table[source - p.windowStart]);
}
