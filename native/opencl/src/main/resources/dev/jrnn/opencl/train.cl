// Backward of the recurrent cells, one work-item per (hidden unit j, batch row n) for iteration k
// of one layer and direction, run from the last iteration to the first. The training forward kept,
// per layer and direction: G (the input projection, rows in the sequence's layout), HR per
// iteration ([T, N, G·H]: h·Rᵀ + bR, for GRU reset-first the n columns Rn·(r ⊙ h) + bRn), and the
// states before every iteration (Hs [T, N, Hout], Cs [T + 1, N, H]). Pre-activations are G + HR;
// the activations are recomputed from them, so the forward kernels stay as they are.
//
// Outputs per iteration: dG (pre-activation gradients, the x side) at the sequence row of (t, n),
// for dW, dbW and dX; dGk ([T, N, G·H], the recurrent side, zero rows for ended rows) for dR, dbR
// and the recurrent GEMM dh_{t−1} += dGk_t · R that the host runs after each kernel. dH [N, Hout]
// holds dh of this direction's state: the kernel adds this step's output gradient, and leaves the
// part of dh_{t−1} that does not go through R; a row past its length keeps it unchanged.

// d activate(kind, a, b, x) / dx, PyTorch's side at kinks (as Activation.derivative).
inline float dactivate(int kind, float a, float b, float x) {
  switch (kind) {
    case ACT_SIGMOID: {
      float s = 1.0f / (1.0f + exp(-x));
      return s * (1.0f - s);
    }
    case ACT_TANH: {
      float t = tanh(x);
      return 1.0f - t * t;
    }
    case ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case ACT_AFFINE: return a;
    case ACT_LEAKY_RELU: return x > 0.0f ? 1.0f : a;
    case ACT_THRESHOLDED_RELU: return x > a ? 1.0f : 0.0f;
    case ACT_SCALED_TANH: {
      float t = tanh(b * x);
      return a * b * (1.0f - t * t);
    }
    case ACT_HARD_SIGMOID: {
      float v = a * x + b;
      return v > 0.0f && v < 1.0f ? a : 0.0f;
    }
    case ACT_ELU: return x > 0.0f ? 1.0f : a * exp(x);
    case ACT_SOFTSIGN: {
      float d = 1.0f + fabs(x);
      return 1.0f / (d * d);
    }
    default: return x > 30.0f ? 1.0f : 1.0f / (1.0f + exp(-x));
  }
}

// The derivative through clip then activation: 0 where the clip holds the value.
inline float dclipped(int kind, float a, float b, float x, float clip) {
  if (clip > 0.0f && fabs(x) > clip) {
    return 0.0f;
  }
  return dactivate(kind, a, b, x);
}

// The gradient of this step's state output: dH plus the output gradient of (t, n) in dY's columns.
inline float stateGrad(__global const float* dH, int at, __global const float* dY, int t, int n,
                       int T, int N, int batchFirst, int ldy, int offY, int j) {
  return dH[at] + dY[seqRow(t, n, T, N, batchFirst) * ldy + offY + j];
}

// With an LSTM projection: dsum = dh + dy per iteration ([T, N, Pr], zero for ended rows), the A of
// dhraw = dsum · Wp and of dWp; dH is left 0 (h goes nowhere but through Wp).
__kernel void projectedStepBackward(int N, int Pr, int T, int k, int reverse, int batchFirst,
                                    __global const int* len, __global float* dH, int offH,
                                    __global const float* dY, int ldy, int offY,
                                    __global float* dsum) {
  int q = get_global_id(0);
  int n = get_global_id(1);
  if (q >= Pr || n >= N) {
    return;
  }
  int t = stepOf(k, len[n], reverse);
  int at = (k * N + n) * Pr + q;
  if (t < 0) {
    dsum[at] = 0.0f;
    return;
  }
  dsum[at] = stateGrad(dH, offH + n * Pr + q, dY, t, n, T, N, batchFirst, ldy, offY, q);
  dH[offH + n * Pr + q] = 0.0f;
}

// LSTM i, f, g, o. dh from dH + dY, or (project) from dhraw [N, H]; dC [N, H] in place: dc_t in,
// dc_{t−1} out. hraw [T, N, H] gets o ⊙ h(c_t) for dWp; dPs [N, 3H] sums the peephole gradients.
__kernel void lstmBackward(int N, int H, int T, int k, int reverse, int batchFirst,
                           __global const int* len,
                           __global const float* G, __global const float* HR,
                           __global const float* Cs, int offC,
                           __global float* dH, int offH, __global float* dC, int offDC,
                           __global const float* dY, int ldy, int offY,
                           int project, __global const float* dhraw, __global float* hraw,
                           __global const float* P, int offP, int hasP, int coupled,
                           __global float* dPs, float clip,
                           int fk, float fa, float fb, int gk, float ga, float gb,
                           int hk, float ha, float hb,
                           __global float* dG, __global float* dGk) {
  int j = get_global_id(0);
  int n = get_global_id(1);
  if (j >= H || n >= N) {
    return;
  }
  int t = stepOf(k, len[n], reverse);
  __global float* kq = dGk + (k * N + n) * 4 * H;
  if (t < 0) {
    kq[j] = 0.0f;
    kq[H + j] = 0.0f;
    kq[2 * H + j] = 0.0f;
    kq[3 * H + j] = 0.0f;
    if (project) {
      hraw[(k * N + n) * H + j] = 0.0f;
    }
    return;
  }
  __global const float* g = G + seqRow(t, n, T, N, batchFirst) * 4 * H;
  __global const float* r = HR + (k * N + n) * 4 * H;
  float cp = Cs[offC + (k * N + n) * H + j];
  float cn = Cs[offC + ((k + 1) * N + n) * H + j];
  float pi = g[j] + r[j];
  float pf = g[H + j] + r[H + j];
  float pg = g[2 * H + j] + r[2 * H + j];
  float po = g[3 * H + j] + r[3 * H + j];
  if (hasP) {
    pi += P[offP + j] * cp;
    pf += P[offP + H + j] * cp;
    po += P[offP + 2 * H + j] * cn;
  }
  float i = activate(fk, fa, fb, clipTo(pi, clip));
  float f = coupled ? 1.0f - i : activate(fk, fa, fb, clipTo(pf, clip));
  float gg = activate(gk, ga, gb, clipTo(pg, clip));
  float o = activate(fk, fa, fb, clipTo(po, clip));
  float hc = activate(hk, ha, hb, cn);
  float dh;
  if (project) {
    dh = dhraw[n * H + j];
    hraw[(k * N + n) * H + j] = o * hc;
  } else {
    dh = stateGrad(dH, offH + n * H + j, dY, t, n, T, N, batchFirst, ldy, offY, j);
    dH[offH + n * H + j] = 0.0f;
  }
  float dpo = dh * hc * dclipped(fk, fa, fb, po, clip);
  float dc = dC[offDC + n * H + j] + dh * o * dactivate(hk, ha, hb, cn);
  if (hasP) {
    dc += dpo * P[offP + 2 * H + j];
  }
  float di = dc * gg;
  float dpf = 0.0f;
  if (coupled) {
    di -= dc * cp; // f = 1 − i
  } else {
    dpf = dc * cp * dclipped(fk, fa, fb, pf, clip);
  }
  float dpi = di * dclipped(fk, fa, fb, pi, clip);
  float dpg = dc * i * dclipped(gk, ga, gb, pg, clip);
  float dcp = dc * f;
  if (hasP) {
    dcp += dpi * P[offP + j] + dpf * P[offP + H + j];
    __global float* dp = dPs + n * 3 * H;
    dp[j] += dpi * cp;
    dp[H + j] += dpf * cp;
    dp[2 * H + j] += dpo * cn;
  }
  dC[offDC + n * H + j] = dcp;
  __global float* d = dG + seqRow(t, n, T, N, batchFirst) * 4 * H;
  d[j] = kq[j] = dpi;
  d[H + j] = kq[H + j] = dpf;
  d[2 * H + j] = kq[2 * H + j] = dpg;
  d[3 * H + j] = kq[3 * H + j] = dpo;
}

// GRU z, r, n with linear-before-reset: n = g(xn + r ⊙ hn), hn = HR's n columns (Rn·h + bRn).
// dGk's n columns get dn ⊙ r (what reaches Rn, bRn and h); dG's get dn.
__kernel void gruBackwardLbr(int N, int H, int T, int k, int reverse, int batchFirst,
                             __global const int* len,
                             __global const float* G, __global const float* HR,
                             __global const float* Hs, int offHs,
                             __global float* dH, int offH,
                             __global const float* dY, int ldy, int offY, float clip,
                             int fk, float fa, float fb, int gk, float ga, float gb,
                             __global float* dG, __global float* dGk) {
  int j = get_global_id(0);
  int n = get_global_id(1);
  if (j >= H || n >= N) {
    return;
  }
  int t = stepOf(k, len[n], reverse);
  __global float* q = dGk + (k * N + n) * 3 * H;
  if (t < 0) {
    q[j] = 0.0f;
    q[H + j] = 0.0f;
    q[2 * H + j] = 0.0f;
    return;
  }
  __global const float* g = G + seqRow(t, n, T, N, batchFirst) * 3 * H;
  __global const float* r = HR + (k * N + n) * 3 * H;
  float pz = g[j] + r[j];
  float pr = g[H + j] + r[H + j];
  float z = activate(fk, fa, fb, clipTo(pz, clip));
  float rg = activate(fk, fa, fb, clipTo(pr, clip));
  float hn = r[2 * H + j];
  float pn = g[2 * H + j] + rg * hn;
  float nv = activate(gk, ga, gb, clipTo(pn, clip));
  float hp = Hs[offHs + (k * N + n) * H + j];
  float dh = stateGrad(dH, offH + n * H + j, dY, t, n, T, N, batchFirst, ldy, offY, j);
  float dpn = dh * (1.0f - z) * dclipped(gk, ga, gb, pn, clip);
  float dpz = dh * (hp - nv) * dclipped(fk, fa, fb, pz, clip);
  float dpr = dpn * hn * dclipped(fk, fa, fb, pr, clip);
  dH[offH + n * H + j] = dh * z;
  __global float* d = dG + seqRow(t, n, T, N, batchFirst) * 3 * H;
  d[j] = q[j] = dpz;
  d[H + j] = q[H + j] = dpr;
  d[2 * H + j] = dpn;
  q[2 * H + j] = dpn * rg;
}

// GRU with the reset gate before the product, first half: dz and dn (written to dG and dGk); dH
// gets dh ⊙ z. The host then forms drh = dn · Rn ([N, H]) for gruBackwardResetFirstR.
__kernel void gruBackwardResetFirstN(int N, int H, int T, int k, int reverse, int batchFirst,
                                     __global const int* len,
                                     __global const float* G, __global const float* HR,
                                     __global const float* Hs, int offHs,
                                     __global float* dH, int offH,
                                     __global const float* dY, int ldy, int offY, float clip,
                                     int fk, float fa, float fb, int gk, float ga, float gb,
                                     __global float* dG, __global float* dGk) {
  int j = get_global_id(0);
  int n = get_global_id(1);
  if (j >= H || n >= N) {
    return;
  }
  int t = stepOf(k, len[n], reverse);
  __global float* q = dGk + (k * N + n) * 3 * H;
  if (t < 0) {
    q[j] = 0.0f;
    q[H + j] = 0.0f;
    q[2 * H + j] = 0.0f;
    return;
  }
  __global const float* g = G + seqRow(t, n, T, N, batchFirst) * 3 * H;
  __global const float* r = HR + (k * N + n) * 3 * H;
  float pz = g[j] + r[j];
  float z = activate(fk, fa, fb, clipTo(pz, clip));
  float pn = g[2 * H + j] + r[2 * H + j];
  float nv = activate(gk, ga, gb, clipTo(pn, clip));
  float hp = Hs[offHs + (k * N + n) * H + j];
  float dh = stateGrad(dH, offH + n * H + j, dY, t, n, T, N, batchFirst, ldy, offY, j);
  float dpn = dh * (1.0f - z) * dclipped(gk, ga, gb, pn, clip);
  float dpz = dh * (hp - nv) * dclipped(fk, fa, fb, pz, clip);
  dH[offH + n * H + j] = dh * z;
  __global float* d = dG + seqRow(t, n, T, N, batchFirst) * 3 * H;
  d[j] = q[j] = dpz;
  d[2 * H + j] = q[2 * H + j] = dpn;
}

// Second half: dr from drh = dn · Rn; dH += drh ⊙ r; rh [T, N, H] gets r ⊙ h_{t−1} for dRn.
__kernel void gruBackwardResetFirstR(int N, int H, int T, int k, int reverse, int batchFirst,
                                     __global const int* len,
                                     __global const float* G, __global const float* HR,
                                     __global const float* Hs, int offHs,
                                     __global float* dH, int offH,
                                     __global const float* drh, __global float* rh, float clip,
                                     int fk, float fa, float fb,
                                     __global float* dG, __global float* dGk) {
  int j = get_global_id(0);
  int n = get_global_id(1);
  if (j >= H || n >= N) {
    return;
  }
  int t = stepOf(k, len[n], reverse);
  int at = (k * N + n) * H + j;
  if (t < 0) {
    rh[at] = 0.0f;
    return;
  }
  __global const float* g = G + seqRow(t, n, T, N, batchFirst) * 3 * H;
  __global const float* r = HR + (k * N + n) * 3 * H;
  float pr = g[H + j] + r[H + j];
  float rg = activate(fk, fa, fb, clipTo(pr, clip));
  float hp = Hs[offHs + at];
  float d = drh[n * H + j];
  float dpr = d * hp * dclipped(fk, fa, fb, pr, clip);
  rh[at] = rg * hp;
  dH[offH + n * H + j] += d * rg;
  dG[seqRow(t, n, T, N, batchFirst) * 3 * H + H + j] = dpr;
  dGk[(k * N + n) * 3 * H + H + j] = dpr;
}

// Vanilla RNN: dpre = dh ⊙ f'(clip(G + HR)).
__kernel void rnnBackward(int N, int H, int T, int k, int reverse, int batchFirst,
                          __global const int* len,
                          __global const float* G, __global const float* HR,
                          __global float* dH, int offH,
                          __global const float* dY, int ldy, int offY, float clip,
                          int fk, float fa, float fb,
                          __global float* dG, __global float* dGk) {
  int j = get_global_id(0);
  int n = get_global_id(1);
  if (j >= H || n >= N) {
    return;
  }
  int t = stepOf(k, len[n], reverse);
  if (t < 0) {
    dGk[(k * N + n) * H + j] = 0.0f;
    return;
  }
  int row = seqRow(t, n, T, N, batchFirst);
  float pre = G[row * H + j] + HR[(k * N + n) * H + j];
  float dh = stateGrad(dH, offH + n * H + j, dY, t, n, T, N, batchFirst, ldy, offY, j);
  float dp = dh * dclipped(fk, fa, fb, pre, clip);
  dH[offH + n * H + j] = 0.0f;
  dG[row * H + j] = dp;
  dGk[(k * N + n) * H + j] = dp;
}

// out [C, R] = in [R, C]ᵀ (in's row stride ld): the all-steps operands of the weight gradients.
// Work-items along R write contiguously (on PoCL 2048×1024 took 19 ms reading contiguously).
__kernel void transpose(int R, int C, __global const float* in, int offIn, int ld,
                        __global float* out) {
  int r = get_global_id(0);
  int c = get_global_id(1);
  if (c < C && r < R) {
    out[c * R + r] = in[offIn + r * ld + c];
  }
}

// out[j] = Σ_r A[j·ld + r], r < R: bias gradients from the transposed dG, each sum contiguous.
__kernel void rowSums(int R, int C, __global const float* A, int ld, __global float* out) {
  int j = get_global_id(0);
  if (j >= C) {
    return;
  }
  __global const float* a = A + j * ld;
  float s = 0.0f;
  for (int r = 0; r < R; r++) {
    s += a[r];
  }
  out[j] = s;
}

// out[j] = Σ_r A[r·ld + j], r < R: bias gradients over all steps, peephole sums over the batch.
__kernel void columnSums(int R, int C, __global const float* A, int ld, __global float* out) {
  int j = get_global_id(0);
  if (j >= C) {
    return;
  }
  float s = 0.0f;
  for (int r = 0; r < R; r++) {
    s += A[r * ld + j];
  }
  out[j] = s;
}

// Backward of an element-wise activation: dx = dy ⊙ f'(x).
__kernel void unaryBackward(int n, int kind, float a, float b, __global const float* x,
                            __global const float* dy, __global float* dx) {
  int i = get_global_id(0);
  if (i < n) {
    dx[i] = dy[i] * dactivate(kind, a, b, x[i]);
  }
}

// Backward of an embedding gather without atomics: the host groups the positions by id (row u of
// the U distinct ids owns positions pos[start[u] .. start[u + 1])); each work-item sums one column
// of one id's rows of dy in position order, so the result does not depend on scheduling.
__kernel void embeddingBackward(int U, int dim, __global const int* start,
                                __global const int* pos, __global const float* dy,
                                __global float* out) {
  int d = get_global_id(0);
  int u = get_global_id(1);
  if (d >= dim || u >= U) {
    return;
  }
  float s = 0.0f;
  for (int p = start[u]; p < start[u + 1]; p++) {
    s += dy[pos[p] * dim + d];
  }
  out[u * dim + d] = s;
}
