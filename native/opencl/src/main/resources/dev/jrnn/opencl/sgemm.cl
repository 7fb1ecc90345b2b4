// C[m, n] (+)= Σ_k A[m, k] · B[n, k] (+ bias[n]): B is stored row-major [N, K] like the canonical
// W [G·H, I] and R [G·H, H], so this is X·Wᵀ without a transpose. flags: 1 add bias, 2 accumulate.
// Offsets and leading dimensions in floats.
#define GEMM_BIAS 1
#define GEMM_ACCUMULATE 2

// Tiled in local memory, TS×TS work-groups, one output per work-item: the input projection of all
// timesteps (M = T·N rows) in one launch, and linear layers.
__kernel __attribute__((reqd_work_group_size(TS, TS, 1)))
void sgemmNtTiled(int M, int N, int K,
                  __global const float* A, int offA, int lda,
                  __global const float* B, int offB, int ldb,
                  __global float* C, int offC, int ldc,
                  __global const float* bias, int offBias, int flags) {
  __local float As[TS][TS + 1];
  __local float Bs[TS][TS + 1];
  int tn = get_local_id(0);
  int tm = get_local_id(1);
  int n = get_group_id(0) * TS + tn;
  int m = get_group_id(1) * TS + tm;
  int nb = get_group_id(0) * TS + tm; // the B row this work-item loads
  float acc = 0.0f;
  for (int k0 = 0; k0 < K; k0 += TS) {
    int ka = k0 + tn;
    As[tm][tn] = (m < M && ka < K) ? A[offA + m * lda + ka] : 0.0f;
    Bs[tm][tn] = (nb < N && ka < K) ? B[offB + nb * ldb + ka] : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int k = 0; k < TS; k++) {
      acc = fma(As[tm][k], Bs[tn][k], acc);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (m < M && n < N) {
    if (flags & GEMM_BIAS) {
      acc += bias[offBias + n];
    }
    int at = offC + m * ldc + n;
    C[at] = (flags & GEMM_ACCUMULATE) ? C[at] + acc : acc;
  }
}

// Few rows (the per-step recurrent GEMM h·Rᵀ at small batch): one work-item per output column,
// looping over the M rows, so no work-item idles on a tile's empty rows.
__kernel void sgemmNtFewRows(int M, int N, int K,
                             __global const float* A, int offA, int lda,
                             __global const float* B, int offB, int ldb,
                             __global float* C, int offC, int ldc,
                             __global const float* bias, int offBias, int flags) {
  int n = get_global_id(0);
  if (n >= N) {
    return;
  }
  __global const float* b = B + offB + n * ldb;
  for (int m = 0; m < M; m++) {
    __global const float* a = A + offA + m * lda;
    float acc = 0.0f;
    for (int k = 0; k < K; k++) {
      acc = fma(a[k], b[k], acc);
    }
    if (flags & GEMM_BIAS) {
      acc += bias[offBias + n];
    }
    int at = offC + m * ldc + n;
    C[at] = (flags & GEMM_ACCUMULATE) ? C[at] + acc : acc;
  }
}

// Register-blocked, no local memory (CPU devices, where PoCL runs barriers of the tiled kernel as
// loops over the work-group): each work-item computes a 4×4 block of C from float4 loads along K of
// 4 rows of A and 4 rows of B, both contiguous, then reduces each accumulator's lanes once.
__kernel void sgemmNtBlocked(int M, int N, int K,
                             __global const float* A, int offA, int lda,
                             __global const float* B, int offB, int ldb,
                             __global float* C, int offC, int ldc,
                             __global const float* bias, int offBias, int flags) {
  int n0 = get_global_id(0) * 4;
  int m0 = get_global_id(1) * 4;
  if (n0 >= N || m0 >= M) {
    return;
  }
  __global const float* a[4];
  __global const float* b[4];
  for (int i = 0; i < 4; i++) {
    a[i] = A + offA + min(m0 + i, M - 1) * lda; // rows past the edge repeat the last, unused
    b[i] = B + offB + min(n0 + i, N - 1) * ldb;
  }
  float4 acc[4][4];
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < 4; j++) {
      acc[i][j] = (float4)(0.0f);
    }
  }
  int k = 0;
  for (; k + 4 <= K; k += 4) {
    float4 av[4];
    float4 bv[4];
    for (int i = 0; i < 4; i++) {
      av[i] = vload4(0, a[i] + k);
      bv[i] = vload4(0, b[i] + k);
    }
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 4; j++) {
        acc[i][j] = fma(av[i], bv[j], acc[i][j]);
      }
    }
  }
  for (int i = 0; i < 4 && m0 + i < M; i++) {
    for (int j = 0; j < 4 && n0 + j < N; j++) {
      float4 v = acc[i][j];
      float s = (v.x + v.y) + (v.z + v.w);
      for (int kk = k; kk < K; kk++) {
        s = fma(a[i][kk], b[j][kk], s);
      }
      if (flags & GEMM_BIAS) {
        s += bias[offBias + n0 + j];
      }
      int at = offC + (m0 + i) * ldc + n0 + j;
      C[at] = (flags & GEMM_ACCUMULATE) ? C[at] + s : s;
    }
  }
}
