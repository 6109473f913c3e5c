#version 450
// C = act(A·Bᵀ + bias) + residual with VK_NV_cooperative_matrix (tensor cores): a work group of four
// 32-wide subgroups computes a 64x64 tile of C; each subgroup owns 32x32 (2x2 fp32 16x16 accumulators).
// Precision trade-off: A and B are rounded to fp16 when staged into shared memory (products and sums
// stay fp32), so results match an fp32 GEMM to about 1e-3 relative, and |A| must stay below 65504.
// The epilogue (bias, activation, residual) runs after the accumulators are stored to shared memory.
// Defines: B_KN (B is K x N), A_HALF and B_HALF (A or B stored as fp16), C_HALF (C and the residual stored
// as fp16; the fp32 result is rounded once, on store).
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_NV_cooperative_matrix : require
layout(local_size_x = 128) in;
#include "common.glsl"
#include "gemm_types.glsl"

layout(std430, binding = 0) readonly buffer A { ASCALAR a[]; };
layout(std430, binding = 1) readonly buffer B { BSCALAR b[]; };
#include "gemm_epilogue.glsl"

const uint TM = 64, TN = 64, TK = 32;
// Row strides padded by 8 halves (16 bytes): cooperative loads need 16-byte aligned rows.
const uint STRIDE_AB = TK + 8u, STRIDE_C = TN + 4u;
shared float16_t tileA[TM * STRIDE_AB];   // [m][k]
shared float16_t tileB[TN * STRIDE_AB];   // [n][k]: a column-major K x N tile
shared float tileC[TM * STRIDE_C];

void main() {
    uint t = gl_LocalInvocationID.x;
    uint row0 = gl_WorkGroupID.y * TM, col0 = gl_WorkGroupID.x * TN;
    uint batch = gl_WorkGroupID.z + p.batchOffset;
    uint aBase = p.aOffset + batch * p.strideA, bBase = p.bOffset + batch * p.strideB;
    uint warpRow = (gl_SubgroupID / 2u) * 32u, warpCol = (gl_SubgroupID % 2u) * 32u;

    fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[2][2];
    [[unroll]] for (uint i = 0; i < 2; i++) [[unroll]] for (uint j = 0; j < 2; j++)
        acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);

    for (uint k0 = 0; k0 < p.k; k0 += TK) {
        // Stage A (64 rows x 32 k) as fp16; zero past the edges.
        uint kk = t % TK, r = t / TK;
        [[unroll]] for (uint s = 0; s < 16; s++) {
            uint row = row0 + r + 4u * s, kIndex = k0 + kk;
            tileA[(r + 4u * s) * STRIDE_AB + kk] = float16_t(row < p.m && kIndex < p.k ? float(a[aBase + row * p.lda + kIndex]) : 0.0);
        }
#if B_KN
        // Stage B from rows along n (consecutive invocations read consecutive n).
        uint col = t % TN, kr = t / TN;
        [[unroll]] for (uint s = 0; s < 16; s++) {
            uint kIndex = k0 + kr + 2u * s, n = col0 + col;
            tileB[col * STRIDE_AB + kr + 2u * s] = n < p.n && kIndex < p.k ? float16_t(b[bBase + kIndex * p.n + n]) : float16_t(0.0);
        }
#else
        [[unroll]] for (uint s = 0; s < 16; s++) {
            uint n = col0 + r + 4u * s, kIndex = k0 + kk;
            tileB[(r + 4u * s) * STRIDE_AB + kk] = n < p.n && kIndex < p.k ? float16_t(b[bBase + n * p.k + kIndex]) : float16_t(0.0);
        }
#endif
        barrier();
        [[unroll]] for (uint q = 0; q < TK; q += 16) {
            fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> am[2], bm[2];
            [[unroll]] for (uint i = 0; i < 2; i++)
                coopMatLoadNV(am[i], tileA, (warpRow + 16u * i) * STRIDE_AB + q, STRIDE_AB, false);
            [[unroll]] for (uint j = 0; j < 2; j++)
                coopMatLoadNV(bm[j], tileB, (warpCol + 16u * j) * STRIDE_AB + q, STRIDE_AB, true);
            [[unroll]] for (uint i = 0; i < 2; i++) [[unroll]] for (uint j = 0; j < 2; j++)
                acc[i][j] = coopMatMulAddNV(am[i], bm[j], acc[i][j]);
        }
        barrier();
    }

    [[unroll]] for (uint i = 0; i < 2; i++) [[unroll]] for (uint j = 0; j < 2; j++)
        coopMatStoreNV(acc[i][j], tileC, (warpRow + 16u * i) * STRIDE_C + warpCol + 16u * j, STRIDE_C, false);
    barrier();

    // Epilogue (gemm_epilogue.glsl).
    uint col = col0 + t % TN;
    if (col >= p.n) return;
    for (uint r = t / TN; r < TM; r += 2u) {
        uint row = row0 + r;
        if (row >= p.m) break;
        storeC(tileC[r * STRIDE_C + t % TN], batch, row, col);
    }
}
