#version 450
// Bounding box of x > threshold. box holds six running minima (d0, h0, w0, -d1, -h1, -w1), initialised to
// INT_MAX, so one atomic kind serves both ends. A work group scans 4 rows (h) of one depth slice, 64 lanes
// per row, reduces in shared memory, and issues at most six global atomics.
// SUBGROUP: lanes first combine their finds with subgroup min/max, so one lane per subgroup (not every
// lane) does the shared atomics.
// FINISH: one invocation turns box into floats in out, all -1 when nothing was found.
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
layout(local_size_x = 256) in;
#include "common.glsl"

#ifdef FINISH
layout(std430, binding = 0) readonly buffer Box { int box[6]; };
layout(std430, binding = 1) writeonly buffer Out { float result[6]; };

void main() {
    if (gl_LocalInvocationIndex != 0u || gl_WorkGroupID.x != 0u) return;
    bool empty = box[0] == 0x7fffffff;
    for (int k = 0; k < 6; k++) result[k] = empty ? -1.0 : float(k < 3 ? box[k] : -box[k]);
}

#else
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) buffer Box { int box[6]; };
// base: element offset of the chunk's first slice within the bound range; firstSlice: its depth index.
layout(push_constant) uniform Params { uint width; uint height; uint base; uint firstSlice; float threshold; } p;

shared int found[4];  // min h, min w, -max h, -max w in this group

void main() {
    uint lid = gl_LocalInvocationIndex;
    if (lid < 4u) found[lid] = 0x7fffffff;
    barrier();
    uint lane = lid & 63u;
    uint h = gl_WorkGroupID.x * 4u + (lid >> 6u);
    uint slice = gl_WorkGroupID.y;
    int lo = 0x7fffffff, hi = -1;
    if (h < p.height) {
        uint row = p.base + (slice * p.height + h) * p.width;
        for (uint w = lane; w < p.width; w += 64u) {
            if (x[row + w] > p.threshold) { lo = min(lo, int(w)); hi = int(w); }
        }
    }
    // Minima of (h, w, -h, -w) over what this lane found; INT_MAX when nothing.
    ivec4 mins = hi >= 0 ? ivec4(int(h), lo, -int(h), -hi) : ivec4(0x7fffffff);
#ifdef SUBGROUP
    mins = subgroupMin(mins);
    if (subgroupElect() && mins.x != 0x7fffffff) {
#else
    if (mins.x != 0x7fffffff) {
#endif
        atomicMin(found[0], mins.x);
        atomicMin(found[1], mins.y);
        atomicMin(found[2], mins.z);
        atomicMin(found[3], mins.w);
    }
    barrier();
    if (lid == 0u && found[0] != 0x7fffffff) {
        int d = int(p.firstSlice + slice);
        atomicMin(box[0], d);
        atomicMin(box[1], found[0]);
        atomicMin(box[2], found[1]);
        atomicMin(box[3], -d);
        atomicMin(box[4], found[2]);
        atomicMin(box[5], found[3]);
    }
}
#endif
