#version 450
// Copies or adds a box of a (D, H, W) volume into another; outside the source reads 0, outside the
// destination is skipped. Volumes larger than one binding are bound as depth-slice ranges: the
// host passes each binding's first element (srcBase, dstBase) and the box origins in volume coordinates.
layout(local_size_x = 256) in;
#include "common.glsl"
layout(std430, binding = 0) readonly buffer Src { float src[]; };
layout(std430, binding = 1) buffer Dst { float dst[]; };
layout(push_constant) uniform Params {
    ivec4 srcSize;    // D, H, W
    ivec4 srcOrigin;
    ivec4 dstSize;
    ivec4 dstOrigin;
    ivec4 extent;     // D, H, W of this dispatch's part of the box
    int srcBase;      // element index of src[0] in the source volume
    int dstBase;
    int accumulate;
} p;

void main() {
    uint i = foldedIndex();
    uint plane = uint(p.extent.y * p.extent.z);
    if (i >= uint(p.extent.x) * plane) return;
    ivec3 q = ivec3(int(i / plane), int((i % plane) / uint(p.extent.z)), int(i % uint(p.extent.z)));
    ivec3 to = p.dstOrigin.xyz + q;
    if (any(lessThan(to, ivec3(0))) || any(greaterThanEqual(to, p.dstSize.xyz))) return;
    ivec3 from = p.srcOrigin.xyz + q;
    float value = 0.0;
    if (all(greaterThanEqual(from, ivec3(0))) && all(lessThan(from, p.srcSize.xyz))) {
        value = src[(from.x * p.srcSize.y + from.y) * p.srcSize.z + from.z - p.srcBase];
    }
    int out_ = (to.x * p.dstSize.y + to.y) * p.dstSize.z + to.z - p.dstBase;
    dst[out_] = p.accumulate != 0 ? dst[out_] + value : value;
}
