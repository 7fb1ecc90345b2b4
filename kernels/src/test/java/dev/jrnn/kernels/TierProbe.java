package dev.jrnn.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Every vector kernel on fixed inputs, each result reduced to a hash of its bits. {@link
 * TierDeterminismTest} compares a warmed JVM's hashes with those printed by {@link #main} in a
 * child JVM held to the interpreter or to C1.
 */
final class TierProbe {

  private TierProbe() {}

  static long hash(float[] v) {
    long h = 0xcbf29ce484222325L; // FNV-1a over the raw bits
    for (float f : v) {
      h = (h ^ Float.floatToRawIntBits(f)) * 0x100000001b3L;
    }
    return h;
  }

  static long hash(MemorySegment s) {
    return hash(s.toArray(ValueLayout.JAVA_FLOAT));
  }

  /** The kernels, by name: each call computes afresh and hashes its outputs. */
  static Map<String, Supplier<Long>> kernels(Arena arena) {
    Map<String, Supplier<Long>> k = new LinkedHashMap<>();
    int bw = Simd.BW;
    // Enough lanes that a 1-ulp difference in an activation shows: SVML's exp differed from
    // Math.exp on about 1% of inputs, and a sigmoid rounds many of those away.
    int rows = 8;
    int blocks = 16;
    int hp = blocks * bw;
    SplittableRandom r = new SplittableRandom(42);
    float[] gates = Ref.random(r, rows * 4 * hp, 8);
    float[] c0 = Ref.random(r, rows * hp, 2);
    float[] pi = Ref.random(r, hp, 1);
    float[] pf = Ref.random(r, hp, 1);
    float[] po = Ref.random(r, hp, 1);
    for (float clip : new float[] {Float.POSITIVE_INFINITY, 3f}) {
      Cells.Lstm lstm =
          new Cells.Lstm(Act.sigmoid(), Act.tanh(), Act.tanh(), clip, pi, pf, po, false);
      k.put(
          "lstm clip=" + clip,
          () -> {
            float[] c = c0.clone();
            float[] h = new float[rows * hp];
            Cells.lstmPostGemmForward(gates, 0, 4 * hp, c, hp, h, 0, hp, rows, 0, blocks, lstm);
            return hash(c) * 31 + hash(h);
          });
    }
    float[] gx = Ref.random(r, rows * 3 * hp, 8);
    float[] gh = Ref.random(r, rows * 3 * hp, 3);
    float[] hPrev = Ref.random(r, rows * hp, 1);
    Cells.Gru gru = new Cells.Gru(Act.sigmoid(), Act.tanh(), Float.POSITIVE_INFINITY, pi);
    k.put(
        "gruLbr",
        () -> {
          float[] h = new float[rows * hp];
          Cells.gruPostGemmForwardLbr(
              gx, 0, 3 * hp, gh, 3 * hp, hPrev, 0, hp, h, 0, hp, rows, 0, blocks, gru);
          return hash(h);
        });
    k.put(
        "gruResetFirst",
        () -> {
          float[] zr = gh.clone();
          float[] rh = new float[rows * hp];
          float[] h = new float[rows * hp];
          Cells.gruResetHidden(
              gx, 0, 3 * hp, zr, 2 * hp, hPrev, 0, hp, rh, hp, rows, 0, blocks, gru);
          Cells.gruPostGemmForwardResetFirst(
              gx, 0, 3 * hp, zr, 2 * hp, c0, hp, hPrev, 0, hp, h, 0, hp, rows, 0, blocks, gru);
          return (hash(zr) * 31 + hash(rh)) * 31 + hash(h);
        });
    for (Act f : new Act[] {Act.tanh(), Act.sigmoid(), Act.relu(), Act.softplus()}) {
      Cells.Rnn rnn = new Cells.Rnn(f, Float.POSITIVE_INFINITY);
      k.put(
          "rnn " + f,
          () -> {
            float[] h = new float[rows * hp];
            Cells.rnnPostGemmForward(gates, 0, hp, h, 0, hp, rows, 0, blocks, rnn);
            return hash(h);
          });
    }
    int n = 512 * bw + 5;
    MemorySegment x = arena.allocate(n * 4L, 64);
    MemorySegment b = arena.allocate(n * 4L, 64);
    MemorySegment y = arena.allocate(n * 4L, 64);
    MemorySegment.copy(Ref.random(r, n, 8), 0, x, ValueLayout.JAVA_FLOAT, 0, n);
    MemorySegment.copy(Ref.random(r, n, 3), 0, b, ValueLayout.JAVA_FLOAT, 0, n);
    for (Ref.Fn fn : Ref.ALL) {
      k.put(
          "activation " + fn,
          () -> {
            Elementwise.activation(fn.act(), x, y, n);
            return hash(y);
          });
    }
    for (Arith op : Arith.values()) {
      k.put(
          "binaryRun " + op,
          () -> {
            Elementwise.binaryRun(op, x, 0, 1, b, 0, 1, y, 0, n);
            return hash(y);
          });
    }
    for (boolean log : new boolean[] {false, true}) {
      k.put(
          "softmaxRows log=" + log,
          () -> {
            Elementwise.softmaxRows(b, y, 5, n / 5, log);
            return hash(y);
          });
    }
    int depth = 29;
    int cols = 2 * Sgemm.NR + 3;
    float[] w = Ref.random(r, cols * depth, 1);
    int[] map = new int[cols];
    for (int j = 0; j < cols; j++) {
      map[j] = j;
    }
    Sgemm.Panels panels = Sgemm.packRows(w, 0, depth, depth, map);
    float[] bias = Ref.random(r, panels.columns(), 1);
    for (int m : new int[] {1, 4, 6, 11}) {
      float[] a = Ref.random(r, m * depth, 1);
      float[] cInit = Ref.random(r, m * panels.columns(), 1);
      for (Sgemm.Mode mode : Sgemm.Mode.values()) {
        k.put(
            "gemm m=" + m + " " + mode,
            () -> {
              float[] c = cInit.clone();
              Sgemm.gemm(
                  m,
                  a,
                  0,
                  depth,
                  panels,
                  0,
                  panels.panels(),
                  c,
                  0,
                  panels.columns(),
                  mode,
                  bias,
                  0);
              return hash(c);
            });
      }
    }
    return k;
  }

  /** Each kernel's hash, as text. */
  static Map<String, String> hashes(Map<String, Supplier<Long>> kernels) {
    Map<String, String> out = new LinkedHashMap<>();
    kernels.forEach((name, run) -> out.put(name, Long.toHexString(run.get())));
    return out;
  }

  public static void main(String[] args) {
    try (Arena arena = Arena.ofConfined()) {
      hashes(kernels(arena)).forEach((name, h) -> System.out.println(name + "\t" + h));
    }
  }
}
