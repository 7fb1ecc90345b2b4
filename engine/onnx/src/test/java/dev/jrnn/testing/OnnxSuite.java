package dev.jrnn.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.onnx.OnnxModel;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every ONNX test model (PyTorch exports at opsets 14 and 17, hand-built single nodes, ONNX's own
 * backend node tests) imported and run on one backend, at ≤ 1e-5 max abs error from the expected
 * outputs. Subclass per backend; the largest difference of each model and of the whole suite is
 * printed. A subclass that changes the numerics (reduced-precision weights) derives each model's
 * bound in {@link #tolerance}; a model with no bound is skipped, saying why.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class OnnxSuite {

  public static final double TOLERANCE = 1e-5;

  private final Map<String, Double> worst = new ConcurrentHashMap<>();
  private final Map<String, Double> ratio = new ConcurrentHashMap<>(); // max|diff| / tolerance
  private final Map<String, String> skipped = new ConcurrentHashMap<>();

  /** The backend under test, as {@link Options#backend(String)} names it. */
  protected abstract String backend();

  /** The options the models run with: {@link #backend()} on two threads. */
  protected Options options() {
    return Options.backend(backend()).threads(2);
  }

  /** The backend and any requested precision, for the printed lines: {@code java/bf16}. */
  private String label() {
    return options()
        .requestedPrecision()
        .map(p -> backend() + "/" + p.name().toLowerCase(Locale.ROOT))
        .orElse(backend());
  }

  /**
   * The largest max|diff| allowed on model {@code m} run on fixture {@code f}'s inputs: {@link
   * #TOLERANCE} unless overridden; infinity skips the model (no bound exists: {@link
   * ReducedBounds#discontinuity} says why).
   */
  protected double tolerance(OnnxModel m, OnnxFixture f) {
    return TOLERANCE;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.jrnn.testing.OnnxFixture#names")
  void matchesExpectedOutputs(String name) {
    try (OnnxFixture f = OnnxFixture.load(name)) {
      OnnxModel m = OnnxModel.read(f.model, name);
      double tol = tolerance(m, f);
      if (!Double.isFinite(tol)) {
        String why = name + ": no error bound exists: " + ReducedBounds.discontinuity(m.graph());
        skipped.put(name, why);
        System.out.printf("onnx %-42s %-9s skipped: %s%n", name, label(), why);
        Assumptions.abort(why);
      }
      Map<String, Tensor> data = new LinkedHashMap<>(f.inputs());
      m.weightInputs().forEach(data::remove);
      try (Weights w = m.weights(f.inputs());
          Session s = Session.open(m.graph(), w, options());
          Result r = s.run(data)) {
        double max = 0;
        for (Map.Entry<String, Tensor> e : f.expected().entrySet()) {
          max = Math.max(max, Fixture.maxAbsDiff(e.getValue(), r.get(e.getKey())));
        }
        worst.put(name, max);
        ratio.put(name, max / tol);
        System.out.printf("onnx %-42s %-9s max|diff| %.2e bound %.2e%n", name, label(), max, tol);
        assertTrue(
            max <= tol, name + " on " + label() + ": max abs diff " + max + " > bound " + tol);
      }
    }
  }

  @AfterAll
  void summary() {
    worst.entrySet().stream()
        .max(Map.Entry.comparingByValue())
        .ifPresent(
            e ->
                System.out.printf(
                    "onnx on %s: %d models, largest max|diff| %.2e (%s)%n",
                    label(), worst.size(), e.getValue(), e.getKey()));
    ratio.entrySet().stream()
        .max(Map.Entry.comparingByValue())
        .ifPresent(
            e ->
                System.out.printf(
                    "onnx on %s: largest max|diff|/bound %.2f (%s), %d skipped%n",
                    label(), e.getValue(), e.getKey(), skipped.size()));
  }
}
