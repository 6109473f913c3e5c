#version 450
// General Conv3d (any kernel, stride, zero padding): each invocation computes VOXELS consecutive output
// voxels x CHANNELS output channels with scalar loads. W_HALF / B_HALF: fp16 weight / bias storage.
#extension GL_EXT_control_flow_attributes : require
#if W_HALF || B_HALF
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
layout(local_size_x = 64) in;
#include "common.glsl"
layout(std430, binding = 0) readonly buffer X { float x[]; };
#if W_HALF
layout(std430, binding = 1) readonly buffer Wt { float16_t w[]; };
#else
layout(std430, binding = 1) readonly buffer Wt { float w[]; };
#endif
#if B_HALF
layout(std430, binding = 2) readonly buffer Bias { float16_t bias[]; };
#else
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
#endif
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
    uint voxelBlocks, channelBlocks;
    uint voxels;           // batch * oD * oH * oW
    uint cout, cin;
    uint oD, oH, oW;
    uint iD, iH, iW;
    uint kD, kH, kW;
    uint sD, sH, sW;
    uint pD, pH, pW;
    uint hasBias;
    uint xOffset, yOffset;   // where this run of batch items starts in the x and y bindings (elements)
} p;

void main() {
    uint index = foldedIndex();
    if (index >= p.voxelBlocks * p.channelBlocks) return;
    uint voxelBlock = index % p.voxelBlocks, channelBlock = index / p.voxelBlocks;
    uint spatial = p.oD * p.oH * p.oW;
    uint inVolume = p.iD * p.iH * p.iW;
    uint kVolume = p.kD * p.kH * p.kW;

    // Each voxel's batch offset and the input corner of its window (may be negative: padding).
    uint batchBase[VOXELS];
    int d0[VOXELS], h0[VOXELS], w0[VOXELS];
    [[unroll]] for (uint i = 0; i < VOXELS; i++) {
        uint q = min(voxelBlock * VOXELS + i, p.voxels - 1);
        uint s = q % spatial;
        batchBase[i] = (q / spatial) * p.cin * inVolume;
        d0[i] = int(s / (p.oW * p.oH) * p.sD) - int(p.pD);
        h0[i] = int((s / p.oW) % p.oH * p.sH) - int(p.pH);
        w0[i] = int(s % p.oW * p.sW) - int(p.pW);
    }
    uint weightBase[CHANNELS];
    [[unroll]] for (uint j = 0; j < CHANNELS; j++) weightBase[j] = min(channelBlock * CHANNELS + j, p.cout - 1) * p.cin * kVolume;

    float acc[VOXELS][CHANNELS];
    [[unroll]] for (uint i = 0; i < VOXELS; i++) [[unroll]] for (uint j = 0; j < CHANNELS; j++) acc[i][j] = 0.0;

    uint k = 0;
    for (uint ci = 0; ci < p.cin; ci++) {
        for (uint kd = 0; kd < p.kD; kd++) {
            for (uint kh = 0; kh < p.kH; kh++) {
                for (uint kw = 0; kw < p.kW; kw++, k++) {
                    float a[VOXELS];
                    [[unroll]] for (uint i = 0; i < VOXELS; i++) {
                        int id = d0[i] + int(kd), ih = h0[i] + int(kh), iw = w0[i] + int(kw);
                        bool inside = id >= 0 && id < int(p.iD) && ih >= 0 && ih < int(p.iH) && iw >= 0 && iw < int(p.iW);
                        // Load from a clamped position so no address is ever out of bounds, then mask.
                        uint cd = uint(clamp(id, 0, int(p.iD) - 1)), ch = uint(clamp(ih, 0, int(p.iH) - 1)), cw = uint(clamp(iw, 0, int(p.iW) - 1));
                        float v = x[p.xOffset + batchBase[i] + ci * inVolume + (cd * p.iH + ch) * p.iW + cw];
                        a[i] = inside ? v : 0.0;
                    }
                    [[unroll]] for (uint j = 0; j < CHANNELS; j++) {
                        float b = float(w[weightBase[j] + k]);
                        [[unroll]] for (uint i = 0; i < VOXELS; i++) acc[i][j] += a[i] * b;
                    }
                }
            }
        }
    }

    [[unroll]] for (uint i = 0; i < VOXELS; i++) {
        uint q = voxelBlock * VOXELS + i;
        if (q >= p.voxels) break;
        uint n = q / spatial, s = q % spatial;
        [[unroll]] for (uint j = 0; j < CHANNELS; j++) {
            uint co = channelBlock * CHANNELS + j;
            if (co >= p.cout) break;
            float b = p.hasBias != 0u ? float(bias[co]) : 0.0;
            y[p.yOffset + (n * p.cout + co) * spatial + s] = acc[i][j] + b;
        }
    }
}
