#version 450
// C = act(A·Bᵀ + bias) + residual for GPUs: a work group of 128 invocations computes a 64x64 tile
// of C, staging 16-deep slices of A and B in shared memory; each invocation keeps 8x4 outputs.
// Defines: B_KN (B is K x N), A_HALF and B_HALF (A or B stored as fp16, converted to fp32 when staged),
// C_HALF (C and the residual stored as fp16; the fp32 result is rounded once, on store).
#extension GL_EXT_control_flow_attributes : require
#if A_HALF || B_HALF || C_HALF
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
layout(local_size_x = 128) in;
#include "common.glsl"
#include "gemm_types.glsl"

layout(std430, binding = 0) readonly buffer A { ASCALAR a[]; };
layout(std430, binding = 1) readonly buffer B { BSCALAR b[]; };
#include "gemm_epilogue.glsl"

const uint TM = 64, TN = 64, TK = 16;
// One padding column keeps the transposed stores free of bank conflicts.
shared float tileA[TK][TM + 1];
shared float tileB[TK][TN + 1];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint row0 = gl_WorkGroupID.y * TM, col0 = gl_WorkGroupID.x * TN;
    uint batch = gl_WorkGroupID.z + p.batchOffset;
    uint aBase = p.aOffset + batch * p.strideA, bBase = p.bOffset + batch * p.strideB;
    // Outputs of this invocation: rows ty + 8i, columns tx + 16j (strided so shared reads do not conflict).
    uint tx = t % 16u, ty = t / 16u;
    float acc[8][4];
    [[unroll]] for (uint i = 0; i < 8; i++) [[unroll]] for (uint j = 0; j < 4; j++) acc[i][j] = 0.0;

    for (uint k0 = 0; k0 < p.k; k0 += TK) {
        // Stage A (64 rows x 16 k): consecutive invocations read consecutive k; zero past the edges.
        uint kk = t % TK, r = t / TK;
        [[unroll]] for (uint s = 0; s < 8; s++) {
            uint row = row0 + r + 8u * s, kIndex = k0 + kk;
            tileA[kk][r + 8u * s] = row < p.m && kIndex < p.k ? float(a[aBase + row * p.lda + kIndex]) : 0.0;
        }
#if B_KN
        // Stage B (16 k x 64 n) from rows along n.
        uint col = t % TN, kr = t / TN;
        [[unroll]] for (uint s = 0; s < 8; s++) {
            uint kIndex = k0 + kr + 2u * s, n = col0 + col;
            tileB[kr + 2u * s][col] = n < p.n && kIndex < p.k ? float(b[bBase + kIndex * p.n + n]) : 0.0;
        }
#else
        // Stage B (64 n x 16 k) from rows along k, transposed into [k][n].
        [[unroll]] for (uint s = 0; s < 8; s++) {
            uint n = col0 + r + 8u * s, kIndex = k0 + kk;
            tileB[kk][r + 8u * s] = n < p.n && kIndex < p.k ? float(b[bBase + n * p.k + kIndex]) : 0.0;
        }
#endif
        barrier();
        for (uint q = 0; q < TK; q++) {
            float av[8], bv[4];
            [[unroll]] for (uint i = 0; i < 8; i++) av[i] = tileA[q][ty + 8u * i];
            [[unroll]] for (uint j = 0; j < 4; j++) bv[j] = tileB[q][tx + 16u * j];
            [[unroll]] for (uint i = 0; i < 8; i++) [[unroll]] for (uint j = 0; j < 4; j++) acc[i][j] += av[i] * bv[j];
        }
        barrier();
    }

    // Epilogue (gemm_epilogue.glsl).
    [[unroll]] for (uint i = 0; i < 8; i++) {
        uint row = row0 + ty + 8u * i;
        [[unroll]] for (uint j = 0; j < 4; j++) {
            uint col = col0 + tx + 16u * j;
            // A guard, not a break: loops with breaks are not unrolled and acc would live in memory.
            if (row < p.m && col < p.n) storeC(acc[i][j], batch, row, col);
        }
    }
}
