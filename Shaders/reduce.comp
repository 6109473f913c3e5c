#version 450
// One pass of a tree reduction: work group g reduces items [g·4096, (g+1)·4096) of x to y[outOffset + g].
// Each invocation folds 16 items (strided by 256, so lanes read contiguously), then a shared-memory tree.
// OP (ReduceOp): 0 min, 1 max, 2 sum, 3 mean, 4 variance. Variance items are (count, mean, M2) triples
// (the count stored as uint bits) of values shifted by origin[0] (x's first element), combined by Chan et
// al.'s rule: means of shifted values are rounded relative to the spread, not to an offset like +1000,
// and no sum of squares is ever subtracted from another.
// PARTIAL: x holds the previous pass's items, not raw elements. FINAL: one group writes the answer to y[0].
// VEC4: raw elements read 4 at a time (an item is a vec4; the element count is a multiple of 4).
layout(local_size_x = 256) in;
#include "common.glsl"
#if OP == 0
#define COMBINE(a, b) min(a, b)
#elif OP == 1
#define COMBINE(a, b) max(a, b)
#else
#define COMBINE(a, b) ((a) + (b))
#endif
#ifdef VEC4
#define T vec4
#define WIDTH 4u
layout(std430, binding = 0) readonly buffer X { vec4 x[]; };
float sumOf(vec4 v) { return dot(v, vec4(1.0)); }
float fold(vec4 v) { return COMBINE(COMBINE(v.x, v.y), COMBINE(v.z, v.w)); }
#else
#define T float
#define WIDTH 1u
layout(std430, binding = 0) readonly buffer X { float x[]; };
float sumOf(float v) { return v; }
float fold(float v) { return v; }
#endif
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 2) readonly buffer Origin { float origin[]; };
layout(push_constant) uniform Params { uint count; uint groups; uint outOffset; uint total; } p;

const uint PER_INVOCATION = 16u;

#if OP == 4
shared uint sCount[256];
shared float sMean[256];
shared float sM2[256];

// (na, ma, m2a) += (nb, mb, m2b); a count of 0 is the empty set.
void combine(inout uint na, inout float ma, inout float m2a, uint nb, float mb, float m2b) {
    if (nb == 0u) return;
    uint n = na + nb;
    float delta = mb - ma;
    float wb = float(nb) / float(n);
    ma += delta * wb;
    m2a += m2b + delta * delta * float(na) * wb;
    na = n;
}
#else
shared float partial[256];
#endif

void main() {
    uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (group >= p.groups) return;
    uint lid = gl_LocalInvocationIndex;
    uint first = group * 256u * PER_INVOCATION + lid;

#if OP == 4
    uint n = 0u;
    float mean = 0.0, m2 = 0.0;
#ifdef PARTIAL
    for (uint k = 0u; k < PER_INVOCATION; k++) {
        uint i = first + k * 256u;
        if (i < p.count) combine(n, mean, m2, floatBitsToUint(x[3u * i]), x[3u * i + 1u], x[3u * i + 2u]);
    }
#else
    // Each item joins as its own (count, mean, M2): no running sums of squares that could cancel.
    float shift = origin[0];
    for (uint k = 0u; k < PER_INVOCATION; k++) {
        uint i = first + k * 256u;
        if (i < p.count) {
            T v = x[i] - shift;
            float itemMean = sumOf(v) / float(WIDTH);
            T deviation = v - itemMean;
            combine(n, mean, m2, WIDTH, itemMean, sumOf(deviation * deviation));
        }
    }
#endif
    sCount[lid] = n; sMean[lid] = mean; sM2[lid] = m2;
    for (uint stride = 128u; stride > 0u; stride >>= 1u) {
        barrier();
        if (lid < stride) {
            combine(n, mean, m2, sCount[lid + stride], sMean[lid + stride], sM2[lid + stride]);
            sCount[lid] = n; sMean[lid] = mean; sM2[lid] = m2;
        }
    }
    if (lid != 0u) return;
#ifdef FINAL
    y[0] = m2 / float(n);
#else
    uint o = 3u * (p.outOffset + group);
    y[o] = uintBitsToFloat(n);
    y[o + 1u] = mean;
    y[o + 2u] = m2;
#endif

#else
    // The group's first item is in range, so it seeds min and max; sums start from 0.
#if OP <= 1
    T acc4 = x[group * 256u * PER_INVOCATION];
#else
    T acc4 = T(0.0);
#endif
    for (uint k = 0u; k < PER_INVOCATION; k++) {
        uint i = first + k * 256u;
        if (i < p.count) acc4 = COMBINE(acc4, x[i]);
    }
    float acc = fold(acc4);
    partial[lid] = acc;
    for (uint stride = 128u; stride > 0u; stride >>= 1u) {
        barrier();
        if (lid < stride) {
            acc = COMBINE(acc, partial[lid + stride]);
            partial[lid] = acc;
        }
    }
    if (lid != 0u) return;
#if defined(FINAL) && OP == 3
    y[0] = acc / float(p.total);
#else
    y[p.outOffset + group] = acc;
#endif
#endif
}
