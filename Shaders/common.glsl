// Shared helpers. Include this after the local_size layout: gl_WorkGroupSize is (1,1,1) before it.

// The 1D index of an invocation when a long 1D grid is folded into y (see VulkanBackend.grid).
uint foldedIndex() {
    return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
}

// GELU, exact erf form (PyTorch's default). GLSL has no erf: Abramowitz-Stegun 7.1.26 is too coarse,
// so use the W. J. Cody rational form via the complementary error function for |x| large.
float erfApprox(float x) {
    // Numerical Recipes erfc (Chebyshev), relative error < 1.2e-7 everywhere.
    float z = abs(x);
    float t = 1.0 / (1.0 + 0.5 * z);
    float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
              t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
              t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0.0 ? 1.0 - r : r - 1.0;
}

// Eight halves fetched as four words from an RGBA32UI texel (PACK8 builds): the first four in lo, the rest in hi.
void unpackHalves8(uvec4 words, out vec4 lo, out vec4 hi) {
    lo = vec4(unpackHalf2x16(words.x), unpackHalf2x16(words.y));
    hi = vec4(unpackHalf2x16(words.z), unpackHalf2x16(words.w));
}

float gelu(float x) { return 0.5 * x * (1.0 + erfApprox(x * 0.70710678118654752)); }
float quickGelu(float x) { return x / (1.0 + exp(-1.702 * x)); }
float sigmoid(float x) { return 1.0 / (1.0 + exp(-x)); }

// Activation codes match Kernels.Activation: 0 none, 1 relu, 2 gelu, 3 quick_gelu.
float activate(float x, uint activation) {
    if (activation == 1u) return max(x, 0.0);
    if (activation == 2u) return gelu(x);
    if (activation == 3u) return quickGelu(x);
    return x;
}
