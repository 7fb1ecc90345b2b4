package dev.jrnn.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Each optimizer kernel against its scalar twin, bit for bit over several steps, and against its
 * equations in double; the sums of squares against a double sum. Lengths around the vector width so
 * every tail runs.
 */
class OptimizerKernelsTest {

  static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  static final int L = Simd.BW;
  static final int[] LENGTHS = {0, 1, L - 1, L, L + 1, 3 * L + 5, 64 * L + 3, 3000};
  static final float INF = Float.POSITIVE_INFINITY;

  /** Weights, gradients and three state buffers of one tensor. */
  record Slot(MemorySegment w, MemorySegment g, MemorySegment a, MemorySegment b, MemorySegment c) {
    static Slot random(Arena arena, SplittableRandom r, int n) {
      return new Slot(
          seg(arena, Ref.random(r, n, 1)),
          seg(arena, Ref.random(r, n, 2)),
          seg(arena, new float[n]),
          seg(arena, new float[n]),
          seg(arena, new float[n]));
    }

    Slot copy(Arena arena) {
      return new Slot(dup(arena, w), dup(arena, g), dup(arena, a), dup(arena, b), dup(arena, c));
    }

    List<float[]> all() {
      return List.of(w.toArray(F), g.toArray(F), a.toArray(F), b.toArray(F), c.toArray(F));
    }
  }

  static MemorySegment seg(Arena arena, float[] v) {
    MemorySegment s = arena.allocate(Math.max(1, v.length) * 4L, 64).asSlice(0, v.length * 4L);
    MemorySegment.copy(v, 0, s, F, 0, v.length);
    return s;
  }

  static MemorySegment dup(Arena arena, MemorySegment s) {
    return seg(arena, s.toArray(F));
  }

  /** Three steps of {@code vector} and of {@code scalar} from the same state give the same bits. */
  static void sameBits(String what, int n, Consumer<Slot> vector, Consumer<Slot> scalar) {
    try (Arena arena = Arena.ofConfined()) {
      Slot v = Slot.random(arena, new SplittableRandom(n + 11), n);
      Slot s = v.copy(arena);
      for (int step = 0; step < 3; step++) {
        vector.accept(v);
        scalar.accept(s);
        List<float[]> got = v.all();
        List<float[]> want = s.all();
        for (int k = 0; k < got.size(); k++) {
          Ref.assertSameBits(
              want.get(k), got.get(k), what + " n=" + n + " step " + step + " #" + k);
        }
      }
    }
  }

  @Test
  void sgdMatchesTwin() {
    for (int n : LENGTHS) {
      for (float mom : new float[] {0, 0.9f}) {
        for (boolean nesterov : new boolean[] {false, true}) {
          double damp = nesterov ? 0 : 0.25;
          int[] calls = {0, 0};
          String what = "sgd momentum=" + mom + " nesterov=" + nesterov;
          sameBits(
              what,
              n,
              s ->
                  OptimizerKernels.sgd(
                      s.w,
                      s.g,
                      s.a,
                      n,
                      1.5f,
                      0.75f,
                      0.01f,
                      0.1f,
                      mom,
                      damp,
                      nesterov,
                      calls[0]++ == 0),
              s ->
                  OptimizerKernels.sgdScalar(
                      s.w,
                      s.g,
                      s.a,
                      n,
                      1.5f,
                      0.75f,
                      0.01f,
                      0.1f,
                      mom,
                      damp,
                      nesterov,
                      calls[1]++ == 0));
        }
      }
    }
  }

  @Test
  void adamMatchesTwin() {
    for (int n : LENGTHS) {
      for (boolean decoupled : new boolean[] {false, true}) {
        float l2 = decoupled ? 0 : 0.01f;
        float decay = decoupled ? 0.999f : 1;
        sameBits(
            "adam decoupled=" + decoupled,
            n,
            s ->
                OptimizerKernels.adam(
                    s.w, s.g, s.a, s.b, n, 1.5f, 0.5f, l2, decay, 0.9, 0.999, 0.01f, 0.03f, 1e-8f),
            s ->
                OptimizerKernels.adamScalar(
                    s.w, s.g, s.a, s.b, n, 1.5f, 0.5f, l2, decay, 0.9, 0.999, 0.01f, 0.03f, 1e-8f));
      }
    }
  }

  @Test
  void rmspropMatchesTwin() {
    for (int n : LENGTHS) {
      for (float mom : new float[] {0, 0.5f}) {
        for (boolean centered : new boolean[] {false, true}) {
          sameBits(
              "rmsprop momentum=" + mom + " centered=" + centered,
              n,
              s ->
                  OptimizerKernels.rmsprop(
                      s.w, s.g, s.a, s.b, s.c, n, INF, 1, 0.01f, 0.01f, 0.99, 1e-8f, mom, centered),
              s ->
                  OptimizerKernels.rmspropScalar(
                      s.w, s.g, s.a, s.b, s.c, n, INF, 1, 0.01f, 0.01f, 0.99, 1e-8f, mom,
                      centered));
        }
      }
    }
  }

  static void near(double want, float got, String what) {
    if (!(Math.abs(want - got) <= 1e-6 * (1 + Math.abs(want)))) {
      throw new AssertionError(what + ": got " + got + ", want " + want);
    }
  }

  /** Two steps of each rule against its equations in double, the clipping included. */
  @Test
  void updatesFollowTheirEquations() {
    int n = 3 * L + 5;
    float clip = 1.5f;
    float scale = 0.75f;
    try (Arena arena = Arena.ofConfined()) {
      Slot sgd = Slot.random(arena, new SplittableRandom(1), n);
      Slot adam = sgd.copy(arena);
      Slot rms = sgd.copy(arena);
      double[] w = toDouble(sgd.w);
      double[] g = toDouble(sgd.g);
      double[] ws = w.clone();
      double[] buf = new double[n];
      double[] wa = w.clone();
      double[] m = new double[n];
      double[] v = new double[n];
      double[] wr = w.clone();
      double[] sq = new double[n];
      double[] avg = new double[n];
      double[] rb = new double[n];
      for (int t = 1; t <= 2; t++) {
        OptimizerKernels.sgd(
            sgd.w, sgd.g, sgd.a, n, clip, scale, 0.01f, 0.1f, 0.9f, 0, true, t == 1);
        double stepSize = 0.01 / (1 - Math.pow(0.9, t));
        double bc2 = Math.sqrt(1 - Math.pow(0.999, t));
        OptimizerKernels.adam(
            adam.w,
            adam.g,
            adam.a,
            adam.b,
            n,
            clip,
            scale,
            0,
            0.999f,
            0.9f,
            0.999f,
            (float) stepSize,
            (float) bc2,
            1e-8f);
        OptimizerKernels.rmsprop(
            rms.w, rms.g, rms.a, rms.b, rms.c, n, clip, scale, 0.01f, 0.01f, 0.9, 1e-8f, 0.5f,
            true);
        for (int i = 0; i < n; i++) {
          double gi = Math.min(Math.max(g[i], -clip), clip) * scale;
          double d = gi + 0.01f * ws[i];
          buf[i] = t == 1 ? d : 0.9f * buf[i] + d;
          ws[i] -= 0.1f * (d + 0.9f * buf[i]);
          wa[i] *= 0.999f;
          m[i] = 0.9f * m[i] + (float) (1 - 0.9) * gi;
          v[i] = 0.999f * v[i] + (float) (1 - 0.999) * gi * gi;
          wa[i] -= stepSize * m[i] / (Math.sqrt(v[i]) / bc2 + 1e-8f);
          double dr = gi + 0.01f * wr[i];
          sq[i] = 0.9f * sq[i] + (float) (1 - 0.9) * dr * dr;
          avg[i] = 0.9f * avg[i] + (float) (1 - 0.9) * dr;
          rb[i] = 0.5f * rb[i] + dr / (Math.sqrt(sq[i] - avg[i] * avg[i]) + 1e-8f);
          wr[i] -= 0.01f * rb[i];
          near(ws[i], sgd.w.getAtIndex(F, i), "sgd w[" + i + "] step " + t);
          near(wa[i], adam.w.getAtIndex(F, i), "adamw w[" + i + "] step " + t);
          near(wr[i], rms.w.getAtIndex(F, i), "rmsprop w[" + i + "] step " + t);
        }
      }
    }
  }

  static double[] toDouble(MemorySegment s) {
    float[] f = s.toArray(F);
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  @Test
  void sumSquaresMatchesDoubleSum() {
    try (Arena arena = Arena.ofConfined()) {
      for (int n : LENGTHS) {
        float[] g = Ref.random(new SplittableRandom(n), n, 3);
        MemorySegment s = seg(arena, g);
        for (float clip : new float[] {INF, 0.5f}) {
          double want = 0;
          for (float x : g) {
            double c = Math.min(Math.max(x, -clip), clip);
            want += c * c;
          }
          double got = OptimizerKernels.sumSquares(s, n, clip);
          double twin = OptimizerKernels.sumSquaresScalar(s, n, clip);
          assertEquals(want, got, 1e-6 * want, "n=" + n + " clip=" + clip);
          assertEquals(want, twin, 1e-12 * want, "twin n=" + n + " clip=" + clip);
        }
      }
    }
  }

  @Test
  void kernelsAllocateNothingOnceWarm() {
    int n = 40 * L + 3;
    try (Arena arena = Arena.ofConfined()) {
      Slot s = Slot.random(arena, new SplittableRandom(5), n);
      Map<String, Runnable> kernels = new LinkedHashMap<>();
      kernels.put("sumSquares", () -> OptimizerKernels.sumSquares(s.g, n, 1f));
      kernels.put(
          "sgd",
          () -> OptimizerKernels.sgd(s.w, s.g, s.a, n, INF, 1, 0, 1e-3f, 0, 0, false, false));
      for (boolean nesterov : new boolean[] {false, true}) {
        for (boolean first : new boolean[] {false, true}) {
          kernels.put(
              "sgd momentum nesterov=" + nesterov + " first=" + first,
              () ->
                  OptimizerKernels.sgd(s.w, s.g, s.a, n, 1, 1, 0, 1e-3f, 0.9f, 0, nesterov, first));
        }
      }
      kernels.put(
          "adam",
          () ->
              OptimizerKernels.adam(
                  s.w, s.g, s.a, s.b, n, INF, 1, 0, 1, 0.9, 0.999, 1e-3f, 0.5f, 1e-8f));
      for (float mom : new float[] {0, 0.5f}) {
        for (boolean centered : new boolean[] {false, true}) {
          kernels.put(
              "rmsprop momentum=" + mom + " centered=" + centered,
              () ->
                  OptimizerKernels.rmsprop(
                      s.w, s.g, s.a, s.b, s.c, n, INF, 1, 0, 1e-3f, 0.99, 1e-8f, mom, centered));
        }
      }
      List<String> allocating = new ArrayList<>();
      kernels.forEach(
          (name, kernel) -> {
            long bytes = AllocationFreeTest.allocatedPerCall(kernel);
            if (bytes > 0) {
              allocating.add(name + ": " + bytes + " B");
            }
          });
      assertEquals(List.of(), allocating, "bytes allocated per call");
    }
  }
}
