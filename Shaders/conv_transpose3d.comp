#version 450
// General ConvTranspose3d (weight (Cin, Cout, kD, kH, kW)) in gather form: each invocation computes one
// output voxel x CHANNELS output channels, visiting the kernel taps whose input position
// (o + padding - k) / stride is whole and inside. W_HALF / B_HALF: fp16 weight / bias storage.
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
    uint voxels, channelBlocks;   // voxels = batch * oD * oH * oW
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
    if (index >= p.voxels * p.channelBlocks) return;
    uint q = index % p.voxels, channelBlock = index / p.voxels;
    uint spatial = p.oD * p.oH * p.oW;
    uint inVolume = p.iD * p.iH * p.iW;
    uint kVolume = p.kD * p.kH * p.kW;
    uint n = q / spatial, s = q % spatial;
    int od = int(s / (p.oW * p.oH)), oh = int((s / p.oW) % p.oH), ow = int(s % p.oW);
    uint channel[CHANNELS];
    [[unroll]] for (uint j = 0; j < CHANNELS; j++) channel[j] = min(channelBlock * CHANNELS + j, p.cout - 1);

    float acc[CHANNELS];
    [[unroll]] for (uint j = 0; j < CHANNELS; j++) acc[j] = 0.0;

    for (uint kd = 0; kd < p.kD; kd++) {
        int td = od + int(p.pD) - int(kd);
        if (td < 0 || td % int(p.sD) != 0 || td / int(p.sD) >= int(p.iD)) continue;
        for (uint kh = 0; kh < p.kH; kh++) {
            int th = oh + int(p.pH) - int(kh);
            if (th < 0 || th % int(p.sH) != 0 || th / int(p.sH) >= int(p.iH)) continue;
            for (uint kw = 0; kw < p.kW; kw++) {
                int tw = ow + int(p.pW) - int(kw);
                if (tw < 0 || tw % int(p.sW) != 0 || tw / int(p.sW) >= int(p.iW)) continue;
                uint inOffset = p.xOffset + n * p.cin * inVolume + (uint(td / int(p.sD)) * p.iH + uint(th / int(p.sH))) * p.iW + uint(tw / int(p.sW));
                uint tap = (kd * p.kH + kh) * p.kW + kw;
                for (uint ci = 0; ci < p.cin; ci++) {
                    float a = x[inOffset + ci * inVolume];
                    [[unroll]] for (uint j = 0; j < CHANNELS; j++) acc[j] += a * float(w[(ci * p.cout + channel[j]) * kVolume + tap]);
                }
            }
        }
    }

    [[unroll]] for (uint j = 0; j < CHANNELS; j++) {
        uint co = channelBlock * CHANNELS + j;
        if (co >= p.cout) break;
        float b = p.hasBias != 0u ? float(bias[co]) : 0.0;
        y[p.yOffset + (n * p.cout + co) * spatial + s] = acc[j] + b;
    }
}
