package dev.jrnn.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Median nanoseconds per call of the vector kernels on W1-like shapes (H = 256, batch 1 and 64),
 * after warm-up, for before/after comparisons of a kernel change. Not a test: run it from the
 * module with {@code java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes
 * dev.jrnn.kernels.KernelTimings}.
 */
final class KernelTimings {

  private KernelTimings() {}

  static double median(Runnable kernel, int calls) {
    for (int i = 0; i < 20 * calls; i++) {
      kernel.run();
    }
    double[] ns = new double[9];
    for (int rep = 0; rep < ns.length; rep++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < calls; i++) {
        kernel.run();
      }
      ns[rep] = (System.nanoTime() - t0) / (double) calls;
    }
    Arrays.sort(ns);
    return ns[ns.length / 2];
  }

  static void report(String name, Runnable kernel, int calls) {
    System.out.printf("%-28s %12.1f ns%n", name, median(kernel, calls));
  }

  public static void main(String[] args) {
    System.out.println(Simd.describe());
    int hidden = 256;
    int blocks = hidden / Simd.BW;
    SplittableRandom r = new SplittableRandom(1);
    Cells.Lstm lstm =
        new Cells.Lstm(
            Act.sigmoid(),
            Act.tanh(),
            Act.tanh(),
            Float.POSITIVE_INFINITY,
            null,
            null,
            null,
            false);
    Cells.Gru gru =
        new Cells.Gru(Act.sigmoid(), Act.tanh(), Float.POSITIVE_INFINITY, new float[hidden]);
    Cells.Rnn rnn = new Cells.Rnn(Act.tanh(), Float.POSITIVE_INFINITY);
    int[] map = new int[4 * hidden];
    for (int j = 0; j < map.length; j++) {
      map[j] = j;
    }
    Sgemm.Panels recurrent =
        Sgemm.packRows(Ref.random(r, 4 * hidden * hidden, 0.1), 0, hidden, hidden, map);
    for (int batch : new int[] {1, 64}) {
      int calls = batch == 1 ? 20_000 : 300;
      float[] pre = Ref.random(r, batch * 4 * hidden, 3);
      float[] gates = pre.clone();
      float[] c = Ref.random(r, batch * hidden, 1);
      float[] h = new float[batch * hidden];
      float[] hPrev = Ref.random(r, batch * hidden, 1);
      float[] gh = Ref.random(r, batch * 3 * hidden, 3);
      float[] zr = Ref.random(r, batch * 2 * hidden, 3);
      int ldg = 4 * hidden;
      String n = " N=" + batch;
      report(
          "lstm cell" + n,
          () ->
              Cells.lstmPostGemmForward(
                  gates, 0, ldg, c, hidden, h, 0, hidden, batch, 0, blocks, lstm),
          calls);
      report(
          "lstm step (GEMM + cell)" + n,
          () -> {
            System.arraycopy(pre, 0, gates, 0, gates.length);
            Sgemm.gemm(
                batch,
                hPrev,
                0,
                hidden,
                recurrent,
                0,
                recurrent.panels(),
                gates,
                0,
                ldg,
                Sgemm.Mode.ACCUMULATE,
                null,
                0);
            Cells.lstmPostGemmForward(
                gates, 0, ldg, c, hidden, h, 0, hidden, batch, 0, blocks, lstm);
          },
          calls);
      report(
          "gru lbr cell" + n,
          () ->
              Cells.gruPostGemmForwardLbr(
                  pre,
                  0,
                  3 * hidden,
                  gh,
                  3 * hidden,
                  hPrev,
                  0,
                  hidden,
                  h,
                  0,
                  hidden,
                  batch,
                  0,
                  blocks,
                  gru),
          calls);
      report(
          "gru reset hidden" + n,
          () ->
              Cells.gruResetHidden(
                  pre,
                  0,
                  3 * hidden,
                  zr,
                  2 * hidden,
                  hPrev,
                  0,
                  hidden,
                  h,
                  hidden,
                  batch,
                  0,
                  blocks,
                  gru),
          calls);
      report(
          "gru reset-first cell" + n,
          () ->
              Cells.gruPostGemmForwardResetFirst(
                  pre,
                  0,
                  3 * hidden,
                  zr,
                  2 * hidden,
                  gh,
                  hidden,
                  hPrev,
                  0,
                  hidden,
                  h,
                  0,
                  hidden,
                  batch,
                  0,
                  blocks,
                  gru),
          calls);
      report(
          "rnn tanh cell" + n,
          () -> Cells.rnnPostGemmForward(pre, 0, hidden, h, 0, hidden, batch, 0, blocks, rnn),
          calls);
    }
    try (Arena arena = Arena.ofConfined()) {
      int n = 64 * 1024;
      MemorySegment x = arena.allocate(n * 4L, 64);
      MemorySegment y = arena.allocate(n * 4L, 64);
      MemorySegment.copy(Ref.random(r, n, 5), 0, x, ValueLayout.JAVA_FLOAT, 0, n);
      for (Act a : new Act[] {Act.sigmoid(), Act.tanh()}) {
        report("activation " + a + " 64K", () -> Elementwise.activation(a, x, y, n), 300);
      }
      report("softmax 64 x 1000", () -> Elementwise.softmaxRows(x, y, 64, 1000, false), 300);
      report("log-softmax 64 x 1000", () -> Elementwise.softmaxRows(x, y, 64, 1000, true), 300);
    }
  }
}
