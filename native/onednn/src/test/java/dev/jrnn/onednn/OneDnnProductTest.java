package dev.jrnn.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jrnn.Precision;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Precisions;
import dev.jrnn.kernels.Quant;
import dev.jrnn.kernels.Sgemm;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link OneDnnProduct} against the products its formats define, computed here in double: bf16 — A
 * rounded to bf16 times the bf16 weights; int8 — each row of A quantized to u8 with its own scale
 * ({@code rint(x·127/max|row| + 128)}) times the s8 weights, dequantized with both scales. Column
 * order, padding columns, panel ranges, the three store modes, strides and offsets, row counts past
 * a primitive block and threads on disjoint panels all reach the comparison.
 */
class OneDnnProductTest {

  private static final int NR = Sgemm.NR;
  private static final int K = 40;
  private static final int ROWS = 70; // weight rows; columns past them are padding

  private static boolean has(Precision p) {
    return OneDnn.hasIsa(
        p == Precision.BF16 ? OneDnn.ISA_AVX512_CORE_BF16 : OneDnn.ISA_AVX512_CORE_VNNI);
  }

  /** Packed column j → weight row: reversed, with a padding column every fifth. */
  private static int[] columns(int panels) {
    int[] map = new int[panels * NR];
    int row = ROWS - 1;
    for (int j = 0; j < map.length; j++) {
      map[j] = j % 5 == 4 || row < 0 ? -1 : row--;
    }
    return map;
  }

  private static float[] random(SplittableRandom r, int n, double scale) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
    }
    return v;
  }

  /** The weight in {@code p}, and its values as the format gives them (row-major [ROWS][K]). */
  private record Weight(Map<String, Tensor> tensors, double[] values, float[] scales)
      implements AutoCloseable {
    @Override
    public void close() {
      tensors.values().forEach(Tensor::close);
    }
  }

  private static Weight weight(Precision p) {
    return weight(p, K);
  }

  private static Weight weight(Precision p, int k) {
    float[] w = random(new SplittableRandom(7), ROWS * k, 0.3);
    try (Tensor f = Tensor.of(w, ROWS, k)) {
      Map<String, Tensor> t = Precisions.convert("W", f, null, p);
      double[] v = new double[w.length];
      float[] scales = null;
      if (p == Precision.BF16) {
        for (int i = 0; i < w.length; i++) {
          v[i] = Quant.fromBf16(Quant.toBf16(w[i]));
        }
      } else {
        scales = t.get("W.scale").toFloatArray();
        byte[] q = new byte[w.length];
        t.get("W").segment().asByteBuffer().get(q);
        for (int i = 0; i < w.length; i++) {
          v[i] = q[i]; // s8; the scale is applied per column below
        }
      }
      return new Weight(t, v, scales);
    }
  }

  /** C[r][c0 + j] for column j of the panels as the format defines it. */
  private static double expected(
      Precision p, Weight w, int k, int[] map, float[] a, int aOff, int lda, int r, int j) {
    int row = map[j];
    if (row < 0) {
      return 0;
    }
    double sum = 0;
    if (p == Precision.BF16) {
      for (int i = 0; i < k; i++) {
        sum += Quant.fromBf16(Quant.toBf16(a[aOff + r * lda + i])) * w.values[row * k + i];
      }
      return sum;
    }
    float max = 0;
    for (int i = 0; i < k; i++) {
      max = Math.max(max, Math.abs(a[aOff + r * lda + i]));
    }
    float s = max == 0 ? 1f : Quant.I8_MAX / max;
    for (int i = 0; i < k; i++) {
      float q = (float) Math.rint(a[aOff + r * lda + i] * s + 128f);
      sum += (q - 128) * w.values[row * k + i];
    }
    return sum * w.scales[row] / s;
  }

  static Stream<Arguments> precisionsAndDepths() {
    // K = 1,100: int8 sums past 2²⁴, where their conversion to f32 rounds
    return Stream.of(
        Arguments.of(Precision.BF16, K),
        Arguments.of(Precision.INT8, K),
        Arguments.of(Precision.BF16, 1100),
        Arguments.of(Precision.INT8, 1100));
  }

  @ParameterizedTest(name = "{0} K={1}")
  @MethodSource("precisionsAndDepths")
  void matchesTheFormatsProductInEveryModeRangeAndRowCount(Precision p, int k) {
    assumeTrue(has(p), "no " + p + " instructions");
    int panels = 2;
    int[] map = columns(panels);
    SplittableRandom r = new SplittableRandom(3);
    try (Weight w = weight(p, k);
        var ctx = new OneDnnBackend.OneDnnContext(1);
        OneDnnProduct product = new OneDnnProduct(ctx.engine, w.tensors, "W", k, map)) {
      assertEquals(k, product.k());
      assertEquals(panels, product.panels());
      for (int m : new int[] {1, 2, 3, 64, 150}) { // 150: blocks of 64 and a rounded-up rest
        int lda = k + 3;
        int aOff = 5;
        float[] a = random(r, aOff + m * lda, 1.5);
        int ldc = panels * NR + 7;
        int cOff = 2;
        float[] bias = random(r, 1 + panels * NR, 1);
        for (int[] range : new int[][] {{0, 2}, {1, 2}, {0, 1}}) {
          for (Sgemm.Mode mode : Sgemm.Mode.values()) {
            float[] c = random(r, cOff + m * ldc, 1);
            float[] before = c.clone();
            product.multiply(
                m, a, aOff, lda, range[0], range[1], c, cOff, ldc, mode, bias, 1, false);
            double worst = 0;
            for (int row = 0; row < m; row++) {
              for (int j = 0; j < panels * NR; j++) {
                int at = cOff + row * ldc + j;
                boolean inside = j >= range[0] * NR && j < range[1] * NR;
                if (!inside) {
                  assertEquals(before[at], c[at], "column " + j + " outside the range");
                  continue;
                }
                double want = expected(p, w, k, map, a, aOff, lda, row, j);
                want +=
                    switch (mode) {
                      case OVERWRITE -> 0;
                      case ACCUMULATE -> before[at];
                      case BIAS -> bias[1 + j];
                    };
                worst = Math.max(worst, Math.abs(c[at] - want));
              }
            }
            String what = p + " m=" + m + " panels " + range[0] + ".." + range[1] + " " + mode;
            assertTrue(worst <= 1e-4, what + ": max |diff| " + worst);
          }
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(
      value = Precision.class,
      names = {"BF16", "INT8"})
  void threadsOnDisjointPanelsGetWhatOneThreadGets(Precision p) throws Exception {
    assumeTrue(has(p), "no " + p + " instructions");
    int panels = 4;
    int[] map = columns(panels);
    float[] a = random(new SplittableRandom(5), 2 * K, 1);
    try (Weight w = weight(p);
        var ctx = new OneDnnBackend.OneDnnContext(2);
        OneDnnProduct product = new OneDnnProduct(ctx.engine, w.tensors, "W", K, map)) {
      float[] one = new float[2 * panels * NR];
      product.multiply(
          2, a, 0, K, 0, panels, one, 0, panels * NR, Sgemm.Mode.OVERWRITE, null, 0, false);
      for (int round = 0; round < 200; round++) {
        float[] two = new float[one.length];
        CompletableFuture<Void> left =
            CompletableFuture.runAsync(
                () ->
                    product.multiply(
                        2,
                        a,
                        0,
                        K,
                        0,
                        2,
                        two,
                        0,
                        panels * NR,
                        Sgemm.Mode.OVERWRITE,
                        null,
                        0,
                        false));
        product.multiply(
            2, a, 0, K, 2, panels, two, 0, panels * NR, Sgemm.Mode.OVERWRITE, null, 0, false);
        left.get();
        assertEquals(
            java.util.Arrays.toString(one), java.util.Arrays.toString(two), "round " + round);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 8, 9, 15, 16, 17, 63, 64, 65, 100, 1000})
  void rowCountsRoundUpByAtMostAQuarter(int m) {
    int b = OneDnnProduct.bucket(m);
    assertTrue(b >= m && (m <= 8 ? b == m : b <= m * 1.25), m + " → " + b);
  }

  @Test
  void int8NamesTheWeightOfANonFiniteInput() {
    assumeTrue(has(Precision.INT8), "no VNNI");
    float[] a = new float[2 * K];
    a[K + 3] = Float.NaN;
    try (Weight w = weight(Precision.INT8);
        var ctx = new OneDnnBackend.OneDnnContext(1);
        OneDnnProduct product = new OneDnnProduct(ctx.engine, w.tensors, "W", K, columns(1))) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  product.multiply(
                      2,
                      a,
                      0,
                      K,
                      0,
                      1,
                      new float[2 * NR],
                      0,
                      NR,
                      Sgemm.Mode.OVERWRITE,
                      null,
                      0,
                      false));
      assertTrue(
          e.getMessage().contains("with 'W'") && e.getMessage().contains("NaN"), e.getMessage());
    }
  }

  @Test
  void useAfterCloseIsAClearError() {
    assumeTrue(has(Precision.BF16), "no AVX512_BF16");
    try (Weight w = weight(Precision.BF16);
        var ctx = new OneDnnBackend.OneDnnContext(1)) {
      OneDnnProduct product = new OneDnnProduct(ctx.engine, w.tensors, "W", K, columns(1));
      float[] c = new float[NR];
      product.multiply(1, new float[K], 0, K, 0, 1, c, 0, NR, Sgemm.Mode.OVERWRITE, null, 0, false);
      product.close();
      product.close(); // idempotent
      Runnable again =
          () ->
              product.multiply(
                  1, new float[K], 0, K, 0, 1, c, 0, NR, Sgemm.Mode.OVERWRITE, null, 0, false);
      assertThrows(IllegalStateException.class, again::run); // the shape this thread used
      CompletableFuture<Void> other = CompletableFuture.runAsync(again); // and a fresh thread
      Exception e = assertThrows(Exception.class, other::get);
      assertTrue(e.getCause() instanceof IllegalStateException, String.valueOf(e.getCause()));
    }
  }

  /**
   * At debug level each primitive made is logged with the weight, its shape and oneDNN's choice.
   */
  @Test
  void logsTheImplementationOneDnnChose() {
    assumeTrue(has(Precision.INT8), "no VNNI");
    java.util.logging.Logger log = java.util.logging.Logger.getLogger("dev.jrnn");
    java.util.logging.Level old = log.getLevel();
    log.setLevel(java.util.logging.Level.FINE);
    try (Weight w = weight(Precision.INT8);
        var ctx = new OneDnnBackend.OneDnnContext(1);
        OneDnnProduct product = new OneDnnProduct(ctx.engine, w.tensors, "W", K, columns(1))) {
      java.util.List<String> lines =
          OneDnnPrecisionTest.logged(
              () ->
                  product.multiply(
                      3,
                      new float[3 * K],
                      0,
                      K,
                      0,
                      1,
                      new float[3 * NR],
                      0,
                      NR,
                      Sgemm.Mode.OVERWRITE,
                      null,
                      0,
                      false));
      assertTrue(
          lines.stream()
              .anyMatch(
                  l -> l.contains("with 'W', 3 rows × " + NR + " columns: ") && !l.endsWith(": ")),
          lines.toString());
    } finally {
      log.setLevel(old);
    }
  }
}
