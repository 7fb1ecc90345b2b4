// The ops around the recurrent layers. One work-item per output element unless noted.

// Dropout masks bit for bit as DropoutMask (engine): element i of a stream is kept when the top 24
// bits of SplitMix64's finalizer of stream + (i + 1)·golden reach rint(p·2²⁴) (the host passes that
// threshold and the kept scale 1 / (1 − p)). 64-bit integers: OpenCL C's full profile has them.
#define DROP_GOLDEN 0x9E3779B97F4A7C15UL

inline ulong dropMix(ulong z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
  return z ^ (z >> 31);
}

inline int dropKeep(ulong stream, ulong i, int threshold) {
  return (dropMix(stream + (i + 1) * DROP_GOLDEN) >> 40) >= (ulong) threshold;
}

// A standalone dropout, forward (x → y) and backward (dy → dx) alike: element i of the flat tensor.
__kernel void dropoutFlat(int count, ulong stream, int threshold, float scale,
                          __global const float* x, __global float* y) {
  int i = get_global_id(0);
  if (i < count) {
    y[i] = dropKeep(stream, (ulong) i, threshold) ? x[i] * scale : 0.0f;
  }
}

// Dropout between the layers of a stack on a sequence [T·N, C] in its layout (in place allowed):
// element (t·N + n)·C + k of the mask, time-major whatever the layout (DropoutStreams).
__kernel void dropoutSequence(int T, int N, int C, int batchFirst, ulong stream, int threshold,
                              float scale, __global const float* x, __global float* y) {
  int k = get_global_id(0);
  int row = get_global_id(1);
  if (k >= C || row >= T * N) {
    return;
  }
  int t = batchFirst ? row % T : row / N;
  int n = batchFirst ? row / T : row % N;
  float m = dropKeep(stream, ((ulong) (t * N + n)) * C + k, threshold) ? scale : 0.0f;
  y[row * C + k] = x[row * C + k] * m;
}

// Variational recurrent dropout on a state [N, Hout]: dst = src ⊙ m, or dst += src ⊙ m (add), the
// mask's element n·Hout + j the same every step: h(t−1) as the recurrent products read it, and
// their gradient on the way back to h(t−1).
__kernel void recurrentDropout(int N, int Hout, ulong stream, int threshold, float scale,
                               __global const float* src, int offSrc, __global float* dst,
                               int offDst, int add) {
  int j = get_global_id(0);
  int n = get_global_id(1);
  if (j >= Hout || n >= N) {
    return;
  }
  float m = dropKeep(stream, (ulong) (n * Hout + j), threshold) ? scale : 0.0f;
  float v = src[offSrc + n * Hout + j] * m;
  int at = offDst + n * Hout + j;
  dst[at] = add ? dst[at] + v : v;
}

// Rows of table [vocab, dim] for ids [count] (checked on the host): y [count, dim].
__kernel void embeddingGather(int count, int dim, __global const int* ids,
                              __global const float* table, __global float* y) {
  int d = get_global_id(0);
  int i = get_global_id(1);
  if (d < dim && i < count) {
    y[i * dim + d] = table[ids[i] * dim + d];
  }
}

__kernel void unaryActivation(int count, int kind, float a, float b,
                              __global const float* x, __global float* y) {
  int i = get_global_id(0);
  if (i < count) {
    y[i] = activate(kind, a, b, x[i]);
  }
}

// Softmax or log-softmax of x [outer, len, inner] along len: one work-item per (outer, inner) line.
__kernel void softmaxAlongAxis(int outer, int len, int inner, int logSoftmax,
                               __global const float* x, __global float* y) {
  int q = get_global_id(0);
  int o = get_global_id(1);
  if (q >= inner || o >= outer) {
    return;
  }
  int base = o * len * inner + q;
  float max = -INFINITY;
  for (int k = 0; k < len; k++) {
    max = fmax(max, x[base + k * inner]);
  }
  float sum = 0.0f;
  for (int k = 0; k < len; k++) {
    sum += exp(x[base + k * inner] - max);
  }
  float logSum = log(sum);
  for (int k = 0; k < len; k++) {
    float z = x[base + k * inner] - max;
    y[base + k * inner] = logSoftmax ? z - logSum : exp(z) / sum;
  }
}

// Each batch row's vector at its last valid step: seq [T, N, C] or [N, T, C] -> y [N, C].
__kernel void lastStepGather(int T, int N, int C, int batchFirst, int hasLengths,
                             __global const int* len, __global const float* seq,
                             __global float* y) {
  int c = get_global_id(0);
  int n = get_global_id(1);
  if (c >= C || n >= N) {
    return;
  }
  int t = (hasLengths ? len[n] : T) - 1;
  y[n * C + c] = seq[seqRow(t, n, T, N, batchFirst) * C + c];
}

// Backward of lastStepGather: dy [N, C] to each row's last valid step of dx (zeroed by the host);
// a row of length 0 gets nothing, as on java.
__kernel void lastStepScatter(int T, int N, int C, int batchFirst, int hasLengths,
                              __global const int* len, __global const float* dy,
                              __global float* dx) {
  int c = get_global_id(0);
  int n = get_global_id(1);
  if (c >= C || n >= N) {
    return;
  }
  int t = (hasLengths ? len[n] : T) - 1;
  if (t >= 0) {
    dx[seqRow(t, n, T, N, batchFirst) * C + c] = dy[n * C + c];
  }
}

// Backward of softmaxAlongAxis from its output y, one work-item per line: with d = Σ dy ⊙ y
// (log-softmax: Σ dy), dx = y ⊙ (dy − d) (log-softmax: dy − exp(y) · d).
__kernel void softmaxBackward(int outer, int len, int inner, int logSoftmax,
                              __global const float* y, __global const float* dy,
                              __global float* dx) {
  int q = get_global_id(0);
  int o = get_global_id(1);
  if (q >= inner || o >= outer) {
    return;
  }
  int base = o * len * inner + q;
  float d = 0.0f;
  for (int k = 0; k < len; k++) {
    int at = base + k * inner;
    d += logSoftmax ? dy[at] : dy[at] * y[at];
  }
  for (int k = 0; k < len; k++) {
    int at = base + k * inner;
    dx[at] = logSoftmax ? dy[at] - exp(y[at]) * d : y[at] * (dy[at] - d);
  }
}
