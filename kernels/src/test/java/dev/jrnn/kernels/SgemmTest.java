package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SgemmTest {

  static float[] random(SplittableRandom r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return v;
  }

  /** C = A · Wᵀ the obvious way, in double. */
  static double[] naive(float[] a, float[] w, int m, int n, int k) {
    double[] c = new double[m * n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int kk = 0; kk < k; kk++) {
          s += (double) a[i * k + kk] * w[j * k + kk];
        }
        c[i * n + j] = s;
      }
    }
    return c;
  }

  @Test
  void everyTailAndModeMatchesNaive() {
    SplittableRandom r = new SplittableRandom(3);
    int[] ms = {1, 2, 5, 6, 7, 13};
    int[] ns = {1, 7, Sgemm.NR - 1, Sgemm.NR, Sgemm.NR + 3, 2 * Sgemm.NR + 5};
    int[] ks = {1, 2, 3, 17, 64};
    for (int m : ms) {
      for (int n : ns) {
        for (int k : ks) {
          float[] a = random(r, m * k);
          float[] w = random(r, n * k);
          int[] map = new int[n];
          for (int j = 0; j < n; j++) {
            map[j] = j;
          }
          Sgemm.Panels p = Sgemm.packRows(w, 0, k, k, map);
          int ldc = p.columns() + 3; // a stride wider than the panels
          double[] want = naive(a, w, m, n, k);
          float[] bias = random(r, p.columns());
          for (Sgemm.Mode mode : Sgemm.Mode.values()) {
            for (boolean scalar : new boolean[] {false, true}) {
              float[] c = random(new SplittableRandom(m * 1000 + n), m * ldc);
              float[] before = c.clone();
              if (scalar) {
                Sgemm.gemmScalar(m, a, 0, k, p, 0, p.panels(), c, 0, ldc, mode, bias, 0);
              } else {
                Sgemm.gemm(m, a, 0, k, p, 0, p.panels(), c, 0, ldc, mode, bias, 0);
              }
              for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                  double e =
                      want[i * n + j]
                          + switch (mode) {
                            case OVERWRITE -> 0;
                            case ACCUMULATE -> before[i * ldc + j];
                            case BIAS -> bias[j];
                          };
                  assertEquals(
                      e,
                      c[i * ldc + j],
                      1e-5,
                      () -> "m=" + m + " n=" + n + " k=" + k + " " + mode + " scalar=" + scalar);
                }
                // Past the panels' columns nothing is written.
                for (int j = p.columns(); j < ldc; j++) {
                  assertEquals(before[i * ldc + j], c[i * ldc + j]);
                }
              }
            }
          }
        }
      }
    }
  }

  @Test
  void panelRangesAndPackedRowMajorB() {
    SplittableRandom r = new SplittableRandom(5);
    int m = 9;
    int k = 11;
    int n = 3 * Sgemm.NR;
    float[] a = random(r, m * k);
    float[] b = random(r, k * n); // B [k, n] row-major
    Sgemm.Panels p = Sgemm.pack(b, 0, n, k, n);
    float[] c = new float[m * n];
    Sgemm.gemm(m, a, 0, k, p, 1, 3, c, 0, n, Sgemm.Mode.OVERWRITE, null, 0);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int kk = 0; kk < k; kk++) {
          s += (double) a[i * k + kk] * b[kk * n + j];
        }
        assertEquals(j < Sgemm.NR ? 0 : s, c[i * n + j], 1e-5, "i=" + i + " j=" + j);
      }
    }
  }
}
