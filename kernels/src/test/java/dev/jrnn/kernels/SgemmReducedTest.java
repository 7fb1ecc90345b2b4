package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Sgemm#gemm} over bfloat16 and int8 panels gives the same bits as over f32 panels of the
 * widened values ({@link Quant#fromBf16}, {@link Quant#dequantize}), in every mode, at shapes that
 * reach every micro-kernel (see {@link SgemmTest}); and the formats' arithmetic is what it says.
 */
class SgemmReducedTest {

  static final int NR = Sgemm.NR;

  @Test
  void bf16RoundsToNearestEvenAndWidensExactly() {
    assertEquals(1f, Quant.fromBf16(Quant.toBf16(1f)));
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1).
    assertEquals(1f, Quant.fromBf16(Quant.toBf16(1f + 0x1p-8f)));
    // 1 + 3·2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to even (1 + 2^-6).
    assertEquals(1f + 0x1p-6f, Quant.fromBf16(Quant.toBf16(1f + 3 * 0x1p-8f)));
    assertEquals(1f + 0x1p-7f, Quant.fromBf16(Quant.toBf16(1f + 0x1p-7f + 0x1p-12f)));
    assertEquals(-2.5f, Quant.fromBf16(Quant.toBf16(-2.5f)));
    assertEquals(Float.POSITIVE_INFINITY, Quant.fromBf16(Quant.toBf16(Float.POSITIVE_INFINITY)));
    assertTrue(Float.isNaN(Quant.fromBf16(Quant.toBf16(Float.NaN))));
    SplittableRandom rnd = new SplittableRandom(3);
    for (int i = 0; i < 100_000; i++) {
      float x = (float) ((rnd.nextDouble() * 2 - 1) * Math.pow(2, rnd.nextInt(-20, 20)));
      float y = Quant.fromBf16(Quant.toBf16(x));
      assertTrue(Math.abs(y - x) <= Math.abs(x) * 0x1p-8f, x + " -> " + y); // half an ulp: 2^-8
    }
  }

  @Test
  void int8IsSymmetricPerRowWithinHalfAStep() {
    float[] row = {0.5f, -1.27f, 0.004f, 1.0f};
    float s = Quant.rowScale(row, 0, 4);
    assertEquals(1.27f / 127, s);
    assertEquals(-127, Quant.quantize(-1.27f, s));
    assertEquals(50, Quant.quantize(0.5f, s));
    assertEquals(0, Quant.quantize(0.004f, s)); // 0.4 steps
    assertEquals(1f, Quant.rowScale(new float[3], 0, 3)); // zeros: any scale
    assertEquals(127, Quant.quantize(1e9f, s)); // clamped
    SplittableRandom rnd = new SplittableRandom(4);
    float[] x = new float[257];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (rnd.nextGaussian() * 0.3);
    }
    float sc = Quant.rowScale(x, 0, x.length);
    for (float v : x) {
      float back = Quant.dequantize(Quant.quantize(v, sc), sc);
      assertTrue(Math.abs(back - v) <= sc * 0.5f * (1 + 1e-6f), v + " -> " + back);
    }
  }

  @Test
  void reducedPanelsGiveTheBitsOfTheirWidenedValues() {
    SplittableRandom rnd = new SplittableRandom(11);
    // Past Sgemm.I8_FUSED_ROWS (25, 40) int8 panels are widened into scratch for the f32 tiles.
    int[] ms = {1, 2, 3, 4, 5, 6, 7, 10, 13, 25, 40};
    int[] ks = {1, 2, 7, 16, 33};
    int[] ns = {1, NR - 1, NR + 3, 2 * NR};
    for (int m : ms) {
      for (int k : ks) {
        for (int n : ns) {
          for (Sgemm.Mode mode : Sgemm.Mode.values()) {
            check(rnd, m, k, n, mode);
          }
        }
      }
    }
  }

  @Test
  void blocksOfRowsChooseTheirWideningAlone() {
    // k = 4000 makes blocks of 30 rows (A's block stays in L2): m = 61 runs two blocks taller than
    // Sgemm.I8_FUSED_ROWS, whose int8 panels are widened into scratch, then a lone row that widens
    // in registers.
    int mc = Sgemm.packRows(new float[4000], 0, 4000, 4000, new int[] {0}).mc;
    assertTrue(mc > Sgemm.I8_FUSED_ROWS && 61 == 2 * mc + 1, "blocks of " + mc + " rows");
    SplittableRandom rnd = new SplittableRandom(12);
    for (Sgemm.Mode mode : Sgemm.Mode.values()) {
      check(rnd, 61, 4000, NR + 3, mode);
    }
  }

  @Test
  void rowMapSkipsAndReordersColumns() {
    SplittableRandom rnd = new SplittableRandom(5);
    int k = 9;
    int rows = 5;
    float[] w = randoms(rnd, rows * k);
    int[] map = {4, -1, 0, 2, -1, 1, 3};
    short[] wb = new short[w.length];
    float[] wide = new float[w.length];
    for (int i = 0; i < w.length; i++) {
      wb[i] = Quant.toBf16(w[i]);
      wide[i] = Quant.fromBf16(wb[i]);
    }
    float[] a = randoms(rnd, 3 * k);
    float[] want = new float[3 * NR];
    float[] got = new float[3 * NR];
    Sgemm.gemm(
        3,
        a,
        0,
        k,
        Sgemm.packRows(wide, 0, k, k, map),
        0,
        1,
        want,
        0,
        NR,
        Sgemm.Mode.OVERWRITE,
        null,
        0);
    Sgemm.gemm(
        3,
        a,
        0,
        k,
        Sgemm.packRowsBf16(wb, 0, k, k, map),
        0,
        1,
        got,
        0,
        NR,
        Sgemm.Mode.OVERWRITE,
        null,
        0);
    assertArrayEquals(want, got);
    assertEquals(0f, got[1]); // skipped column stays zero
  }

  private static void check(SplittableRandom rnd, int m, int k, int n, Sgemm.Mode mode) {
    float[] w = randoms(rnd, n * k);
    short[] wb = new short[w.length];
    float[] wideB = new float[w.length];
    for (int i = 0; i < w.length; i++) {
      wb[i] = Quant.toBf16(w[i]);
      wideB[i] = Quant.fromBf16(wb[i]);
    }
    byte[] wq = new byte[w.length];
    float[] scale = new float[n];
    float[] wideQ = new float[w.length];
    for (int r = 0; r < n; r++) {
      scale[r] = Quant.rowScale(w, r * k, k);
      for (int kk = 0; kk < k; kk++) {
        wq[r * k + kk] = Quant.quantize(w[r * k + kk], scale[r]);
        wideQ[r * k + kk] = Quant.dequantize(wq[r * k + kk], scale[r]);
      }
    }
    int[] map = new int[n];
    for (int j = 0; j < n; j++) {
      map[j] = j;
    }
    int lda = k + 1;
    int panels = (n + NR - 1) / NR;
    int ldc = panels * NR + 2;
    float[] a = randoms(rnd, m * lda);
    float[] c0 = randoms(rnd, m * ldc);
    float[] bias = randoms(rnd, panels * NR);
    String what = "m=" + m + " k=" + k + " n=" + n + " " + mode;
    assertArrayEquals(
        run(m, a, lda, Sgemm.packRows(wideB, 0, k, k, map), c0, ldc, mode, bias),
        run(m, a, lda, Sgemm.packRowsBf16(wb, 0, k, k, map), c0, ldc, mode, bias),
        "bf16 " + what);
    assertArrayEquals(
        run(m, a, lda, Sgemm.packRows(wideQ, 0, k, k, map), c0, ldc, mode, bias),
        run(m, a, lda, Sgemm.packRowsI8(wq, 0, k, scale, 0, k, map), c0, ldc, mode, bias),
        "int8 " + what);
  }

  private static float[] run(
      int m,
      float[] a,
      int lda,
      Sgemm.Panels b,
      float[] c0,
      int ldc,
      Sgemm.Mode mode,
      float[] bias) {
    float[] c = c0.clone();
    Sgemm.gemm(m, a, 0, lda, b, 0, b.panels(), c, 0, ldc, mode, bias, 0);
    return c;
  }

  private static float[] randoms(SplittableRandom rnd, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (rnd.nextDouble() * 2 - 1);
    }
    return x;
  }
}
