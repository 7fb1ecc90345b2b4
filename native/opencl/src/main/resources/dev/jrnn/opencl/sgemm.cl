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
