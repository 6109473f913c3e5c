#version 450
// ConvTranspose3d with kernel 2, stride 2, no padding: every output voxel has exactly one input voxel,
// out[co, 2d+a, 2h+b, 2w+c] = bias[co] + sum_ci x[ci, d, h, w] * W[ci, co, a, b, c]. Per input channel this
// is an outer product of input voxels and (co, tap) weights: each invocation keeps 8 input voxels
// (two vec4 along w) x 2 output channels x 8 taps in 32 vec4 accumulators. Needs W a multiple of 4.
// W_HALF / B_HALF: fp16 weight / bias storage.
#extension GL_EXT_control_flow_attributes : require
#if W_HALF || B_HALF
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
layout(local_size_x = 64) in;
#include "common.glsl"
layout(std430, binding = 0) readonly buffer X { vec4 x[]; };
#if W_HALF
layout(std430, binding = 1) readonly buffer Wt { f16vec4 w[]; };
#else
layout(std430, binding = 1) readonly buffer Wt { vec4 w[]; };
#endif
#if B_HALF
layout(std430, binding = 2) readonly buffer Bias { float16_t bias[]; };
#else
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
#endif
layout(std430, binding = 3) writeonly buffer Y { vec4 y[]; };
layout(push_constant) uniform Params {
    uint voxelBlocks;   // ceil(D * H * W / 8) per batch item
    uint channelBlocks; // ceil(cout / 2)
    uint batch;
    uint cout, cin;
    uint iD, iH, iW;
    uint hasBias;
} p;

void main() {
    uint index = foldedIndex();
    if (index >= p.voxelBlocks * p.channelBlocks * p.batch) return;
    uint voxelBlock = index % p.voxelBlocks;
    uint channelBlock = (index / p.voxelBlocks) % p.channelBlocks;
    uint n = index / (p.voxelBlocks * p.channelBlocks);
    uint spatial4 = p.iD * p.iH * p.iW / 4;
    // The two vec4 groups of input voxels; a group past the end repeats the last one (not written).
    uint group[2];
    [[unroll]] for (uint g = 0; g < 2; g++) group[g] = min(voxelBlock * 2 + g, spatial4 - 1);
    uint co0 = channelBlock * 2;
    uint co1 = min(co0 + 1, p.cout - 1);
    // Weights of (ci, co, a, b, c) are 8 consecutive values per co: vec4 index (ci * cout + co) * 2 + a.
    uint wBase0 = co0 * 2, wBase1 = co1 * 2;

    vec4 acc[8][4];
    [[unroll]] for (uint v = 0; v < 8; v++) [[unroll]] for (uint j = 0; j < 4; j++) acc[v][j] = vec4(0.0);

    uint xBase = n * p.cin * spatial4;
    for (uint ci = 0; ci < p.cin; ci++) {
        vec4 a0 = x[xBase + ci * spatial4 + group[0]];
        vec4 a1 = x[xBase + ci * spatial4 + group[1]];
        uint wRow = ci * p.cout * 2;
        vec4 b[4];
        b[0] = vec4(w[wRow + wBase0]);
        b[1] = vec4(w[wRow + wBase0 + 1]);
        b[2] = vec4(w[wRow + wBase1]);
        b[3] = vec4(w[wRow + wBase1 + 1]);
        [[unroll]] for (uint j = 0; j < 4; j++) {
            acc[0][j] += a0.x * b[j]; acc[1][j] += a0.y * b[j]; acc[2][j] += a0.z * b[j]; acc[3][j] += a0.w * b[j];
            acc[4][j] += a1.x * b[j]; acc[5][j] += a1.y * b[j]; acc[6][j] += a1.z * b[j]; acc[7][j] += a1.w * b[j];
        }
    }

    uint oH = p.iH * 2, oW = p.iW * 2;
    uint outSpatial = p.iD * 2 * oH * oW;
    [[unroll]] for (uint g = 0; g < 2; g++) {
        if (voxelBlock * 2 + g >= spatial4) break;
        uint s = group[g] * 4;
        uint d = s / (p.iH * p.iW), h = (s / p.iW) % p.iH, w0 = s % p.iW;
        [[unroll]] for (uint c = 0; c < 2; c++) {
            uint co = co0 + c;
            if (co >= p.cout) break;
            float bv = p.hasBias != 0u ? float(bias[co]) : 0.0;
            [[unroll]] for (uint a = 0; a < 2; a++) {
                // acc[v][c * 2 + a] holds taps (b, c') = (0,0), (0,1), (1,0), (1,1) of voxel v.
                vec4 t0 = acc[g * 4][c * 2 + a] + bv, t1 = acc[g * 4 + 1][c * 2 + a] + bv;
                vec4 t2 = acc[g * 4 + 2][c * 2 + a] + bv, t3 = acc[g * 4 + 3][c * 2 + a] + bv;
                uint rowBase = (n * p.cout + co) * outSpatial + ((2 * d + a) * oH + 2 * h) * oW + 2 * w0;
                uint row0 = rowBase / 4, row1 = (rowBase + oW) / 4;
                y[row0] = vec4(t0.xy, t1.xy);
                y[row0 + 1] = vec4(t2.xy, t3.xy);
                y[row1] = vec4(t0.zw, t1.zw);
                y[row1 + 1] = vec4(t2.zw, t3.zw);
            }
        }
    }
}
