// The ops around the recurrent layers. One work-item per output element unless noted.

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
