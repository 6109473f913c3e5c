#version 450
// Permute of up to 5 axes, out = x.permute(...).contiguous(), on the host-collapsed shape.
// Default: one invocation per output element, decoding its output coordinates.
// TILED: the innermost axes of input and output differ; a work group moves a 32x32 tile of
// (a = output's innermost axis, b = the axis innermost in the input) for one index of the other axes.
//   SHARED_TILE stages the tile in shared memory so reads and writes are both contiguous across lanes
//   (desktop GPUs); without it each invocation copies directly and the caches absorb the tile (lavapipe).
// WINDOWS 4: input and output are each bound as up to 4 windows of 2^windowShift elements, for tensors
// larger than one binding; WINDOWS 1 binds them whole.
// The direct tile copy gives each invocation 16 elements (64 invocations), amortising lavapipe's
// per-invocation cost; the shared-memory tile keeps 256 invocations.
#if defined(TILED) && !defined(SHARED_TILE)
#define INVOCATIONS 64u
#else
#define INVOCATIONS 256u
#endif
layout(local_size_x = INVOCATIONS) in;
#include "common.glsl"

#if WINDOWS == 1
layout(std430, binding = 0) readonly buffer In0 { float in0[]; };
layout(std430, binding = 1) writeonly buffer Out0 { float out0[]; };
#else
layout(std430, binding = 0) readonly buffer In0 { float in0[]; };
layout(std430, binding = 1) readonly buffer In1 { float in1[]; };
layout(std430, binding = 2) readonly buffer In2 { float in2[]; };
layout(std430, binding = 3) readonly buffer In3 { float in3[]; };
layout(std430, binding = 4) writeonly buffer Out0 { float out0[]; };
layout(std430, binding = 5) writeonly buffer Out1 { float out1[]; };
layout(std430, binding = 6) writeonly buffer Out2 { float out2[]; };
layout(std430, binding = 7) writeonly buffer Out3 { float out3[]; };
#endif

#ifdef TILED
// Sizes of a and b, the input stride of a and output stride of b (the others are 1), the tile counts,
// and the other (batch) axes in output order: sizes, input strides, output strides.
layout(push_constant) uniform Params {
    uint windowShift; uint groups; uint sizeA; uint sizeB; uint inStrideA; uint outStrideB; uint tilesA; uint tilesB;
    uint n0; uint n1; uint n2; uint in0Stride; uint in1Stride; uint in2Stride; uint out0Stride; uint out1Stride; uint out2Stride;
} p;
#else
// Output sizes and, per output axis, the input stride.
layout(push_constant) uniform Params { uint windowShift; uint count; uint n[5]; uint s[5]; } p;
#endif

float load(uint e) {
#if WINDOWS == 1
    return in0[e];
#else
    uint o = e & ((1u << p.windowShift) - 1u);
    switch (e >> p.windowShift) {
        case 0u: return in0[o];
        case 1u: return in1[o];
        case 2u: return in2[o];
        default: return in3[o];
    }
#endif
}

void store(uint e, float v) {
#if WINDOWS == 1
    out0[e] = v;
#else
    uint o = e & ((1u << p.windowShift) - 1u);
    switch (e >> p.windowShift) {
        case 0u: out0[o] = v; break;
        case 1u: out1[o] = v; break;
        case 2u: out2[o] = v; break;
        default: out3[o] = v; break;
    }
#endif
}

#ifdef TILED
#ifdef SHARED_TILE
shared float tile[32][33];
#endif

void main() {
    uint g = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (g >= p.groups) return;
    uint ta = g % p.tilesA; g /= p.tilesA;
    uint tb = g % p.tilesB; g /= p.tilesB;
    uint c2 = g % p.n2; g /= p.n2;
    uint c1 = g % p.n1;
    uint c0 = g / p.n1;
    uint inBase = c0 * p.in0Stride + c1 * p.in1Stride + c2 * p.in2Stride;
    uint outBase = c0 * p.out0Stride + c1 * p.out1Stride + c2 * p.out2Stride;
    uint a0 = ta * 32u, b0 = tb * 32u;
    uint lx = gl_LocalInvocationIndex & 31u, ly = gl_LocalInvocationIndex >> 5u;
#ifdef SHARED_TILE
    // Lanes run along b to read, then along a to write.
    for (uint j = 0u; j < 32u; j += 8u) {
        uint a = a0 + ly + j, b = b0 + lx;
        if (a < p.sizeA && b < p.sizeB) tile[ly + j][lx] = load(inBase + a * p.inStrideA + b);
    }
    barrier();
    for (uint j = 0u; j < 32u; j += 8u) {
        uint a = a0 + lx, b = b0 + ly + j;
        if (a < p.sizeA && b < p.sizeB) store(outBase + b * p.outStrideB + a, tile[lx][ly + j]);
    }
#else
    for (uint j = 0u; j < 32u; j += INVOCATIONS / 32u) {
        uint a = a0 + lx, b = b0 + ly + j;
        if (a < p.sizeA && b < p.sizeB) store(outBase + b * p.outStrideB + a, load(inBase + a * p.inStrideA + b));
    }
#endif
}

#else
void main() {
    uint i = foldedIndex();
    if (i >= p.count) return;
    uint rest = i, source = 0u;
    for (int axis = 4; axis >= 0; axis--) {
        uint c = rest % p.n[axis];
        rest /= p.n[axis];
        source += c * p.s[axis];
    }
    store(i, load(source));
}
#endif
