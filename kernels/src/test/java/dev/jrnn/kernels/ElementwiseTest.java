package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Each element-wise kernel against its scalar twin (bit for bit where they share the float
 * algorithm) and against its definition in double, at lengths around the vector width so every tail
 * runs.
 */
class ElementwiseTest {

  static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  static final int L = Simd.BW;

  /** Lengths: empty, shorter than a vector, whole vectors, and whole vectors plus a tail. */
  static final int[] LENGTHS = {0, 1, L - 1, L, L + 1, 3 * L + 5, 64 * L + 3};

  static MemorySegment segment(Arena arena, float[] v) {
    MemorySegment s = arena.allocate(Math.max(1, v.length) * 4L, 64);
    MemorySegment.copy(v, 0, s, F, 0, v.length);
    return s;
  }

  static float[] floats(MemorySegment s, int n) {
    float[] v = new float[n];
    MemorySegment.copy(s, F, 0, v, 0, n);
    return v;
  }

  @Test
  void activationOfEveryKindMatchesTwinAndDefinition() {
    try (Arena arena = Arena.ofConfined()) {
      for (int n : LENGTHS) {
        float[] x = Ref.activationInputs(new SplittableRandom(n), n);
        MemorySegment xs = segment(arena, x);
        for (Ref.Fn fn : Ref.ALL) {
          MemorySegment yv = segment(arena, new float[n]);
          MemorySegment ys = segment(arena, new float[n]);
          Elementwise.activation(fn.act(), xs, yv, n);
          Elementwise.activationScalar(fn.act(), xs, ys, n);
          float[] vec = floats(yv, n);
          Ref.assertSameBits(floats(ys, n), vec, fn + " n=" + n);
          for (int i = 0; i < n; i++) {
            double want = fn.at(x[i]);
            double scale = Math.max(ActTest.scale(fn, x[i], want), 1e-31);
            Ref.assertNear(want, vec[i], 4.8e-7, scale, fn + " n=" + n + " x=" + x[i]);
          }
        }
      }
    }
  }

  static double exact(Arith op, float a, float b) {
    return switch (op) {
      case ADD -> (double) a + b;
      case SUB -> (double) a - b;
      case MUL -> (double) a * b;
      case DIV -> (double) a / b;
    };
  }

  @Test
  void binaryRunsOfEveryOpAndStrideAreExact() {
    int[][] strides = {{1, 1}, {1, 0}, {0, 1}, {0, 0}};
    try (Arena arena = Arena.ofConfined()) {
      for (int n : LENGTHS) {
        SplittableRandom r = new SplittableRandom(n + 7);
        float[] a = Ref.random(r, n + 3, 10);
        float[] b = Ref.random(r, n + 5, 10);
        MemorySegment as = segment(arena, a);
        MemorySegment bs = segment(arena, b);
        for (Arith op : Arith.values()) {
          for (int[] st : strides) {
            int yOff = 2;
            float[] y0 = Ref.random(r, n + 4, 1);
            MemorySegment yv = segment(arena, y0);
            MemorySegment ys = segment(arena, y0);
            Elementwise.binaryRun(op, as, 3, st[0], bs, 1, st[1], yv, yOff, n);
            Elementwise.binaryRunScalar(op, as, 3, st[0], bs, 1, st[1], ys, yOff, n);
            float[] vec = floats(yv, n + 4);
            String what = op + " strides " + st[0] + "," + st[1] + " n=" + n;
            Ref.assertSameBits(floats(ys, n + 4), vec, what);
            for (int j = 0; j < n + 4; j++) {
              float want =
                  j < yOff || j >= yOff + n
                      ? y0[j] // outside the run: untouched
                      : (float) exact(op, a[3 + (j - yOff) * st[0]], b[1 + (j - yOff) * st[1]]);
              assertEquals(want, vec[j], what + " at " + j); // one rounding: exact
            }
          }
        }
      }
    }
  }

  @Test
  void softmaxRowsMatchTwinAndDefinition() {
    try (Arena arena = Arena.ofConfined()) {
      for (int cols : new int[] {1, L - 1, L, L + 1, 3 * L + 5, 1000}) {
        int rows = 3;
        float[] x = Ref.random(new SplittableRandom(cols), rows * cols, 8);
        x[0] = 80; // a large value: the max is subtracted before exp
        MemorySegment xs = segment(arena, x);
        for (boolean log : new boolean[] {false, true}) {
          MemorySegment yv = segment(arena, new float[rows * cols]);
          MemorySegment ys = segment(arena, new float[rows * cols]);
          Elementwise.softmaxRows(xs, yv, rows, cols, log);
          Elementwise.softmaxRowsScalar(xs, ys, rows, cols, log);
          float[] vec = floats(yv, rows * cols);
          float[] twin = floats(ys, rows * cols);
          for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < cols; k++) {
              max = Math.max(max, x[r * cols + k]);
            }
            double sum = 0;
            for (int k = 0; k < cols; k++) {
              sum += Math.exp(x[r * cols + k] - max);
            }
            for (int k = 0; k < cols; k++) {
              int i = r * cols + k;
              double z = x[i] - max;
              double want = log ? z - Math.log(sum) : Math.exp(z) / sum;
              // log-softmax: relative to the terms (z and log sum) it subtracts
              double scale = log ? Math.abs(z) + Math.log(sum) : 1e-30;
              String what = (log ? "log-" : "") + "softmax cols=" + cols + " at " + i;
              Ref.assertNear(want, vec[i], 2e-6, scale, what);
              Ref.assertNear(want, twin[i], 2e-7, scale, what + " (twin)");
            }
          }
        }
      }
    }
  }
}
