// Storage types of the attention operands (AttentionKernel.swift): QKV_HALF stores Q, K and V as fp16, OUT_HALF
// the output (rounded once, on store). Scores, the softmax and all sums stay fp32.
#if QKV_HALF
#define QKV_SCALAR float16_t
#define QKV_VEC4 f16vec4
#else
#define QKV_SCALAR float
#define QKV_VEC4 vec4
#endif
#if OUT_HALF
#define OUT_SCALAR float16_t
#else
#define OUT_SCALAR float
#endif
