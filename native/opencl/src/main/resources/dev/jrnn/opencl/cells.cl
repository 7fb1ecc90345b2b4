// Fused post-GEMM cell updates, one work-item per (hidden unit j, batch row n) for iteration k of
// one layer and direction. G holds the input projection of every timestep (X·Wᵀ + bW, rows in the
// sequence's layout), HR this step's recurrent part (h·Rᵀ + bR, [N, G·H]). Each kernel updates the
// state slot of its row in place and writes the step's output column into Y at offY (the
// direction's columns; accumulate: the second direction of a summing merge). A row past its length
// keeps its state and gets 0 at output step k, so every padded step is written exactly once.

// LSTM, gates i, f, g, o: peepholes P [3H] (i, f, o), coupled input-forget (f = 1 − i), clip on
// every gate's pre-activation. project: write o ⊙ h(c) to hraw for projectedStepOutput instead.
__kernel void lstmPostGemmForward(int N, int H, int T, int k, int reverse, int batchFirst,
                                  __global const int* len,
                                  __global const float* G, __global const float* HR,
                                  __global float* c, int offC, __global float* h, int offH,
                                  __global float* hraw,
                                  __global float* Y, int ldy, int offY, int accumulate,
                                  int project,
                                  __global const float* P, int offP, int hasP, int coupled,
                                  float clip,
                                  int fk, float fa, float fb, int gk, float ga, float gb,
                                  int hk, float ha, float hb) {
  int j = get_global_id(0);
  int n = get_global_id(1);
  if (j >= H || n >= N) {
    return;
  }
  int t = stepOf(k, len[n], reverse);
  if (t < 0) {
    if (!project && !accumulate) {
      Y[seqRow(k, n, T, N, batchFirst) * ldy + offY + j] = 0.0f;
    }
    return;
  }
  __global const float* g = G + seqRow(t, n, T, N, batchFirst) * 4 * H;
  __global const float* r = HR + n * 4 * H;
  float cp = c[offC + n * H + j];
  float pi = g[j] + r[j];
  if (hasP) {
    pi += P[offP + j] * cp;
  }
  float i = activate(fk, fa, fb, clipTo(pi, clip));
  float f;
  if (coupled) {
    f = 1.0f - i;
  } else {
    float pf = g[H + j] + r[H + j];
    if (hasP) {
      pf += P[offP + H + j] * cp;
    }
    f = activate(fk, fa, fb, clipTo(pf, clip));
  }
  float gg = activate(gk, ga, gb, clipTo(g[2 * H + j] + r[2 * H + j], clip));
  float cn = f * cp + i * gg;
  float po = g[3 * H + j] + r[3 * H + j];
  if (hasP) {
    po += P[offP + 2 * H + j] * cn;
  }
  float o = activate(fk, fa, fb, clipTo(po, clip));
  c[offC + n * H + j] = cn;
  float hn = o * activate(hk, ha, hb, cn);
  if (project) {
    hraw[n * H + j] = hn;
  } else {
    h[offH + n * H + j] = hn;
    storeY(Y, seqRow(t, n, T, N, batchFirst) * ldy + offY + j, hn, accumulate);
  }
}

// After the projection GEMM hp = hraw·Wpᵀ ([N, Pr]): the new state and the step's output.
__kernel void projectedStepOutput(int N, int Pr, int T, int k, int reverse, int batchFirst,
                                  __global const int* len, __global const float* hp,
                                  __global float* h, int offH,
                                  __global float* Y, int ldy, int offY, int accumulate) {
  int q = get_global_id(0);
  int n = get_global_id(1);
  if (q >= Pr || n >= N) {
    return;
  }
  int t = stepOf(k, len[n], reverse);
  if (t < 0) {
    if (!accumulate) {
      Y[seqRow(k, n, T, N, batchFirst) * ldy + offY + q] = 0.0f;
    }
    return;
  }
  float v = hp[n * Pr + q];
  h[offH + n * Pr + q] = v;
  storeY(Y, seqRow(t, n, T, N, batchFirst) * ldy + offY + q, v, accumulate);
}

// GRU, gates z, r, n. linearBeforeReset: n = g(xn + r ⊙ (Rn·h + bRn)), HR holds all three gates.
// Otherwise HR's n columns already hold Rn·(r ⊙ h) + bRn (gruResetHidden, then a second GEMM).
__kernel void gruPostGemmForward(int N, int H, int T, int k, int reverse, int batchFirst,
                                 __global const int* len,
                                 __global const float* G, __global const float* HR,
                                 __global float* h, int offH,
                                 __global float* Y, int ldy, int offY, int accumulate,
                                 int linearBeforeReset, float clip,
                                 int fk, float fa, float fb, int gk, float ga, float gb) {
  int j = get_global_id(0);
  int n = get_global_id(1);
  if (j >= H || n >= N) {
    return;
  }
  int t = stepOf(k, len[n], reverse);
  if (t < 0) {
    if (!accumulate) {
      Y[seqRow(k, n, T, N, batchFirst) * ldy + offY + j] = 0.0f;
    }
    return;
  }
  __global const float* g = G + seqRow(t, n, T, N, batchFirst) * 3 * H;
  __global const float* r = HR + n * 3 * H;
  float z = activate(fk, fa, fb, clipTo(g[j] + r[j], clip));
  float nPre;
  if (linearBeforeReset) {
    float rg = activate(fk, fa, fb, clipTo(g[H + j] + r[H + j], clip));
    nPre = g[2 * H + j] + rg * r[2 * H + j];
  } else {
    nPre = g[2 * H + j] + r[2 * H + j];
  }
  float nv = activate(gk, ga, gb, clipTo(nPre, clip));
  float hp = h[offH + n * H + j];
  float hn = (1.0f - z) * nv + z * hp;
  h[offH + n * H + j] = hn;
  storeY(Y, seqRow(t, n, T, N, batchFirst) * ldy + offY + j, hn, accumulate);
}

// GRU with the reset gate before the recurrent product: rh = r ⊙ h, r from HR's first 2H columns.
__kernel void gruResetHidden(int N, int H, int T, int k, int reverse, int batchFirst,
                             __global const int* len,
                             __global const float* G, __global const float* HR,
                             __global const float* h, int offH, __global float* rh,
                             float clip, int fk, float fa, float fb) {
  int j = get_global_id(0);
  int n = get_global_id(1);
  if (j >= H || n >= N) {
    return;
  }
  int t = stepOf(k, len[n], reverse);
  if (t < 0) {
    rh[n * H + j] = 0.0f; // the row has ended: its result is discarded
    return;
  }
  __global const float* g = G + seqRow(t, n, T, N, batchFirst) * 3 * H;
  float rg = activate(fk, fa, fb, clipTo(g[H + j] + HR[n * 3 * H + H + j], clip));
  rh[n * H + j] = rg * h[offH + n * H + j];
}

// Vanilla RNN: h = f(clip(x·Wᵀ + bW + h·Rᵀ + bR)).
__kernel void rnnPostGemmForward(int N, int H, int T, int k, int reverse, int batchFirst,
                                 __global const int* len,
                                 __global const float* G, __global const float* HR,
                                 __global float* h, int offH,
                                 __global float* Y, int ldy, int offY, int accumulate,
                                 float clip, int fk, float fa, float fb) {
  int j = get_global_id(0);
  int n = get_global_id(1);
  if (j >= H || n >= N) {
    return;
  }
  int t = stepOf(k, len[n], reverse);
  if (t < 0) {
    if (!accumulate) {
      Y[seqRow(k, n, T, N, batchFirst) * ldy + offY + j] = 0.0f;
    }
    return;
  }
  float v = G[seqRow(t, n, T, N, batchFirst) * H + j] + HR[n * H + j];
  float hn = activate(fk, fa, fb, clipTo(v, clip));
  h[offH + n * H + j] = hn;
  storeY(Y, seqRow(t, n, T, N, batchFirst) * ldy + offY + j, hn, accumulate);
}

// Row `row` of R [G·H, K] times h staged in local memory, for the persistent kernels. R is read
// from R itself (transposed = 0: the row contiguous, each work-item's loop vectorizes; PoCL's
// choice) or from Rᵀ [K, G·H] (transposed = 1: the work-items of consecutive units read
// consecutive floats, coalesced; the GPUs' choice). Both sum over e in order: the same result.
inline float persistentDot(__global const float* R, int offR, int transposed, int row, int GH,
                           __local const float* h, int K) {
  float acc = 0.0f;
  if (transposed) {
    __global const float* r = R + offR + row;
    for (int e = 0; e < K; e++) {
      acc = fma(r[e * GH], h[e], acc);
    }
  } else {
    __global const float* r = R + offR + row * K;
    for (int e = 0; e < K; e++) {
      acc = fma(r[e], h[e], acc);
    }
  }
  return acc;
}

// The persistent LSTM: one work-group runs a whole layer and direction, looping over the timesteps
// with work-group barriers (no device-wide barrier needed, so no occupancy assumption). h is staged
// in local memory (hl: N·H floats) each step; R is read from global memory (R at offR: the stack's
// weights, or its transposed weights when rt; biases and peepholes from W). One launch per layer
// and direction instead of 1 or 2 per step. No projection (the host falls back to per-step).
__kernel void lstmPersistentForward(int N, int H, int T, int reverse, int batchFirst,
                                    __global const int* len, __global const float* G,
                                    __global const float* W, __global const float* R, int offR,
                                    int rt, int offBR,
                                    __global float* c, int offC, __global float* h, int offH,
                                    __global float* Y, int ldy, int offY, int accumulate,
                                    int offP, int hasP, int coupled, float clip,
                                    int fk, float fa, float fb, int gk, float ga, float gb,
                                    int hk, float ha, float hb, __local float* hl) {
  int lid = get_local_id(0);
  int ls = get_local_size(0);
  int cells = N * H;
  for (int k = 0; k < T; k++) {
    for (int at = lid; at < cells; at += ls) {
      hl[at] = h[offH + at];
    }
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    for (int at = lid; at < cells; at += ls) {
      int n = at / H;
      int j = at - n * H;
      int t = stepOf(k, len[n], reverse);
      if (t < 0) {
        if (!accumulate) {
          Y[seqRow(k, n, T, N, batchFirst) * ldy + offY + j] = 0.0f;
        }
        continue;
      }
      __global const float* g = G + seqRow(t, n, T, N, batchFirst) * 4 * H;
      __local const float* hv = hl + n * H;
      float s[4];
      for (int q = 0; q < 4; q++) {
        float acc = persistentDot(R, offR, rt, q * H + j, 4 * H, hv, H);
        s[q] = g[q * H + j] + (acc + W[offBR + q * H + j]);
      }
      float cp = c[offC + at];
      float pi = s[0];
      if (hasP) {
        pi += W[offP + j] * cp;
      }
      float i = activate(fk, fa, fb, clipTo(pi, clip));
      float f;
      if (coupled) {
        f = 1.0f - i;
      } else {
        float pf = s[1];
        if (hasP) {
          pf += W[offP + H + j] * cp;
        }
        f = activate(fk, fa, fb, clipTo(pf, clip));
      }
      float gg = activate(gk, ga, gb, clipTo(s[2], clip));
      float cn = f * cp + i * gg;
      float po = s[3];
      if (hasP) {
        po += W[offP + 2 * H + j] * cn;
      }
      float o = activate(fk, fa, fb, clipTo(po, clip));
      c[offC + at] = cn;
      float hn = o * activate(hk, ha, hb, cn);
      h[offH + at] = hn;
      storeY(Y, seqRow(t, n, T, N, batchFirst) * ldy + offY + j, hn, accumulate);
    }
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
  }
}

// The persistent GRU with linearBeforeReset, as lstmPersistentForward: gates z, r, n, with
// n = g(xn + r ⊙ (Rn·h + bRn)); h in local memory (hl: N·H floats).
__kernel void gruLbrPersistentForward(int N, int H, int T, int reverse, int batchFirst,
                                      __global const int* len, __global const float* G,
                                      __global const float* W, __global const float* R,
                                      int offR, int rt, int offBR,
                                      __global float* h, int offH,
                                      __global float* Y, int ldy, int offY, int accumulate,
                                      float clip, int fk, float fa, float fb,
                                      int gk, float ga, float gb, __local float* hl) {
  int lid = get_local_id(0);
  int ls = get_local_size(0);
  int cells = N * H;
  for (int k = 0; k < T; k++) {
    for (int at = lid; at < cells; at += ls) {
      hl[at] = h[offH + at];
    }
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    for (int at = lid; at < cells; at += ls) {
      int n = at / H;
      int j = at - n * H;
      int t = stepOf(k, len[n], reverse);
      if (t < 0) {
        if (!accumulate) {
          Y[seqRow(k, n, T, N, batchFirst) * ldy + offY + j] = 0.0f;
        }
        continue;
      }
      __global const float* g = G + seqRow(t, n, T, N, batchFirst) * 3 * H;
      __local const float* hv = hl + n * H;
      float s[3];
      for (int q = 0; q < 3; q++) {
        s[q] = persistentDot(R, offR, rt, q * H + j, 3 * H, hv, H) + W[offBR + q * H + j];
      }
      float z = activate(fk, fa, fb, clipTo(g[j] + s[0], clip));
      float rg = activate(fk, fa, fb, clipTo(g[H + j] + s[1], clip));
      float nv = activate(gk, ga, gb, clipTo(g[2 * H + j] + rg * s[2], clip));
      float hn = (1.0f - z) * nv + z * hv[j];
      h[offH + at] = hn;
      storeY(Y, seqRow(t, n, T, N, batchFirst) * ldy + offY + j, hn, accumulate);
    }
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
  }
}

// The persistent GRU with the reset gate before the product: two phases per step. First z and r of
// every cell, r ⊙ h into rhl (local, N·H floats) and z parked in the cell's global h (read only
// when staging, so free until the new h is written, by the same work-item); after a barrier,
// n = g(xn + Rn·(r ⊙ h) + bRn) reads all of its row's rhl.
__kernel void gruPersistentForward(int N, int H, int T, int reverse, int batchFirst,
                                   __global const int* len, __global const float* G,
                                   __global const float* W, __global const float* R,
                                   int offR, int rt, int offBR,
                                   __global float* h, int offH,
                                   __global float* Y, int ldy, int offY, int accumulate,
                                   float clip, int fk, float fa, float fb,
                                   int gk, float ga, float gb, __local float* hl,
                                   __local float* rhl) {
  int lid = get_local_id(0);
  int ls = get_local_size(0);
  int cells = N * H;
  for (int k = 0; k < T; k++) {
    for (int at = lid; at < cells; at += ls) {
      hl[at] = h[offH + at];
    }
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    for (int at = lid; at < cells; at += ls) {
      int n = at / H;
      int j = at - n * H;
      int t = stepOf(k, len[n], reverse);
      if (t < 0) {
        continue;
      }
      __global const float* g = G + seqRow(t, n, T, N, batchFirst) * 3 * H;
      __local const float* hv = hl + n * H;
      float sz = persistentDot(R, offR, rt, j, 3 * H, hv, H) + W[offBR + j];
      float sr = persistentDot(R, offR, rt, H + j, 3 * H, hv, H) + W[offBR + H + j];
      float rg = activate(fk, fa, fb, clipTo(g[H + j] + sr, clip));
      rhl[at] = rg * hv[j];
      h[offH + at] = activate(fk, fa, fb, clipTo(g[j] + sz, clip));
    }
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    for (int at = lid; at < cells; at += ls) {
      int n = at / H;
      int j = at - n * H;
      int t = stepOf(k, len[n], reverse);
      if (t < 0) {
        if (!accumulate) {
          Y[seqRow(k, n, T, N, batchFirst) * ldy + offY + j] = 0.0f;
        }
        continue;
      }
      __global const float* g = G + seqRow(t, n, T, N, batchFirst) * 3 * H;
      float sn =
          persistentDot(R, offR, rt, 2 * H + j, 3 * H, rhl + n * H, H) + W[offBR + 2 * H + j];
      float nv = activate(gk, ga, gb, clipTo(g[2 * H + j] + sn, clip));
      float z = h[offH + at];
      float hn = (1.0f - z) * nv + z * hl[at];
      h[offH + at] = hn;
      storeY(Y, seqRow(t, n, T, N, batchFirst) * ldy + offY + j, hn, accumulate);
    }
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
  }
}

// The persistent vanilla RNN: h = f(clip(x·Wᵀ + bW + h·Rᵀ + bR)), h in local memory.
__kernel void rnnPersistentForward(int N, int H, int T, int reverse, int batchFirst,
                                   __global const int* len, __global const float* G,
                                   __global const float* W, __global const float* R,
                                   int offR, int rt, int offBR,
                                   __global float* h, int offH,
                                   __global float* Y, int ldy, int offY, int accumulate,
                                   float clip, int fk, float fa, float fb, __local float* hl) {
  int lid = get_local_id(0);
  int ls = get_local_size(0);
  int cells = N * H;
  for (int k = 0; k < T; k++) {
    for (int at = lid; at < cells; at += ls) {
      hl[at] = h[offH + at];
    }
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
    for (int at = lid; at < cells; at += ls) {
      int n = at / H;
      int j = at - n * H;
      int t = stepOf(k, len[n], reverse);
      if (t < 0) {
        if (!accumulate) {
          Y[seqRow(k, n, T, N, batchFirst) * ldy + offY + j] = 0.0f;
        }
        continue;
      }
      float v = G[seqRow(t, n, T, N, batchFirst) * H + j]
                + (persistentDot(R, offR, rt, j, H, hl + n * H, H) + W[offBR + j]);
      float hn = activate(fk, fa, fb, clipTo(v, clip));
      h[offH + at] = hn;
      storeY(Y, seqRow(t, n, T, N, batchFirst) * ldy + offY + j, hn, accumulate);
    }
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
  }
}

// Small-batch fused steps: one launch per timestep computes the recurrent product of its hidden
// unit j and applies the cell update, instead of a GEMM launch and a post-GEMM launch. Work-item
// (j, b) owns unit j, every gate of it, and batch rows 4b..4b+3, so each row of R is read once per
// 4 rows. h(t-1) of the whole batch is read from hIn and h(t) written to hOut (the host swaps the
// two each step: another work-item may still be reading the unit this one writes); c is per unit,
// updated in place. A row past its length copies its state across and gets 0 at output step k.
#define FUSED_ROWS 4

// One row: R_row · h over K, float4 loads with one lane reduction after the loop, scalar tail.
inline float fusedDot(__global const float* r, __global const float* h, int K) {
  float4 acc = (float4)(0.0f);
  int e = 0;
  for (; e + 4 <= K; e += 4) {
    acc = fma(vload4(0, r + e), vload4(0, h + e), acc);
  }
  float s = (acc.x + acc.y) + (acc.z + acc.w);
  for (; e < K; e++) {
    s = fma(r[e], h[e], s);
  }
  return s;
}

// out[i] = R_row · h[n0 + i] + bias for the rows i < min(4, N - n0): a full block of 4 reads each
// float4 of R once for all four rows; a partial block (N = 1 among them) goes row by row.
inline void fusedRowDots(__global const float* r, __global const float* h, int K, int n0, int N,
                         float bias, float* out) {
  if (N - n0 < FUSED_ROWS) {
    for (int i = 0; n0 + i < N; i++) {
      out[i] = fusedDot(r, h + (n0 + i) * K, K) + bias;
    }
    return;
  }
  __global const float* h0 = h + n0 * K;
  float4 a0 = (float4)(0.0f);
  float4 a1 = (float4)(0.0f);
  float4 a2 = (float4)(0.0f);
  float4 a3 = (float4)(0.0f);
  int e = 0;
  for (; e + 4 <= K; e += 4) {
    float4 rv = vload4(0, r + e);
    a0 = fma(rv, vload4(0, h0 + e), a0);
    a1 = fma(rv, vload4(0, h0 + K + e), a1);
    a2 = fma(rv, vload4(0, h0 + 2 * K + e), a2);
    a3 = fma(rv, vload4(0, h0 + 3 * K + e), a3);
  }
  float s0 = (a0.x + a0.y) + (a0.z + a0.w);
  float s1 = (a1.x + a1.y) + (a1.z + a1.w);
  float s2 = (a2.x + a2.y) + (a2.z + a2.w);
  float s3 = (a3.x + a3.y) + (a3.z + a3.w);
  for (; e < K; e++) {
    s0 = fma(r[e], h0[e], s0);
    s1 = fma(r[e], h0[K + e], s1);
    s2 = fma(r[e], h0[2 * K + e], s2);
    s3 = fma(r[e], h0[3 * K + e], s3);
  }
  out[0] = s0 + bias;
  out[1] = s1 + bias;
  out[2] = s2 + bias;
  out[3] = s3 + bias;
}

// LSTM without projection (R [4H, H] at offR, bR [4H] at offBR, P [3H] at offP, all in W).
__kernel void lstmStepFused(int N, int H, int T, int k, int reverse, int batchFirst,
                            __global const int* len, __global const float* G,
                            __global const float* W, int offR, int offBR,
                            __global float* c, int offC,
                            __global const float* hIn, __global float* hOut, int offH,
                            __global float* Y, int ldy, int offY, int accumulate,
                            int offP, int hasP, int coupled, float clip,
                            int fk, float fa, float fb, int gk, float ga, float gb,
                            int hk, float ha, float hb) {
  int j = get_global_id(0);
  int n0 = get_global_id(1) * FUSED_ROWS;
  if (j >= H || n0 >= N) {
    return;
  }
  float s[4][FUSED_ROWS]; // gate q's h·Rᵀ + bR for each row
  for (int q = 0; q < 4; q++) {
    fusedRowDots(W + offR + (q * H + j) * H, hIn + offH, H, n0, N, W[offBR + q * H + j], s[q]);
  }
  for (int i = 0; i < FUSED_ROWS && n0 + i < N; i++) {
    int n = n0 + i;
    int at = offH + n * H + j;
    int t = stepOf(k, len[n], reverse);
    if (t < 0) {
      hOut[at] = hIn[at];
      if (!accumulate) {
        Y[seqRow(k, n, T, N, batchFirst) * ldy + offY + j] = 0.0f;
      }
      continue;
    }
    __global const float* g = G + seqRow(t, n, T, N, batchFirst) * 4 * H;
    float cp = c[offC + n * H + j];
    float pi = g[j] + s[0][i];
    if (hasP) {
      pi += W[offP + j] * cp;
    }
    float ig = activate(fk, fa, fb, clipTo(pi, clip));
    float f;
    if (coupled) {
      f = 1.0f - ig;
    } else {
      float pf = g[H + j] + s[1][i];
      if (hasP) {
        pf += W[offP + H + j] * cp;
      }
      f = activate(fk, fa, fb, clipTo(pf, clip));
    }
    float gg = activate(gk, ga, gb, clipTo(g[2 * H + j] + s[2][i], clip));
    float cn = f * cp + ig * gg;
    float po = g[3 * H + j] + s[3][i];
    if (hasP) {
      po += W[offP + 2 * H + j] * cn;
    }
    float o = activate(fk, fa, fb, clipTo(po, clip));
    c[offC + n * H + j] = cn;
    float hn = o * activate(hk, ha, hb, cn);
    hOut[at] = hn;
    storeY(Y, seqRow(t, n, T, N, batchFirst) * ldy + offY + j, hn, accumulate);
  }
}

// GRU with the reset gate after the recurrent product (linearBeforeReset): gates z, r, n.
__kernel void gruLbrStepFused(int N, int H, int T, int k, int reverse, int batchFirst,
                              __global const int* len, __global const float* G,
                              __global const float* W, int offR, int offBR,
                              __global const float* hIn, __global float* hOut, int offH,
                              __global float* Y, int ldy, int offY, int accumulate, float clip,
                              int fk, float fa, float fb, int gk, float ga, float gb) {
  int j = get_global_id(0);
  int n0 = get_global_id(1) * FUSED_ROWS;
  if (j >= H || n0 >= N) {
    return;
  }
  float s[3][FUSED_ROWS];
  for (int q = 0; q < 3; q++) {
    fusedRowDots(W + offR + (q * H + j) * H, hIn + offH, H, n0, N, W[offBR + q * H + j], s[q]);
  }
  for (int i = 0; i < FUSED_ROWS && n0 + i < N; i++) {
    int n = n0 + i;
    int at = offH + n * H + j;
    int t = stepOf(k, len[n], reverse);
    if (t < 0) {
      hOut[at] = hIn[at];
      if (!accumulate) {
        Y[seqRow(k, n, T, N, batchFirst) * ldy + offY + j] = 0.0f;
      }
      continue;
    }
    __global const float* g = G + seqRow(t, n, T, N, batchFirst) * 3 * H;
    float z = activate(fk, fa, fb, clipTo(g[j] + s[0][i], clip));
    float rg = activate(fk, fa, fb, clipTo(g[H + j] + s[1][i], clip));
    float nv = activate(gk, ga, gb, clipTo(g[2 * H + j] + rg * s[2][i], clip));
    float hn = (1.0f - z) * nv + z * hIn[at];
    hOut[at] = hn;
    storeY(Y, seqRow(t, n, T, N, batchFirst) * ldy + offY + j, hn, accumulate);
  }
}

// Vanilla RNN: h = f(clip(x·Wᵀ + bW + h·Rᵀ + bR)).
__kernel void rnnStepFused(int N, int H, int T, int k, int reverse, int batchFirst,
                           __global const int* len, __global const float* G,
                           __global const float* W, int offR, int offBR,
                           __global const float* hIn, __global float* hOut, int offH,
                           __global float* Y, int ldy, int offY, int accumulate, float clip,
                           int fk, float fa, float fb) {
  int j = get_global_id(0);
  int n0 = get_global_id(1) * FUSED_ROWS;
  if (j >= H || n0 >= N) {
    return;
  }
  float s[FUSED_ROWS];
  fusedRowDots(W + offR + j * H, hIn + offH, H, n0, N, W[offBR + j], s);
  for (int i = 0; i < FUSED_ROWS && n0 + i < N; i++) {
    int n = n0 + i;
    int at = offH + n * H + j;
    int t = stepOf(k, len[n], reverse);
    if (t < 0) {
      hOut[at] = hIn[at];
      if (!accumulate) {
        Y[seqRow(k, n, T, N, batchFirst) * ldy + offY + j] = 0.0f;
      }
      continue;
    }
    float hn = activate(fk, fa, fb, clipTo(G[seqRow(t, n, T, N, batchFirst) * H + j] + s[i], clip));
    hOut[at] = hn;
    storeY(Y, seqRow(t, n, T, N, batchFirst) * ldy + offY + j, hn, accumulate);
  }
}
