#version 450
// ConvTranspose3d with kernel 2, stride 2, no padding: every output voxel has exactly one input voxel,
// out[co, 2d+a, 2h+b, 2w+c] = bias[co] + sum_ci x[ci, d, h, w] * W[ci, co, a, b, c]. Per input channel this
// is an outer product of input voxels and (co, tap) weights: each invocation keeps GROUPS x 4 input
// voxels (vec4 along w) x CHANNELS output channels x 8 taps in vec4 accumulators. The channel block is
// the work group's y, so weight loads are uniform. Needs W a multiple of 4.
// W_HALF / B_HALF: fp16 weight / bias storage. TEXEL: x and the weight read through uniform texel buffers
// (lavapipe's fast load path; an fp16 weight view converts on fetch).
#extension GL_EXT_control_flow_attributes : require
#if W_HALF || B_HALF
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
layout(local_size_x = 64) in;
#ifndef TEXEL
#define TEXEL 0
#endif
#if TEXEL
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer w;
#define LOAD_X(index) texelFetch(x, int(index))
#define LOAD_W(index) texelFetch(w, int(index))
#else
layout(std430, binding = 0) readonly buffer X { vec4 x[]; };
#if W_HALF
layout(std430, binding = 1) readonly buffer Wt { f16vec4 w[]; };
#else
layout(std430, binding = 1) readonly buffer Wt { vec4 w[]; };
#endif
#define LOAD_X(index) x[index]
#define LOAD_W(index) vec4(w[index])
#endif
#if B_HALF
layout(std430, binding = 2) readonly buffer Bias { float16_t bias[]; };
#else
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
#endif
layout(std430, binding = 3) writeonly buffer Y { vec4 y[]; };
layout(push_constant) uniform Params {
    uint voxelBlocks;   // ceil(D * H * W / (4 * GROUPS)) per batch item
    uint batch;
    uint cout, cin;
    uint iD, iH, iW;
    uint hasBias;
    uint xOffset, yOffset;   // where this run of batch items starts in the x and y bindings (elements)
} p;

void main() {
    uint index = gl_GlobalInvocationID.x;
    if (index >= p.voxelBlocks * p.batch) return;
    uint voxelBlock = index % p.voxelBlocks, n = index / p.voxelBlocks;
    uint channelBlock = gl_WorkGroupID.y;
    uint spatial4 = p.iD * p.iH * p.iW / 4;
    // vec4 groups of input voxels; a group past the end repeats the last one (not written).
    uint group[GROUPS];
    [[unroll]] for (uint g = 0; g < GROUPS; g++) group[g] = min(voxelBlock * GROUPS + g, spatial4 - 1);
    // Weights of (ci, co, a, b, c) are 8 consecutive values: vec4 index (ci * cout + co) * 2 + a.
    uint channel[CHANNELS];
    [[unroll]] for (uint c = 0; c < CHANNELS; c++) channel[c] = min(channelBlock * CHANNELS + c, p.cout - 1);

    // acc[g * 4 + v][c * 2 + a] holds taps (b, c') = (0,0), (0,1), (1,0), (1,1) of voxel v of group g.
    vec4 acc[GROUPS * 4][CHANNELS * 2];
    [[unroll]] for (uint v = 0; v < GROUPS * 4; v++) [[unroll]] for (uint j = 0; j < CHANNELS * 2; j++) acc[v][j] = vec4(0.0);

    uint xBase = p.xOffset / 4 + n * p.cin * spatial4;
    for (uint ci = 0; ci < p.cin; ci++) {
        vec4 a[GROUPS];
        [[unroll]] for (uint g = 0; g < GROUPS; g++) a[g] = LOAD_X(xBase + ci * spatial4 + group[g]);
        uint wRow = ci * p.cout * 2;
        [[unroll]] for (uint j = 0; j < CHANNELS * 2; j++) {
            vec4 b = LOAD_W(wRow + channel[j / 2] * 2 + j % 2);
            [[unroll]] for (uint g = 0; g < GROUPS; g++) {
                acc[g * 4][j] += a[g].x * b;
                acc[g * 4 + 1][j] += a[g].y * b;
                acc[g * 4 + 2][j] += a[g].z * b;
                acc[g * 4 + 3][j] += a[g].w * b;
            }
        }
    }

    uint oH = p.iH * 2, oW = p.iW * 2;
    uint outSpatial = p.iD * 2 * oH * oW;
    [[unroll]] for (uint g = 0; g < GROUPS; g++) {
        if (voxelBlock * GROUPS + g >= spatial4) break;
        uint s = group[g] * 4;
        uint d = s / (p.iH * p.iW), h = (s / p.iW) % p.iH, w0 = s % p.iW;
        [[unroll]] for (uint c = 0; c < CHANNELS; c++) {
            uint co = channelBlock * CHANNELS + c;
            if (co >= p.cout) break;
            float bv = p.hasBias != 0u ? float(bias[co]) : 0.0;
            [[unroll]] for (uint a = 0; a < 2; a++) {
                vec4 t0 = acc[g * 4][c * 2 + a] + bv, t1 = acc[g * 4 + 1][c * 2 + a] + bv;
                vec4 t2 = acc[g * 4 + 2][c * 2 + a] + bv, t3 = acc[g * 4 + 3][c * 2 + a] + bv;
                uint rowBase = (n * p.cout + co) * outSpatial + ((2 * d + a) * oH + 2 * h) * oW + 2 * w0;
                uint row0 = (p.yOffset + rowBase) / 4, row1 = (p.yOffset + rowBase + oW) / 4;
                y[row0] = vec4(t0.xy, t1.xy);
                y[row0 + 1] = vec4(t2.xy, t3.xy);
                y[row1] = vec4(t0.zw, t1.zw);
                y[row1 + 1] = vec4(t2.zw, t3.zw);
            }
        }
    }
}
