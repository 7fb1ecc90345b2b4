package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * {@link Sgemm#gemm} against its scalar twin, bit for bit, and against the product in double, in
 * every mode, at shapes that reach every micro-kernel.
 *
 * <p>Which kernel a row runs through follows from how {@code gemm} walks the rows: blocks of {@code
 * mc} rows ({@link Sgemm.Panels#mc}, from k), each cut into runs of {@link Sgemm#MR} = 6; the last
 * run of a block has {@code block % 6} rows. A run of 6, 5, 3 or 2 rows goes to the 6-row tile
 * (clamped row pointers below 6), a run of 4 to the 4-row tile, a single row to the GEMV kernel,
 * which also splits k into even and odd halves (odd k leaves one). With 512-bit vectors the tiles
 * are 4 vectors wide (6x4, 4x4, 1x4), with narrower ones 2 (6x2, 4x2, 1x2); the build runs this
 * suite at 512 bits where the machine has them, at 256 bits and as the scalar twin.
 */
class SgemmTest {

  static final int NR = Sgemm.NR;

  /** The row runs {@code gemm} makes of m rows: a mirror of its loop, see the class comment. */
  static List<Integer> rowRuns(int m, int mc) {
    List<Integer> runs = new ArrayList<>();
    for (int i0 = 0; i0 < m; i0 += mc) {
      int i1 = Math.min(m, i0 + mc);
      for (int i = i0; i < i1; i += Math.min(Sgemm.MR, i1 - i)) {
        runs.add(Math.min(Sgemm.MR, i1 - i));
      }
    }
    return runs;
  }

  /** C = A·B (+ C or bias) in double, and the scale its float error is relative to. */
  static void check(
      int m,
      int k,
      int n,
      float[] a,
      int aOff,
      int lda,
      float[] w,
      float[] c0,
      int cOff,
      int ldc,
      float[] bias,
      int biasOff,
      Sgemm.Mode mode,
      int p0,
      int p1,
      float[] got,
      String what) {
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < ldc; j++) {
        int ci = cOff + i * ldc + j;
        if (j < p0 * NR || j >= p1 * NR) {
          assertEquals(c0[ci], got[ci], what + ": outside the panels at " + i + "," + j);
          continue;
        }
        double init =
            switch (mode) {
              case OVERWRITE -> 0;
              case ACCUMULATE -> c0[ci];
              case BIAS -> bias[biasOff + j];
            };
        double s = init;
        double scale = Math.abs(init);
        for (int kk = 0; j < n && kk < k; kk++) { // columns past n are zero padding
          double t = (double) a[aOff + i * lda + kk] * w[j * k + kk];
          s += t;
          scale += Math.abs(t);
        }
        Ref.assertNear(s, got[ci], 1e-6, Math.max(scale, 1e-30), what + " at " + i + "," + j);
      }
    }
  }

  /** One product, vector and scalar twin, compared with each other and with double. */
  static void run(int m, int k, int n, Sgemm.Mode mode, int p0, int p1, boolean descending) {
    SplittableRandom r = new SplittableRandom(m * 7919L + k * 31L + n);
    int aOff = 3;
    int lda = k + 2;
    float[] a = Ref.random(r, aOff + m * lda, 1);
    float[] w = Ref.random(r, n * k, 1); // W [n, k], packed as B = Wᵀ
    int[] map = new int[n];
    for (int j = 0; j < n; j++) {
      map[j] = j;
    }
    Sgemm.Panels b = Sgemm.packRows(w, 0, k, k, map);
    int hi = p1 < 0 ? b.panels() : p1;
    int cOff = 5;
    int ldc = b.columns() + 3; // a stride wider than the panels
    int biasOff = 2;
    float[] bias = Ref.random(r, biasOff + b.columns(), 1);
    float[] c0 = Ref.random(r, cOff + m * ldc, 1);
    float[] cv = c0.clone();
    float[] cs = c0.clone();
    Sgemm.gemm(m, a, aOff, lda, b, p0, hi, cv, cOff, ldc, mode, bias, biasOff, descending);
    Sgemm.gemmScalar(m, a, aOff, lda, b, p0, hi, cs, cOff, ldc, mode, bias, biasOff);
    String what = "m=" + m + " k=" + k + " n=" + n + " " + mode + " panels " + p0 + ".." + hi;
    Ref.assertSameBits(cs, cv, what);
    check(m, k, n, a, aOff, lda, w, c0, cOff, ldc, bias, biasOff, mode, p0, hi, cv, what);
  }

  @Test
  void everyMicroKernelInEveryModeMatchesTwinAndDouble() {
    // m: 1 (GEMV), 2, 3, 5 (clamped 6-row tile), 4 (4-row tile), 6, 7 (6 + GEMV), 10 (6 + 4),
    // 13 (6 + 6 + GEMV), 16 (6 + 6 + 4). k: odd and even for the GEMV kernel's pairs.
    int[] ms = {1, 2, 3, 4, 5, 6, 7, 10, 13, 16};
    int[] ks = {1, 2, 3, 17, 64};
    int[] ns = {1, 7, NR - 1, NR, NR + 3, 2 * NR + 5};
    TreeSet<Integer> runs = new TreeSet<>();
    for (int m : ms) {
      for (int k : ks) {
        runs.addAll(rowRuns(m, Sgemm.packRows(new float[k], 0, k, k, new int[1]).mc));
        for (int n : ns) {
          for (Sgemm.Mode mode : Sgemm.Mode.values()) {
            run(m, k, n, mode, 0, -1, false);
          }
        }
      }
    }
    // the shapes above cover every run length (a check of this test's data, via the mirror)
    assertEquals(List.of(1, 2, 3, 4, 5, 6), List.copyOf(runs), "row runs reached");
  }

  @Test
  void rowBlocksOfADeepProductEndInEveryKernel() {
    int k = 2048; // mc = 60 rows per block, so 61 and 64 rows leave one and four over
    int mc = Sgemm.packRows(new float[k], 0, k, k, new int[1]).mc;
    assertEquals(60, mc);
    assertEquals(List.of(6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 1), rowRuns(61, mc));
    assertEquals(List.of(6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 4), rowRuns(64, mc));
    for (int m : new int[] {61, 64, 65}) {
      for (Sgemm.Mode mode : Sgemm.Mode.values()) {
        run(m, k, NR + 3, mode, 0, -1, false);
      }
    }
  }

  @Test
  void panelRangesInBothOrdersWriteOnlyTheirColumns() {
    int n = 4 * NR;
    for (int m : new int[] {1, 4, 9}) {
      for (int[] range : new int[][] {{0, 4}, {1, 3}, {3, 4}, {2, 2}}) {
        for (boolean descending : new boolean[] {false, true}) {
          run(m, 11, n, Sgemm.Mode.ACCUMULATE, range[0], range[1], descending);
          run(m, 11, n, Sgemm.Mode.BIAS, range[0], range[1], descending);
        }
      }
    }
  }

  @Test
  void packedRowMajorBMatchesDouble() {
    SplittableRandom r = new SplittableRandom(5);
    int m = 9;
    int k = 11;
    int n = 3 * NR - 5;
    float[] a = Ref.random(r, m * k, 1);
    float[] bm = Ref.random(r, k * n, 1); // B [k, n] row-major
    Sgemm.Panels p = Sgemm.pack(bm, 0, n, k, n);
    assertEquals(3, p.panels());
    float[] c = new float[m * p.columns()];
    Sgemm.gemm(m, a, 0, k, p, 0, 3, c, 0, p.columns(), Sgemm.Mode.OVERWRITE, null, 0);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < p.columns(); j++) {
        double s = 0;
        double scale = 0;
        for (int kk = 0; j < n && kk < k; kk++) {
          s += (double) a[i * k + kk] * bm[kk * n + j];
          scale += Math.abs((double) a[i * k + kk] * bm[kk * n + j]);
        }
        Ref.assertNear(s, c[i * p.columns() + j], 1e-6, Math.max(scale, 1e-30), i + "," + j);
      }
    }
  }

  @Test
  void splittingThePanelsAmongThreadsChangesNoBits() {
    SplittableRandom r = new SplittableRandom(23);
    for (int m : new int[] {1, 4, 7, 64}) {
      int k = 37;
      int n = 5 * NR;
      float[] a = Ref.random(r, m * k, 1);
      int[] map = new int[n];
      for (int j = 0; j < n; j++) {
        map[j] = j;
      }
      Sgemm.Panels b = Sgemm.packRows(Ref.random(r, n * k, 1), 0, k, k, map);
      float[] bias = Ref.random(r, n, 1);
      float[] whole = new float[m * n];
      Sgemm.gemm(m, a, 0, k, b, 0, 5, whole, 0, n, Sgemm.Mode.BIAS, bias, 0);
      for (int split = 1; split < 5; split++) {
        for (boolean descending : new boolean[] {false, true}) {
          float[] c = new float[m * n];
          Sgemm.gemm(m, a, 0, k, b, split, 5, c, 0, n, Sgemm.Mode.BIAS, bias, 0, descending);
          Sgemm.gemm(m, a, 0, k, b, 0, split, c, 0, n, Sgemm.Mode.BIAS, bias, 0, !descending);
          Ref.assertSameBits(whole, c, "m=" + m + " split at panel " + split);
        }
      }
    }
  }
}
