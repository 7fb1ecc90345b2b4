package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The weight-gradient product {@code C (+)= Aᵀ·B} against the sum in double, against its scalar
 * twin and its in-place form bit for bit, and split any way over M, N and packing threads with the
 * same bits; shapes with tails everywhere (M not a multiple of 6, N of a panel, K of the block).
 */
class SgemmAtTest {

  static final int NR = Sgemm.NR;

  /** C[m][j] = Σ A[kk][m]·B[kk][j] in double, plus C0 when accumulating. */
  static double[] exact(float[] a, int aOff, int lda, float[] b, int ldb, int k, int m, int n) {
    double[] c = new double[m * n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int kk = 0; kk < k; kk++) {
          s += (double) a[aOff + kk * lda + i] * b[kk * ldb + j];
        }
        c[i * n + j] = s;
      }
    }
    return c;
  }

  static float[] packAllA(float[] a, int aOff, int lda, int m, int k) {
    float[] p = new float[(int) SgemmAt.packedASize(k, m)];
    SgemmAt.packA(a, aOff, lda, m, k, 0, m, p);
    return p;
  }

  static float[] packAll(float[] b, int ldb, int n, int k) {
    float[] p = new float[(int) SgemmAt.packedSize(k, n)];
    SgemmAt.pack(b, 0, ldb, n, k, 0, k, p);
    return p;
  }

  @Test
  void matchesDoubleAndTwin() {
    for (int[] s : new int[][] {{1, 1, 1}, {7, 13, 3}, {300, 37, NR + 5}, {257, 6, 2 * NR}}) {
      int k = s[0];
      int m = s[1];
      int n = s[2];
      SplittableRandom r = new SplittableRandom(k * 31L + m);
      int lda = m + 5;
      int aOff = 3;
      int ldb = n + 2;
      float[] a = Ref.random(r, aOff + k * lda, 1);
      float[] b = Ref.random(r, k * ldb, 1);
      float[] bp = packAll(b, ldb, n, k);
      float[] ap = packAllA(a, aOff, lda, m, k);
      int panels = SgemmAt.panels(n);
      int ldc = panels * NR + 3;
      for (boolean acc : new boolean[] {false, true}) {
        float[] c0 = Ref.random(r, 2 + m * ldc, 1);
        float[] cv = c0.clone();
        float[] cs = c0.clone();
        SgemmAt.gemm(0, m, ap, k, bp, 0, panels, cv, 2, ldc, acc);
        SgemmAt.gemmScalar(0, m, ap, k, bp, 0, panels, cs, 2, ldc, acc);
        String what = "k=" + k + " m=" + m + " n=" + n + " acc=" + acc;
        Ref.assertSameBits(cs, cv, what);
        float[] ci = c0.clone(); // A read in place: the same chains, the same bits
        SgemmAt.gemm(0, m, a, aOff, lda, k, bp, 0, panels, ci, 2, ldc, acc);
        Ref.assertSameBits(cv, ci, what + " in place");
        float[] cis = c0.clone();
        SgemmAt.gemmScalar(0, m, a, aOff, lda, k, bp, 0, panels, cis, 2, ldc, acc);
        Ref.assertSameBits(cv, cis, what + " in place, twin");
        double[] want = exact(a, aOff, lda, b, ldb, k, m, n);
        for (int i = 0; i < m; i++) {
          for (int j = 0; j < n; j++) {
            double w = want[i * n + j] + (acc ? c0[2 + i * ldc + j] : 0);
            Ref.assertNear(w, cv[2 + i * ldc + j], 1e-6, Math.sqrt(k), what);
          }
          for (int j = n; j < panels * NR; j++) { // padding columns of B are zero
            float w = acc ? c0[2 + i * ldc + j] : 0f;
            assertEquals(w, cv[2 + i * ldc + j], what + " padding column " + j);
          }
        }
      }
    }
  }

  @Test
  void anySplitGivesTheSameBits() {
    int k = 517; // several blocks of KC and a tail
    int m = 41;
    int n = 3 * NR - 7;
    SplittableRandom r = new SplittableRandom(9);
    float[] a = Ref.random(r, k * m, 1);
    float[] b = Ref.random(r, k * n, 1);
    int panels = SgemmAt.panels(n);
    float[] whole = new float[m * panels * NR];
    SgemmAt.gemm(
        0,
        m,
        packAllA(a, 0, m, m, k),
        k,
        packAll(b, n, n, k),
        0,
        panels,
        whole,
        0,
        panels * NR,
        false);
    // B packed in three row ranges and A in strip ranges, as threads do; C in pieces of M (whole
    // strips, the last one short) and N.
    float[] bp = new float[(int) SgemmAt.packedSize(k, n)];
    SgemmAt.pack(b, 0, n, n, k, 200, k, bp);
    SgemmAt.pack(b, 0, n, n, k, 0, 77, bp);
    SgemmAt.pack(b, 0, n, n, k, 77, 200, bp);
    float[] ap = new float[(int) SgemmAt.packedASize(k, m)];
    int[] ms = {0, 6, 18, 24, m};
    for (int q = ms.length - 2; q >= 0; q--) { // strips by threads, rows by steps
      SgemmAt.packA(a, 0, m, m, k, ms[q], ms[q + 1], 0, 100, ap);
      SgemmAt.packA(a, 0, m, m, k, ms[q], ms[q + 1], 100, 101, ap);
      SgemmAt.packA(a, 0, m, m, k, ms[q], ms[q + 1], 101, k, ap);
    }
    float[] split = new float[whole.length];
    for (int q = 0; q + 1 < ms.length; q++) {
      SgemmAt.gemm(ms[q], ms[q + 1], ap, k, bp, 0, 1, split, 0, panels * NR, false);
      SgemmAt.gemm(ms[q], ms[q + 1], ap, k, bp, 1, panels, split, 0, panels * NR, false);
    }
    Ref.assertSameBits(whole, split, "split");
  }

  @Test
  void emptyDepthOverwritesWithZeros() {
    float[] c = {1, 2, 3};
    float[] big = new float[NR];
    java.util.Arrays.fill(big, 5f);
    SgemmAt.gemm(0, 1, c, 0, new float[0], 0, 1, big, 0, NR, false);
    assertEquals(0f, big[NR - 1]);
    java.util.Arrays.fill(big, 5f);
    SgemmAt.gemm(0, 1, c, 0, new float[0], 0, 1, big, 0, NR, true);
    assertEquals(5f, big[0]);
  }
}
