#version 450
// LayerNorm in fp32, two-pass (mean, then the mean of squared deviations) so offset inputs keep their
// variance. MODE selects the dispatch:
// 0 rows:   one work group per row of `size` values; normalise and apply the affine.
// 1 stats:  one work group per chunk of a sample; writes the chunk's (mean, M2) to the scratch buffer.
// 2 merge:  one work group per sample; merges its chunks (Chan et al.) into (mean, 1/sqrt(var + eps)),
//           stored after the chunk statistics.
// 3 apply:  one invocation per element; normalise with the sample's statistics and apply the affine.
// 4 rows, one invocation per row (CPU-like devices: no barriers), x, weight and bias read as vec4 texels;
//           needs size % 4 == 0 and xOffset % 4 == 0.
// WEIGHT_HALF: weight and bias are stored as fp16. OUT_HALF: y is stored as fp16 (rounded once, on store).
#extension GL_EXT_control_flow_attributes : require
#if WEIGHT_HALF || OUT_HALF
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
layout(local_size_x = LOCAL_SIZE) in;
#include "common.glsl"
#if WEIGHT_HALF
#define WEIGHT_TYPE float16_t
#else
#define WEIGHT_TYPE float
#endif
#if OUT_HALF
#define OUT_TYPE float16_t
#else
#define OUT_TYPE float
#endif
#if MODE == 4
layout(binding = 0) uniform samplerBuffer xTexels;
layout(binding = 1) uniform samplerBuffer weightTexels;
layout(binding = 2) uniform samplerBuffer biasTexels;
#else
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { WEIGHT_TYPE weight[]; };
layout(std430, binding = 2) readonly buffer B { WEIGHT_TYPE bias[]; };
#endif
layout(std430, binding = 3) buffer Scratch { float scratch[]; };
layout(std430, binding = 4) writeonly buffer Y { OUT_TYPE y[]; };
// groups: rows or samples in this dispatch; size: values per row or item; chunk: values per stats group.
layout(push_constant) uniform Params { uint groups; uint size; float eps; uint xOffset; uint yOffset; uint chunk; } p;

// The work-group modes' reductions; mode 4 has none.
#if MODE != 4
shared float partial[LOCAL_SIZE];

// Sum of `value` over the work group (every invocation gets the total).
float groupSum(float value) {
    uint lid = gl_LocalInvocationID.x;
    partial[lid] = value;
    barrier();
    for (uint stride = LOCAL_SIZE / 2; stride > 0; stride >>= 1) {
        if (lid < stride) partial[lid] += partial[lid + stride];
        barrier();
    }
    float total = partial[0];
    barrier();
    return total;
}

// Mean and sum of squared deviations of x[start, start + count), computed by the whole work group.
vec2 meanAndM2(uint start, uint count) {
    float sum = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < count; i += LOCAL_SIZE) sum += x[start + i];
    float mean = groupSum(sum) / float(count);
    float squares = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < count; i += LOCAL_SIZE) {
        float centred = x[start + i] - mean;
        squares += centred * centred;
    }
    return vec2(mean, groupSum(squares));
}
#endif
#if MODE == 2
shared float mergeMean[LOCAL_SIZE];
shared float mergeM2[LOCAL_SIZE];

// Folds the statistics (nb, meanB, m2B) of another set into (n, mean, m2) (Chan et al.).
void merge(inout float n, inout float mean, inout float m2, float nb, float meanB, float m2B) {
    float total = n + nb;
    if (nb == 0.0) return;
    float delta = meanB - mean;
    mean += delta * nb / total;
    m2 += m2B + delta * delta * n * nb / total;
    n = total;
}
#endif

uint groupIndex() { return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x; }

void main() {
#if MODE == 0
    uint row = groupIndex();
    if (row >= p.groups) return;
    uint start = p.xOffset + row * p.size;
    vec2 stats = meanAndM2(start, p.size);
    float inverseStd = inversesqrt(stats.y / float(p.size) + p.eps);
    uint outStart = p.yOffset + row * p.size;
    for (uint i = gl_LocalInvocationID.x; i < p.size; i += LOCAL_SIZE) {
        y[outStart + i] = OUT_TYPE((x[start + i] - stats.x) * inverseStd * float(weight[i]) + float(bias[i]));
    }
#elif MODE == 1
    uint chunks = (p.size + p.chunk - 1) / p.chunk;
    uint chunk = gl_WorkGroupID.x, item = gl_WorkGroupID.y;
    uint first = chunk * p.chunk;
    vec2 stats = meanAndM2(p.xOffset + item * p.size + first, min(p.chunk, p.size - first));
    if (gl_LocalInvocationID.x == 0u) {
        scratch[(item * chunks + chunk) * 2] = stats.x;
        scratch[(item * chunks + chunk) * 2 + 1] = stats.y;
    }
#elif MODE == 2
    // Each invocation folds a strided subset of the chunks, then a tree merge in shared memory.
    uint chunks = (p.size + p.chunk - 1) / p.chunk;
    uint item = gl_WorkGroupID.x, lid = gl_LocalInvocationID.x;
    float n = 0.0, mean = 0.0, m2 = 0.0;
    for (uint c = lid; c < chunks; c += LOCAL_SIZE) {
        uint index = (item * chunks + c) * 2;
        merge(n, mean, m2, float(min(p.chunk, p.size - c * p.chunk)), scratch[index], scratch[index + 1]);
    }
    // `partial` holds the counts.
    partial[lid] = n;
    mergeMean[lid] = mean;
    mergeM2[lid] = m2;
    barrier();
    for (uint stride = LOCAL_SIZE / 2; stride > 0; stride >>= 1) {
        if (lid < stride) {
            merge(n, mean, m2, partial[lid + stride], mergeMean[lid + stride], mergeM2[lid + stride]);
            partial[lid] = n;
            mergeMean[lid] = mean;
            mergeM2[lid] = m2;
        }
        barrier();
    }
    if (lid == 0u) {
        uint statsBase = p.groups * chunks * 2;
        scratch[statsBase + item * 2] = mean;
        scratch[statsBase + item * 2 + 1] = inversesqrt(m2 / n + p.eps);
    }
#elif MODE == 4
    uint row = foldedIndex();
    if (row >= p.groups) return;
    int start = int((p.xOffset + row * p.size) / 4u), texels = int(p.size / 4u);
    vec4 sum = vec4(0.0);
    for (int i = 0; i < texels; i++) sum += texelFetch(xTexels, start + i);
    float mean = dot(sum, vec4(1.0)) / float(p.size);
    vec4 squares = vec4(0.0);
    for (int i = 0; i < texels; i++) {
        vec4 centred = texelFetch(xTexels, start + i) - mean;
        squares += centred * centred;
    }
    float inverseStd = inversesqrt(dot(squares, vec4(1.0)) / float(p.size) + p.eps);
    uint outStart = p.yOffset + row * p.size;
    for (int i = 0; i < texels; i++) {
        vec4 value = (texelFetch(xTexels, start + i) - mean) * inverseStd * texelFetch(weightTexels, i) + texelFetch(biasTexels, i);
        [[unroll]] for (uint e = 0; e < 4; e++) y[outStart + 4u * uint(i) + e] = OUT_TYPE(value[e]);
    }
#else
    uint i = foldedIndex();
    if (i >= p.groups * p.size) return;
    uint item = i / p.size, j = i % p.size;
    uint statsBase = p.groups * ((p.size + p.chunk - 1) / p.chunk) * 2;
    float mean = scratch[statsBase + item * 2], inverseStd = scratch[statsBase + item * 2 + 1];
    y[p.yOffset + i] = OUT_TYPE((x[p.xOffset + i] - mean) * inverseStd * float(weight[j]) + float(bias[j]));
#endif
}
