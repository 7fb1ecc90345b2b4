// Element-wise activations of the recurrent cells, by Activation.Kind ordinal, with ONNX's
// alpha/beta. Full-precision built-ins (no -cl-fast-relaxed-math): the 1e-5 bound needs them.
#define ACT_SIGMOID 0
#define ACT_TANH 1
#define ACT_RELU 2
#define ACT_AFFINE 3
#define ACT_LEAKY_RELU 4
#define ACT_THRESHOLDED_RELU 5
#define ACT_SCALED_TANH 6
#define ACT_HARD_SIGMOID 7
#define ACT_ELU 8
#define ACT_SOFTSIGN 9
#define ACT_SOFTPLUS 10

inline float activate(int kind, float a, float b, float x) {
  switch (kind) {
    case ACT_SIGMOID: return 1.0f / (1.0f + exp(-x));
    case ACT_TANH: return tanh(x);
    case ACT_RELU: return fmax(0.0f, x);
    case ACT_AFFINE: return a * x + b;
    case ACT_LEAKY_RELU: return x >= 0.0f ? x : a * x;
    case ACT_THRESHOLDED_RELU: return x > a ? x : 0.0f;
    case ACT_SCALED_TANH: return a * tanh(b * x);
    case ACT_HARD_SIGMOID: return fmin(1.0f, fmax(0.0f, a * x + b));
    case ACT_ELU: return x >= 0.0f ? x : a * expm1(x);
    case ACT_SOFTSIGN: return x / (1.0f + fabs(x));
    default: return x > 30.0f ? x : log1p(exp(x));
  }
}

// clip <= 0: no clipping.
inline float clipTo(float v, float clip) {
  return clip > 0.0f ? clamp(v, -clip, clip) : v;
}

// The time index of iteration k for batch row n of length len: forward k, reverse len-1-k;
// -1 when the row has ended (k >= len).
inline int stepOf(int k, int len, int reverse) {
  return k >= len ? -1 : (reverse ? len - 1 - k : k);
}

// Row of (t, n) in a [T, N, C] (time-major) or [N, T, C] (batch-first) sequence.
inline int seqRow(int t, int n, int T, int N, int batchFirst) {
  return batchFirst ? n * T + t : t * N + n;
}

// Writes a step's output: y = v, or y += v for the second direction of a summing merge.
inline void storeY(__global float* Y, int at, float v, int accumulate) {
  if (accumulate) {
    Y[at] += v;
  } else {
    Y[at] = v;
  }
}
