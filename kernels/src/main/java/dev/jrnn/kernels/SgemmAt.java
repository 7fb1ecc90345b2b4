package dev.jrnn.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The weight-gradient product {@code C (+)= Aᵀ·B} over a long inner dimension (time × batch):
 * {@code A [K, M]} is read in place, a 6-column strip broadcast element by element (the six floats
 * of one row of A share a cache line), {@code B [K, N]} is packed per call into the column panels
 * of {@link Sgemm} ({@link #pack}), and the register tile is {@link Sgemm}'s: 6 rows of C × {@link
 * Sgemm#NV} vectors. K is walked in blocks of {@link #KC} so a block of B's panel stays in L1 while
 * every 6-row strip of C passes over it.
 *
 * <p>Every element of C is one fused multiply-add chain in k order, starting from 0 or from C: the
 * same bits whatever the split of M or N among threads, the block size, or the tier; the scalar
 * twin ({@code -Djrnn.vectorBits=0}) runs the same chain.
 */
public final class SgemmAt {

  private static final VectorSpecies<Float> S = Simd.F;
  private static final int VL = Simd.BW;
  private static final int NR = Sgemm.NR;
  private static final int NV = Sgemm.NV;

  /** Columns of C (rows of A's transpose) per register tile. */
  public static final int MR = 6;

  /** Rows of B per block: a panel block of {@code KC × NR} floats is 32 KiB at 512 bits. */
  static final int KC = 128;

  private SgemmAt() {}

  /** Column panels of a packed {@code B [k, n]}. */
  public static int panels(int n) {
    return (n + NR - 1) / NR;
  }

  /** Floats a packed {@code B [k, n]} takes. */
  public static long packedSize(int k, int n) {
    return (long) panels(n) * k * NR;
  }

  /**
   * Packs rows {@code [k0, k1)} of the row-major {@code B [k, n]} at {@code b[bOff + row·ldb]} into
   * {@code dst}: panel {@code p} holds {@code [k][NR]} at {@code p·k·NR}; columns past {@code n}
   * are zero. Threads may pack disjoint row ranges of one B at once.
   */
  public static void pack(float[] b, int bOff, int ldb, int n, int k, int k0, int k1, float[] dst) {
    int panels = panels(n);
    for (int p = 0; p < panels; p++) {
      int col = p * NR;
      int w = Math.min(NR, n - col);
      for (int kk = k0; kk < k1; kk++) {
        int d = (p * k + kk) * NR;
        System.arraycopy(b, bOff + kk * ldb + col, dst, d, w);
        if (w < NR) {
          java.util.Arrays.fill(dst, d + w, d + NR, 0f);
        }
      }
    }
  }

  /** Rows of A per block when packing it. */
  private static final int PACK_ROWS = 64;

  /** Floats a packed {@code A [k, m]} takes: whole strips of {@link #MR} columns. */
  public static long packedASize(int k, int m) {
    return (long) ((m + MR - 1) / MR) * MR * k;
  }

  /**
   * Packs columns {@code [m0, m1)} ({@code m0} a multiple of {@link #MR}) of the row-major {@code A
   * [k, *]} at {@code a[aOff + kk·lda + col]} into {@code dst}: strip {@code s} (columns {@code
   * 6s…6s+5}) holds {@code [k][6]} at {@code s·6·k}; columns past {@code m} are zero. Threads may
   * pack disjoint strips of one A at once.
   */
  public static void packA(
      float[] a, int aOff, int lda, int m, int k, int m0, int m1, float[] dst) {
    packA(a, aOff, lda, m, k, m0, m1, 0, k, dst);
  }

  /**
   * {@link #packA} for rows {@code [k0, k1)} of A only (row {@code kk} at {@code a[aOff +
   * kk·lda]}): threads, or the steps of a recurrence, may pack disjoint rows of one A.
   */
  public static void packA(
      float[] a, int aOff, int lda, int m, int k, int m0, int m1, int k0, int k1, float[] dst) {
    int s0 = m0 / MR;
    int end = Math.min(m1, m);
    int full = s0 + Math.max(0, end - s0 * MR) / MR; // strips with six real columns
    int s1 = (end + MR - 1) / MR;
    // Blocks of rows: a block of A stays in L2 while each strip takes its six columns, and every
    // strip is written in a run (row-by-row over all strips measured 7 ns a float: a page per
    // store).
    for (int kb = k0; kb < k1; kb += PACK_ROWS) {
      int ke = Math.min(k1, kb + PACK_ROWS);
      for (int s = s0; s < full; s++) {
        int from = aOff + kb * lda + s * MR;
        int d = (s * k + kb) * MR;
        for (int kk = kb; kk < ke; kk++, from += lda, d += MR) {
          dst[d] = a[from];
          dst[d + 1] = a[from + 1];
          dst[d + 2] = a[from + 2];
          dst[d + 3] = a[from + 3];
          dst[d + 4] = a[from + 4];
          dst[d + 5] = a[from + 5];
        }
      }
      for (int s = full; s < s1; s++) {
        for (int kk = kb; kk < ke; kk++) {
          int d = (s * k + kk) * MR;
          for (int r = 0; r < MR; r++) {
            int col = s * MR + r;
            dst[d + r] = col < m ? a[aOff + kk * lda + col] : 0f;
          }
        }
      }
    }
  }

  /**
   * {@code C[m, p·NR + j] (+)= Σ_{kk<k} A[kk, m] · B[kk, p·NR + j]} for {@code m ∈ [m0, m1)}
   * ({@code m0} a multiple of {@link #MR}) and panels {@code [p0, p1)}, with A packed by {@link
   * #packA} and B by {@link #pack}, both of depth {@code k}. {@code C[m, j]} is {@code c[cOff +
   * m·ldc + j]}, whole panels written. {@code accumulate}: add to C, else overwrite it.
   */
  public static void gemm(
      int m0,
      int m1,
      float[] ap,
      int k,
      float[] bp,
      int p0,
      int p1,
      float[] c,
      int cOff,
      int ldc,
      boolean accumulate) {
    if (!Simd.VECTOR) {
      gemmScalar(m0, m1, ap, k, bp, p0, p1, c, cOff, ldc, accumulate);
      return;
    }
    // strip m / MR starts at (m / MR)·k·MR; its column kk at + kk·MR
    blocks(m0, m1, ap, m0 / MR * k * MR, k * MR, MR, k, bp, p0, p1, c, cOff, ldc, accumulate);
  }

  /** Scalar twin of {@link #gemm}: the same fused multiply-add chain per element. */
  public static void gemmScalar(
      int m0,
      int m1,
      float[] ap,
      int k,
      float[] bp,
      int p0,
      int p1,
      float[] c,
      int cOff,
      int ldc,
      boolean accumulate) {
    for (int p = p0; p < p1; p++) {
      for (int m = m0; m < m1; m++) {
        int co = cOff + m * ldc + p * NR;
        int ao = m / MR * k * MR + m % MR;
        for (int j = 0; j < NR; j++) {
          float acc = accumulate ? c[co + j] : 0f;
          for (int kk = 0; kk < k; kk++) {
            acc = Math.fma(ap[ao + kk * MR], bp[(p * k + kk) * NR + j], acc);
          }
          c[co + j] = acc;
        }
      }
    }
  }

  /**
   * {@code C[m, p·NR + j] (+)= Σ_{kk<k} A[kk, m] · B[kk, p·NR + j]} for {@code m ∈ [m0, m1)} and
   * panels {@code [p0, p1)} of a B of depth {@code k} packed by {@link #pack}. {@code A[kk, m]} is
   * {@code a[aOff + kk·lda + m]}; {@code C[m, j]} is {@code c[cOff + m·ldc + j]}, whole panels
   * written. {@code accumulate}: add to C, else overwrite it. A read in place: no packing, but
   * about 0.7× the speed of the packed form on long K (see the class comment).
   */
  public static void gemm(
      int m0,
      int m1,
      float[] a,
      int aOff,
      int lda,
      int k,
      float[] bp,
      int p0,
      int p1,
      float[] c,
      int cOff,
      int ldc,
      boolean accumulate) {
    if (!Simd.VECTOR) {
      gemmScalar(m0, m1, a, aOff, lda, k, bp, p0, p1, c, cOff, ldc, accumulate);
      return;
    }
    blocks(m0, m1, a, aOff + m0, MR, lda, k, bp, p0, p1, c, cOff, ldc, accumulate);
  }

  /**
   * The vector driver of both forms: blocks of {@link #KC} depth, panels, strips of {@link #MR}
   * columns of A; strip {@code i} (from {@code m0}) starts at {@code a0 + i·strip} and its column
   * {@code kk} at {@code + kk·lda}.
   */
  private static void blocks(
      int m0,
      int m1,
      float[] a,
      int a0,
      int strip,
      int lda,
      int k,
      float[] bp,
      int p0,
      int p1,
      float[] c,
      int cOff,
      int ldc,
      boolean accumulate) {
    if (k == 0) {
      if (!accumulate) {
        for (int m = m0; m < m1; m++) {
          java.util.Arrays.fill(c, cOff + m * ldc + p0 * NR, cOff + m * ldc + p1 * NR, 0f);
        }
      }
      return;
    }
    for (int kb = 0; kb < k; kb += KC) {
      int kn = Math.min(KC, k - kb);
      boolean acc = accumulate || kb > 0;
      for (int p = p0; p < p1; p++) {
        int bo = (p * k + kb) * NR;
        for (int m = m0; m < m1; m += MR) {
          int rows = Math.min(MR, m1 - m);
          int ao = a0 + (m - m0) / MR * strip + kb * lda;
          int co = cOff + m * ldc + p * NR;
          if (NV == 4) {
            tile6x4(a, ao, lda, rows, bp, bo, kn, c, co, ldc, acc);
          } else {
            tile6x2(a, ao, lda, rows, bp, bo, kn, c, co, ldc, acc);
          }
        }
      }
    }
  }

  /** Scalar twin of the in-place {@link #gemm}. */
  public static void gemmScalar(
      int m0,
      int m1,
      float[] a,
      int aOff,
      int lda,
      int k,
      float[] bp,
      int p0,
      int p1,
      float[] c,
      int cOff,
      int ldc,
      boolean accumulate) {
    for (int p = p0; p < p1; p++) {
      for (int m = m0; m < m1; m++) {
        int co = cOff + m * ldc + p * NR;
        for (int j = 0; j < NR; j++) {
          float acc = accumulate ? c[co + j] : 0f;
          for (int kk = 0; kk < k; kk++) {
            acc = Math.fma(a[aOff + kk * lda + m], bp[(p * k + kk) * NR + j], acc);
          }
          c[co + j] = acc;
        }
      }
    }
  }

  // Rows of C past `rows` come from the strip's zero padding and are not stored. Every vector
  // stays inside its method (see Sgemm).

  // The 6-row kernels read A at a column stride (MR for a packed strip, lda in place); rows past
  // `rows` read the last valid column (harmless in a packed strip, whose padding they would read),
  // and only `rows` rows of C are written.

  private static void tile6x4(
      float[] a,
      int ao,
      int lda,
      int rows,
      float[] b,
      int bo,
      int k,
      float[] c,
      int co,
      int ldc,
      boolean acc) {
    int a1 = Math.min(1, rows - 1);
    int a2 = Math.min(2, rows - 1);
    int a3 = Math.min(3, rows - 1);
    int a4 = Math.min(4, rows - 1);
    int a5 = Math.min(5, rows - 1);
    int o1 = co + a1 * ldc;
    int o2 = co + a2 * ldc;
    int o3 = co + a3 * ldc;
    int o4 = co + a4 * ldc;
    int o5 = co + a5 * ldc;
    FloatVector c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23;
    FloatVector c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53;
    if (acc) {
      c00 = FloatVector.fromArray(S, c, co);
      c01 = FloatVector.fromArray(S, c, co + VL);
      c02 = FloatVector.fromArray(S, c, co + 2 * VL);
      c03 = FloatVector.fromArray(S, c, co + 3 * VL);
      c10 = FloatVector.fromArray(S, c, o1);
      c11 = FloatVector.fromArray(S, c, o1 + VL);
      c12 = FloatVector.fromArray(S, c, o1 + 2 * VL);
      c13 = FloatVector.fromArray(S, c, o1 + 3 * VL);
      c20 = FloatVector.fromArray(S, c, o2);
      c21 = FloatVector.fromArray(S, c, o2 + VL);
      c22 = FloatVector.fromArray(S, c, o2 + 2 * VL);
      c23 = FloatVector.fromArray(S, c, o2 + 3 * VL);
      c30 = FloatVector.fromArray(S, c, o3);
      c31 = FloatVector.fromArray(S, c, o3 + VL);
      c32 = FloatVector.fromArray(S, c, o3 + 2 * VL);
      c33 = FloatVector.fromArray(S, c, o3 + 3 * VL);
      c40 = FloatVector.fromArray(S, c, o4);
      c41 = FloatVector.fromArray(S, c, o4 + VL);
      c42 = FloatVector.fromArray(S, c, o4 + 2 * VL);
      c43 = FloatVector.fromArray(S, c, o4 + 3 * VL);
      c50 = FloatVector.fromArray(S, c, o5);
      c51 = FloatVector.fromArray(S, c, o5 + VL);
      c52 = FloatVector.fromArray(S, c, o5 + 2 * VL);
      c53 = FloatVector.fromArray(S, c, o5 + 3 * VL);
    } else {
      c00 = FloatVector.zero(S);
      c01 = c00;
      c02 = c00;
      c03 = c00;
      c10 = c00;
      c11 = c00;
      c12 = c00;
      c13 = c00;
      c20 = c00;
      c21 = c00;
      c22 = c00;
      c23 = c00;
      c30 = c00;
      c31 = c00;
      c32 = c00;
      c33 = c00;
      c40 = c00;
      c41 = c00;
      c42 = c00;
      c43 = c00;
      c50 = c00;
      c51 = c00;
      c52 = c00;
      c53 = c00;
    }
    for (int kk = 0; kk < k; kk++) {
      int bk = bo + kk * 4 * VL;
      int ak = ao + kk * lda;
      FloatVector b0 = FloatVector.fromArray(S, b, bk);
      FloatVector b1 = FloatVector.fromArray(S, b, bk + VL);
      FloatVector b2 = FloatVector.fromArray(S, b, bk + 2 * VL);
      FloatVector b3 = FloatVector.fromArray(S, b, bk + 3 * VL);
      FloatVector x = FloatVector.broadcast(S, a[ak]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      c02 = b2.fma(x, c02);
      c03 = b3.fma(x, c03);
      x = FloatVector.broadcast(S, a[ak + a1]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      c12 = b2.fma(x, c12);
      c13 = b3.fma(x, c13);
      x = FloatVector.broadcast(S, a[ak + a2]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      c22 = b2.fma(x, c22);
      c23 = b3.fma(x, c23);
      x = FloatVector.broadcast(S, a[ak + a3]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
      c32 = b2.fma(x, c32);
      c33 = b3.fma(x, c33);
      x = FloatVector.broadcast(S, a[ak + a4]);
      c40 = b0.fma(x, c40);
      c41 = b1.fma(x, c41);
      c42 = b2.fma(x, c42);
      c43 = b3.fma(x, c43);
      x = FloatVector.broadcast(S, a[ak + a5]);
      c50 = b0.fma(x, c50);
      c51 = b1.fma(x, c51);
      c52 = b2.fma(x, c52);
      c53 = b3.fma(x, c53);
    }
    c00.intoArray(c, co);
    c01.intoArray(c, co + VL);
    c02.intoArray(c, co + 2 * VL);
    c03.intoArray(c, co + 3 * VL);
    if (rows > 1) {
      c10.intoArray(c, o1);
      c11.intoArray(c, o1 + VL);
      c12.intoArray(c, o1 + 2 * VL);
      c13.intoArray(c, o1 + 3 * VL);
    }
    if (rows > 2) {
      c20.intoArray(c, o2);
      c21.intoArray(c, o2 + VL);
      c22.intoArray(c, o2 + 2 * VL);
      c23.intoArray(c, o2 + 3 * VL);
    }
    if (rows > 3) {
      c30.intoArray(c, o3);
      c31.intoArray(c, o3 + VL);
      c32.intoArray(c, o3 + 2 * VL);
      c33.intoArray(c, o3 + 3 * VL);
    }
    if (rows > 4) {
      c40.intoArray(c, o4);
      c41.intoArray(c, o4 + VL);
      c42.intoArray(c, o4 + 2 * VL);
      c43.intoArray(c, o4 + 3 * VL);
    }
    if (rows > 5) {
      c50.intoArray(c, o5);
      c51.intoArray(c, o5 + VL);
      c52.intoArray(c, o5 + 2 * VL);
      c53.intoArray(c, o5 + 3 * VL);
    }
  }

  private static void tile6x2(
      float[] a,
      int ao,
      int lda,
      int rows,
      float[] b,
      int bo,
      int k,
      float[] c,
      int co,
      int ldc,
      boolean acc) {
    int a1 = Math.min(1, rows - 1);
    int a2 = Math.min(2, rows - 1);
    int a3 = Math.min(3, rows - 1);
    int a4 = Math.min(4, rows - 1);
    int a5 = Math.min(5, rows - 1);
    int o1 = co + a1 * ldc;
    int o2 = co + a2 * ldc;
    int o3 = co + a3 * ldc;
    int o4 = co + a4 * ldc;
    int o5 = co + a5 * ldc;
    FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (acc) {
      c00 = FloatVector.fromArray(S, c, co);
      c01 = FloatVector.fromArray(S, c, co + VL);
      c10 = FloatVector.fromArray(S, c, o1);
      c11 = FloatVector.fromArray(S, c, o1 + VL);
      c20 = FloatVector.fromArray(S, c, o2);
      c21 = FloatVector.fromArray(S, c, o2 + VL);
      c30 = FloatVector.fromArray(S, c, o3);
      c31 = FloatVector.fromArray(S, c, o3 + VL);
      c40 = FloatVector.fromArray(S, c, o4);
      c41 = FloatVector.fromArray(S, c, o4 + VL);
      c50 = FloatVector.fromArray(S, c, o5);
      c51 = FloatVector.fromArray(S, c, o5 + VL);
    } else {
      c00 = FloatVector.zero(S);
      c01 = c00;
      c10 = c00;
      c11 = c00;
      c20 = c00;
      c21 = c00;
      c30 = c00;
      c31 = c00;
      c40 = c00;
      c41 = c00;
      c50 = c00;
      c51 = c00;
    }
    for (int kk = 0; kk < k; kk++) {
      int bk = bo + kk * 2 * VL;
      int ak = ao + kk * lda;
      FloatVector b0 = FloatVector.fromArray(S, b, bk);
      FloatVector b1 = FloatVector.fromArray(S, b, bk + VL);
      FloatVector x = FloatVector.broadcast(S, a[ak]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      x = FloatVector.broadcast(S, a[ak + a1]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      x = FloatVector.broadcast(S, a[ak + a2]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      x = FloatVector.broadcast(S, a[ak + a3]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
      x = FloatVector.broadcast(S, a[ak + a4]);
      c40 = b0.fma(x, c40);
      c41 = b1.fma(x, c41);
      x = FloatVector.broadcast(S, a[ak + a5]);
      c50 = b0.fma(x, c50);
      c51 = b1.fma(x, c51);
    }
    c00.intoArray(c, co);
    c01.intoArray(c, co + VL);
    if (rows > 1) {
      c10.intoArray(c, o1);
      c11.intoArray(c, o1 + VL);
    }
    if (rows > 2) {
      c20.intoArray(c, o2);
      c21.intoArray(c, o2 + VL);
    }
    if (rows > 3) {
      c30.intoArray(c, o3);
      c31.intoArray(c, o3 + VL);
    }
    if (rows > 4) {
      c40.intoArray(c, o4);
      c41.intoArray(c, o4 + VL);
    }
    if (rows > 5) {
      c50.intoArray(c, o5);
      c51.intoArray(c, o5 + VL);
    }
  }
}
