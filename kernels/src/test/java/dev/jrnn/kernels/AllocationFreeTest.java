package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.management.ThreadMXBean;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Once compiled, no kernel allocates. A vector that crosses a call C2 does not inline is boxed, one
 * object per vector: a helper returning a vector, not inlined in a large method, cost 380 KB per
 * softmax of 64 × 1000.
 */
class AllocationFreeTest {

  static final ThreadMXBean MX = (ThreadMXBean) ManagementFactory.getThreadMXBean();

  /** Bytes per call once warm: runs until a measurement reads zero or time is up. */
  static long allocatedPerCall(Runnable kernel) {
    long deadline = System.nanoTime() + 10_000_000_000L;
    long bytes;
    do {
      for (int i = 0; i < 2000; i++) {
        kernel.run();
      }
      long before = MX.getCurrentThreadAllocatedBytes();
      for (int i = 0; i < 100; i++) {
        kernel.run();
      }
      bytes = (MX.getCurrentThreadAllocatedBytes() - before) / 100;
    } while (bytes > 0 && System.nanoTime() < deadline);
    return bytes;
  }

  @Test
  void kernelsAllocateNothingOnceWarm() {
    int bw = Simd.BW;
    int rows = 2;
    int blocks = 3;
    int hp = blocks * bw;
    SplittableRandom r = new SplittableRandom(3);
    float[] gates = Ref.random(r, rows * 4 * hp, 3);
    float[] c = Ref.random(r, rows * hp, 1);
    float[] h = new float[rows * hp];
    float[] hPrev = Ref.random(r, rows * hp, 1);
    float[] bn = Ref.random(r, hp, 1);
    float[] zr = Ref.random(r, rows * 2 * hp, 1);
    Cells.Lstm lstm = new Cells.Lstm(Act.sigmoid(), Act.tanh(), Act.tanh(), 5f, bn, bn, bn, false);
    Cells.Gru gru = new Cells.Gru(Act.sigmoid(), Act.tanh(), Float.POSITIVE_INFINITY, bn);
    Map<String, Runnable> kernels = new LinkedHashMap<>();
    kernels.put(
        "lstm",
        () -> Cells.lstmPostGemmForward(gates, 0, 4 * hp, c, hp, h, 0, hp, rows, 0, blocks, lstm));
    kernels.put(
        "gruLbr",
        () ->
            Cells.gruPostGemmForwardLbr(
                gates, 0, 3 * hp, gates, 3 * hp, hPrev, 0, hp, h, 0, hp, rows, 0, blocks, gru));
    kernels.put(
        "gruResetHidden",
        () ->
            Cells.gruResetHidden(
                gates, 0, 3 * hp, zr, 2 * hp, hPrev, 0, hp, h, hp, rows, 0, blocks, gru));
    kernels.put(
        "gruResetFirst",
        () ->
            Cells.gruPostGemmForwardResetFirst(
                gates, 0, 3 * hp, zr, 2 * hp, c, hp, hPrev, 0, hp, h, 0, hp, rows, 0, blocks, gru));
    for (Act a : new Act[] {Act.tanh(), Act.sigmoid(), Act.relu()}) {
      Cells.Rnn rnn = new Cells.Rnn(a, 4f);
      kernels.put(
          "rnn " + a, () -> Cells.rnnPostGemmForward(gates, 0, hp, h, 0, hp, rows, 0, blocks, rnn));
    }
    try (Arena arena = Arena.ofConfined()) {
      int n = 40 * bw + 3;
      MemorySegment x = arena.allocate(n * 4L, 64);
      MemorySegment y = arena.allocate(n * 4L, 64);
      MemorySegment.copy(Ref.random(r, n, 5), 0, x, java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, n);
      for (Act a : new Act[] {Act.tanh(), Act.sigmoid(), Act.relu()}) {
        kernels.put("activation " + a, () -> Elementwise.activation(a, x, y, n));
      }
      for (Arith op : Arith.values()) {
        kernels.put(
            "binaryRun " + op,
            () -> {
              Elementwise.binaryRun(op, x, 0, 1, x, 1, 1, y, 0, n - 1);
              Elementwise.binaryRun(op, x, 0, 1, x, 1, 0, y, 0, n - 1);
              Elementwise.binaryRun(op, x, 0, 0, x, 1, 1, y, 0, n - 1);
            });
      }
      kernels.put("softmaxRows", () -> Elementwise.softmaxRows(x, y, 4, n / 4, false));
      kernels.put("logSoftmaxRows", () -> Elementwise.softmaxRows(x, y, 4, n / 4, true));
      int k = 33;
      float[] a = Ref.random(r, 40 * k, 1);
      Sgemm.Panels b =
          Sgemm.pack(Ref.random(r, k * 2 * Sgemm.NR, 1), 0, 2 * Sgemm.NR, k, 2 * Sgemm.NR);
      float[] out = new float[40 * b.columns()];
      float[] bias = Ref.random(r, b.columns(), 1);
      for (Sgemm.Mode mode : Sgemm.Mode.values()) {
        for (int m : new int[] {1, 4, 11}) {
          kernels.put(
              "gemm m=" + m + " " + mode,
              () -> Sgemm.gemm(m, a, 0, k, b, 0, 2, out, 0, b.columns(), mode, bias, 0));
        }
      }
      // Reduced panels: widened in registers, or (int8, 40 rows) into scratch allocated once.
      int cols = 2 * Sgemm.NR;
      float[] w = Ref.random(r, cols * k, 1);
      short[] wb = new short[w.length];
      byte[] wq = new byte[w.length];
      float[] scale = new float[cols];
      int[] rowsOf = new int[cols];
      for (int j = 0; j < cols; j++) {
        rowsOf[j] = j;
        scale[j] = Quant.rowScale(w, j * k, k);
        for (int kk = 0; kk < k; kk++) {
          wb[j * k + kk] = Quant.toBf16(w[j * k + kk]);
          wq[j * k + kk] = Quant.quantize(w[j * k + kk], scale[j]);
        }
      }
      Map<String, Sgemm.Panels> reduced = new LinkedHashMap<>();
      reduced.put("bf16", Sgemm.packRowsBf16(wb, 0, k, k, rowsOf));
      reduced.put("int8", Sgemm.packRowsI8(wq, 0, k, scale, 0, k, rowsOf));
      reduced.forEach(
          (format, rb) -> {
            for (int m : new int[] {1, 4, 11, 40}) {
              kernels.put(
                  "gemm " + format + " m=" + m,
                  () ->
                      Sgemm.gemm(
                          m, a, 0, k, rb, 0, 2, out, 0, rb.columns(), Sgemm.Mode.BIAS, bias, 0));
            }
          });
      Map<String, Long> allocating = new LinkedHashMap<>();
      kernels.forEach(
          (name, kernel) -> {
            long bytes = allocatedPerCall(kernel);
            if (bytes > 0) {
              allocating.put(name, bytes);
            }
          });
      assertEquals(Map.of(), allocating, "bytes allocated per call");
    }
  }
}
