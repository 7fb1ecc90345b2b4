package dev.jrnn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Loss;
import dev.jrnn.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every loss and option against central differences in double precision: the loss itself, run in
 * double end to end ({@link LossFunction#computeInDouble}, the same code as the f32 path), with one
 * output element moved by ±h, h = 1e-6, against the gradient it writes. Class weights, an ignore
 * index, per-step losses with ragged lengths in both layouts, mean and sum; element-wise losses
 * with their kinks avoided. The largest difference per loss is printed; the bound is 1e-7 of max(1,
 * |numeric|). Also: the f32 path gives the double path's results rounded.
 */
class LossGradientTest {

  static final double H = 1e-6;
  static final double TOL = 1e-7;
  static final Map<String, Double> WORST = new TreeMap<>();

  /** A spec, the output's shape, and its targets (class ids or values) and lengths. */
  record Case(String name, Loss spec, int[] shape, int[] ids, float[] values, int[] lengths) {
    @Override
    public String toString() {
      return name;
    }
  }

  static float[] random(Random r, int n, double scale) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
    }
    return v;
  }

  static Stream<Case> cases() {
    Random r = new Random(7);
    List<Case> c = new ArrayList<>();
    // cross-entropy: [rows, C], [C] alone, [T, N, C] with lengths
    int[] ids6 = {0, 3, 1, 3, 2, 4};
    for (boolean sum : new boolean[] {false, true}) {
      String red = sum ? ", sum" : ", mean";
      c.add(ce("plain" + red, base("ce", sum), new int[] {6, 5}, ids6));
      c.add(ce("one class row" + red, base("ce", sum), new int[] {1, 1}, new int[] {0}));
      c.add(ce("no batch axis" + red, base("ce", sum), new int[] {4}, new int[] {2}));
      c.add(
          ce(
              "class weights" + red,
              base("ce", sum).classWeights(0.5f, 2f, 1f, 0.25f, 3f),
              new int[] {6, 5},
              ids6));
      c.add(ce("ignore index" + red, base("ce", sum).ignoreIndex(3), new int[] {6, 5}, ids6));
      c.add(
          ce(
              "class weights, ignore index -1" + red,
              base("ce", sum).classWeights(0.5f, 2f, 1f, 0.25f, 3f).ignoreIndex(-1),
              new int[] {6, 5},
              new int[] {0, -1, 1, 3, -1, 4}));
      int[] ragged = {3, 1, 2};
      int[] stepIds = {0, 2, 1, 1, 0, 2, 2, 1, 0, 1, 1, 2}; // [4, 3] time-major
      c.add(
          new Case(
              "ce per step, lengths, time-major" + red,
              base("ce", sum).lengths("len"),
              new int[] {4, 3, 3},
              stepIds,
              null,
              ragged));
      c.add(
          new Case(
              "ce per step, lengths, batch-first, weights, ignore" + red,
              base("ce", sum)
                  .lengths("len")
                  .batchFirst(true)
                  .classWeights(1f, 2f, 0.5f)
                  .ignoreIndex(1),
              new int[] {3, 4, 3},
              stepIds,
              null,
              ragged));
      for (String kind : new String[] {"bce", "mse", "mae", "huber", "huber 0.5"}) {
        c.add(values(r, kind + red, base(kind, sum), new int[] {5, 3}, null));
        c.add(values(r, kind + ", one element" + red, base(kind, sum), new int[] {1}, null));
        c.add(
            values(
                r,
                kind + ", lengths, time-major" + red,
                base(kind, sum).lengths("len"),
                new int[] {4, 3, 2},
                new int[] {4, 1, 3}));
        c.add(
            values(
                r,
                kind + ", lengths, batch-first" + red,
                base(kind, sum).lengths("len").batchFirst(true),
                new int[] {3, 4},
                new int[] {2, 4, 1}));
      }
    }
    return c.stream();
  }

  static Loss base(String kind, boolean sum) {
    Loss l =
        switch (kind) {
          case "ce" -> Loss.crossEntropy("y");
          case "bce" -> Loss.binaryCrossEntropy("y");
          case "mse" -> Loss.mse("y");
          case "mae" -> Loss.mae("y");
          case "huber" -> Loss.huber("y", 1.0);
          case "huber 0.5" -> Loss.huber("y", 0.5);
          default -> throw new IllegalArgumentException(kind);
        };
    return sum ? l.sum() : l.mean();
  }

  static Case ce(String name, Loss spec, int[] shape, int[] ids) {
    return new Case("cross-entropy " + name, spec, shape, ids, null, null);
  }

  /** Targets for an element-wise loss; outputs are drawn later, away from the kinks. */
  static Case values(Random r, String name, Loss spec, int[] shape, int[] lengths) {
    int n = Math.toIntExact(Tensor.elementCount(shape));
    float[] t = random(r, n, 1.5f);
    if (spec.kind() == Loss.Kind.BINARY_CROSS_ENTROPY) {
      for (int i = 0; i < n; i++) {
        t[i] = Math.abs(t[i]) / 1.5f; // probabilities
      }
    }
    return new Case(name, spec, shape, null, t, lengths);
  }

  /** Outputs: logits, or values at least 1e-3 from the target and from ±delta away from it. */
  static double[] outputs(Case c, Random r) {
    int n = Math.toIntExact(Tensor.elementCount(c.shape()));
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      y[i] = (float) ((r.nextDouble() * 2 - 1) * 3);
      if (c.values() != null) {
        double t = c.values()[i];
        double delta = c.spec().delta();
        for (double kink : new double[] {t, t - delta, t + delta}) {
          if (Math.abs(y[i] - kink) < 1e-3) {
            y[i] = (float) (kink + 2e-3);
          }
        }
      }
    }
    return y;
  }

  static String kindName(Loss spec) {
    return switch (spec.kind()) {
      case CROSS_ENTROPY -> "cross-entropy";
      case BINARY_CROSS_ENTROPY -> "bce-with-logits";
      case MSE -> "mse";
      case MAE -> "mae";
      case HUBER -> "huber";
    };
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void gradientMatchesCentralDifferencesInDouble(Case c) {
    Random rnd = new Random(c.name().hashCode());
    LossFunction f = LossFunction.of(c.spec());
    double[] y = outputs(c, rnd);
    try (Tensor yt = Tensor.of(toFloats(y), c.shape());
        Tensor target =
            c.ids() != null
                ? Tensor.of(c.ids(), targetShape(c))
                : Tensor.of(c.values(), c.shape());
        Tensor len = c.lengths() != null ? Tensor.of(c.lengths(), c.lengths().length) : null;
        Tensor dy32 = Tensor.allocate(DType.F32, c.shape())) {
      double[] dy = new double[y.length];
      double loss = f.computeInDouble(yt, target, len, y, dy);
      double[] scratch = new double[y.length];
      double worst = 0;
      String at = "";
      for (int k = 0; k < y.length; k++) {
        double keep = y[k];
        y[k] = keep + H;
        double plus = f.computeInDouble(yt, target, len, y, scratch);
        y[k] = keep - H;
        double minus = f.computeInDouble(yt, target, len, y, scratch);
        y[k] = keep;
        double numeric = (plus - minus) / (2 * H);
        double err = Math.abs(dy[k] - numeric) / Math.max(1, Math.abs(numeric));
        if (err > worst) {
          worst = err;
          at = "y[" + k + "]: analytic " + dy[k] + ", numeric " + numeric;
        }
      }
      synchronized (WORST) {
        WORST.merge(kindName(c.spec()), worst, Math::max);
      }
      System.out.printf("double FD loss %-70s %.2e%n", c, worst);
      assertTrue(worst <= TOL, c + ": " + at);

      // the f32 path: the same loss, its gradient rounded once
      double loss32 = f.compute(yt, target, len, dy32);
      assertEquals(loss, loss32, 1e-12 * Math.max(1, Math.abs(loss)), c + ": loss");
      float[] g32 = dy32.toFloatArray();
      for (int k = 0; k < y.length; k++) {
        assertEquals((float) dy[k], g32[k], Math.ulp((float) dy[k]), c + ": dy[" + k + "]");
      }
    }
  }

  static int[] targetShape(Case c) {
    return java.util.Arrays.copyOf(c.shape(), c.shape().length - 1);
  }

  static float[] toFloats(double[] v) {
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      f[i] = (float) v[i];
    }
    return f;
  }

  @AfterAll
  static void report() {
    WORST.forEach(
        (k, w) -> System.out.printf("double FD loss, largest difference, %-16s %.2e%n", k, w));
  }
}
