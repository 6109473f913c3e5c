#version 450
// Resizes (channels, D, H, W) volumes on a (W, H / ROWS, planes) grid: each invocation computes one output
// column of ROWS rows, so the depth taps are uniform over a work group, the width tap is loaded once and
// no index needs a division per voxel.
// The source taps of each output index along each axis come from the host (resizeTaps), so nearest
// indices are PyTorch's exactly. A dispatch covers a range of output planes (channel, depth);
// x and y are bound from `inBase` / `outBase` on.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
// (i0, i1, w0, w1) per output index: the oD depth taps, then oH height taps, then oW width taps.
layout(std430, binding = 1) readonly buffer Taps { vec4 taps[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
    uint firstPlane; // output plane (channel * oD + depth) of work-group z = 0
    uint outBase;    // index (in the whole output) of y[0]
    uint inBase;     // index (in the whole input) of x[0]
    uint oD, oH, oW;
    uint iD, iH, iW;
} p;

void main() {
    uint ow = gl_GlobalInvocationID.x;
    if (ow >= p.oW) return;
    uint plane = p.firstPlane + gl_WorkGroupID.z;
    uint od = plane % p.oD, c = plane / p.oD;
    vec4 td = taps[od], tw = taps[p.oD + p.oH + ow];
    uint base = c * p.iD * p.iH * p.iW - p.inBase;
    uint w0 = uint(tw.x), w1 = uint(tw.y);
    uint d0 = base + uint(td.x) * p.iH * p.iW, d1 = base + uint(td.y) * p.iH * p.iW;
    uint ohEnd = min(p.oH, (gl_WorkGroupID.y + 1) * ROWS);
    for (uint oh = gl_WorkGroupID.y * ROWS; oh < ohEnd; oh++) {
        uint g = (plane * p.oH + oh) * p.oW + ow;
        vec4 th = taps[p.oD + oh];
#if NEAREST
        y[g - p.outBase] = x[d0 + uint(th.x) * p.iW + w0];
#else
        uint h0 = uint(th.x) * p.iW, h1 = uint(th.y) * p.iW;
        // Nested like PyTorch: depth of heights of widths, t0 * w0 + t1 * w1 at each level. A second tap
        // of weight 0 adds exactly 0 to finite values, so it is skipped (uniform branches: whole work groups).
        float p0 = (x[d0 + h0 + w0] * tw.z + x[d0 + h0 + w1] * tw.w) * th.z;
        if (th.w != 0.0) p0 += (x[d0 + h1 + w0] * tw.z + x[d0 + h1 + w1] * tw.w) * th.w;
        float value = p0 * td.z;
        if (td.w != 0.0) {
            float p1 = (x[d1 + h0 + w0] * tw.z + x[d1 + h0 + w1] * tw.w) * th.z;
            if (th.w != 0.0) p1 += (x[d1 + h1 + w0] * tw.z + x[d1 + h1 + w1] * tw.w) * th.w;
            value += p1 * td.w;
        }
        y[g - p.outBase] = value;
#endif
    }
}
