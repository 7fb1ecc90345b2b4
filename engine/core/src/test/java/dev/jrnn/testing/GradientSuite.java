package dev.jrnn.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Options;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.exec.TrainingProgram;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every PyTorch-autograd gradient fixture through the training executor on one backend: outputs at
 * ≤ 1e-5 and every input, initial-state and weight gradient at ≤ 1e-5 max abs error. Subclass per
 * backend; the largest absolute and relative differences are printed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class GradientSuite {

  public static final double TOLERANCE = 1e-5;

  private final Map<String, double[]> worst = new ConcurrentHashMap<>();

  /** The backend under test. */
  protected abstract Options options();

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.jrnn.testing.Fixture#gradientNames")
  void gradientsMatchAutograd(String name) {
    try (Fixture f = Fixture.loadGradients(name);
        Weights w = f.weights();
        TrainingProgram p = TrainingProgram.open(f.graph(), w, options())) {
      assertTrue(
          p.placement().get("rnn").equals(options().backendName()),
          name + " trains on " + p.placement().get("rnn"));
      Map<String, Tensor> out = p.forward(f.inputs());
      double outDiff = 0;
      for (Map.Entry<String, Tensor> e : f.expected().entrySet()) {
        outDiff = Math.max(outDiff, Fixture.maxAbsDiff(e.getValue(), out.get(e.getKey())));
      }
      Map<String, Tensor> upstream = new LinkedHashMap<>();
      upstream.put("y", f.tensor("dy"));
      upstream.put("hN", f.tensor("dhN"));
      if (f.has("dcN")) {
        upstream.put("cN", f.tensor("dcN"));
      }
      double abs = 0;
      double rel = 0;
      String at = "";
      try (TrainingProgram.Gradients g = p.backward(upstream)) {
        Map<String, Tensor> got = new LinkedHashMap<>(g.weights());
        g.inputs().forEach((k, v) -> got.put(k, v));
        assertEquals(
            w.names().size() + f.inputs().size(), got.size(), "gradients: " + got.keySet());
        for (Map.Entry<String, Tensor> e : got.entrySet()) {
          Tensor want = f.tensor("grad." + e.getKey());
          double d = Fixture.maxAbsDiff(want, e.getValue());
          double r = maxRelDiff(want, e.getValue());
          rel = Math.max(rel, r);
          if (d >= abs) {
            abs = d;
            at = e.getKey();
          }
        }
      }
      worst.put(name, new double[] {outDiff, abs, rel});
      System.out.printf(
          "%-9s training %-26s outputs %.2e, gradients %.2e abs (%s), %.2e rel%n",
          options().backendName(), name, outDiff, abs, at, rel);
      assertTrue(outDiff <= TOLERANCE, name + ": outputs differ by " + outDiff);
      assertTrue(abs <= TOLERANCE, name + ": gradient of " + at + " differs by " + abs);
    }
  }

  /** Largest |a − e| / max(|e|, 1e-2): relative where the gradient is not tiny. */
  static double maxRelDiff(Tensor expected, Tensor actual) {
    float[] e = expected.toFloatArray();
    float[] a = actual.toFloatArray();
    double m = 0;
    for (int i = 0; i < e.length; i++) {
      m = Math.max(m, Math.abs(a[i] - e[i]) / Math.max(Math.abs(e[i]), 1e-2));
    }
    return m;
  }

  @AfterAll
  void summary() {
    double[] m = new double[3];
    worst.values().forEach(v -> Arrays.setAll(m, i -> Math.max(m[i], v[i])));
    System.out.printf(
        "%s training: %d fixtures, largest output diff %.2e, gradient diff %.2e abs, %.2e rel%n",
        options().backendName(), worst.size(), m[0], m[1], m[2]);
  }
}
