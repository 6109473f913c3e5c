#version 450
// Conv3d with kernel = stride and no padding (the ViT patch embedding): a GEMM of patches x weights.
// Each invocation computes PATCHES patches x CHANNELS output channels, reading both operands as vec4
// along k (needs kW and W multiples of 4). The channel block is the work group's y, so
// weight loads are uniform (one scalar load for all lanes on lavapipe, a broadcast on a GPU).
// W_HALF / B_HALF: fp16 weight / bias storage.
#extension GL_EXT_control_flow_attributes : require
#if W_HALF || B_HALF
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
layout(local_size_x = 64) in;
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
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
    uint patchBlocks;
    uint patches;          // batch * oD * oH * oW
    uint cout, cin;
    uint oD, oH, oW;
    uint kD, kH, kW;
    uint iD, iH, iW;
    uint hasBias;
    uint xOffset, yOffset;   // where this run of batch items starts in the x and y bindings (elements)
} p;

void main() {
    uint patchBlock = gl_GlobalInvocationID.x;
    if (patchBlock >= p.patchBlocks) return;
    uint channelBlock = gl_WorkGroupID.y;
    uint spatial = p.oD * p.oH * p.oW;
    uint inVolume = p.iD * p.iH * p.iW;
    uint k4 = p.cin * p.kD * p.kH * p.kW / 4;

    // vec4 index of each patch's first value; out-of-range patches and channels repeat the last one.
    uint patchBase[PATCHES];
    [[unroll]] for (uint i = 0; i < PATCHES; i++) {
        uint q = min(patchBlock * PATCHES + i, p.patches - 1);
        uint s = q % spatial;
        uint pw = s % p.oW, ph = (s / p.oW) % p.oH, pd = s / (p.oW * p.oH);
        patchBase[i] = (p.xOffset + (q / spatial) * p.cin * inVolume + (pd * p.kD * p.iH + ph * p.kH) * p.iW + pw * p.kW) / 4;
    }
    uint weightBase[CHANNELS];
    [[unroll]] for (uint j = 0; j < CHANNELS; j++) weightBase[j] = min(channelBlock * CHANNELS + j, p.cout - 1) * k4;

    float acc[PATCHES][CHANNELS];
    [[unroll]] for (uint i = 0; i < PATCHES; i++) [[unroll]] for (uint j = 0; j < CHANNELS; j++) acc[i][j] = 0.0;

    uint k = 0;
    uint row4 = p.kW / 4;
    for (uint ci = 0; ci < p.cin; ci++) {
        for (uint kd = 0; kd < p.kD; kd++) {
            for (uint kh = 0; kh < p.kH; kh++) {
                uint rowOffset = ((ci * p.iD + kd) * p.iH + kh) * p.iW / 4;
                for (uint kw = 0; kw < row4; kw++, k++) {
                    vec4 a[PATCHES];
                    [[unroll]] for (uint i = 0; i < PATCHES; i++) a[i] = x[patchBase[i] + rowOffset + kw];
                    [[unroll]] for (uint j = 0; j < CHANNELS; j++) {
                        vec4 b = vec4(w[weightBase[j] + k]);
                        [[unroll]] for (uint i = 0; i < PATCHES; i++) acc[i][j] += dot(a[i], b);
                    }
                }
            }
        }
    }

    [[unroll]] for (uint i = 0; i < PATCHES; i++) {
        uint q = patchBlock * PATCHES + i;
        if (q >= p.patches) break;
        uint n = q / spatial, s = q % spatial;
        [[unroll]] for (uint j = 0; j < CHANNELS; j++) {
            uint co = channelBlock * CHANNELS + j;
            if (co >= p.cout) break;
            float b = p.hasBias != 0u ? float(bias[co]) : 0.0;
            y[p.yOffset + (n * p.cout + co) * spatial + s] = acc[i][j] + b;
        }
    }
}
