// Storage types of the GEMM operands (GemmKernel.swift): A_HALF, B_HALF and C_HALF store A, B, or C and the
// residual as fp16. Bias, partial sums and all arithmetic stay fp32.
#if A_HALF
#define ASCALAR float16_t
#define AVEC4 f16vec4
#else
#define ASCALAR float
#define AVEC4 vec4
#endif
#if B_HALF
#define BSCALAR float16_t
#define BVEC4 f16vec4
#else
#define BSCALAR float
#define BVEC4 vec4
#endif
#if C_HALF
#define CSCALAR float16_t
#else
#define CSCALAR float
#endif
