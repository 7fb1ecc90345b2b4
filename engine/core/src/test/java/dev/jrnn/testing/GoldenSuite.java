package dev.jrnn.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every PyTorch/NumPy golden fixture on one backend, at ≤ 1e-5 max abs error. Subclass per backend;
 * the largest difference of each fixture and of the whole suite is printed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class GoldenSuite {

  public static final double TOLERANCE = 1e-5;

  private final Map<String, Double> worst = new ConcurrentHashMap<>();
  private final Map<String, Double> ratio = new ConcurrentHashMap<>(); // max|diff| / tolerance

  /** The backend under test. */
  protected abstract Options options();

  /**
   * The largest max|diff| allowed on fixture {@code f}: {@link #TOLERANCE} unless overridden;
   * infinity skips the fixture (no bound exists, the override says why).
   */
  protected double tolerance(Fixture f) {
    return TOLERANCE;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.jrnn.testing.Fixture#names")
  void matchesGolden(String name) {
    try (Fixture f = Fixture.load(name);
        Weights w = f.weights();
        Session s = Session.open(f.graph(), w, options());
        Result r = s.run(f.inputs())) {
      double tol = tolerance(f);
      org.junit.jupiter.api.Assumptions.assumeTrue(
          Double.isFinite(tol), name + ": no error bound exists for this fixture");
      double max = 0;
      StringBuilder detail = new StringBuilder();
      for (Map.Entry<String, Tensor> e : f.expected().entrySet()) {
        double d = Fixture.maxAbsDiff(e.getValue(), r.get(e.getKey()));
        detail.append(' ').append(e.getKey()).append('=').append(String.format("%.2e", d));
        max = Math.max(max, d);
      }
      worst.put(name, max);
      ratio.put(name, max / tol);
      System.out.printf(
          "%-10s %-28s ran on %-9s max|diff| %.2e bound %.2e (%s )%n",
          s.backend(), name, s.placement().get("rnn"), max, tol, detail);
      assertTrue(max <= tol, name + ": max abs diff " + max + " > " + tol + ":" + detail);
    }
  }

  @AfterAll
  void summary() {
    worst.entrySet().stream()
        .max(Map.Entry.comparingByValue())
        .ifPresent(
            e ->
                System.out.printf(
                    "%s: %d fixtures, largest max|diff| %.2e (%s)%n",
                    options().backendName(), worst.size(), e.getValue(), e.getKey()));
    ratio.entrySet().stream()
        .max(Map.Entry.comparingByValue())
        .ifPresent(
            e ->
                System.out.printf(
                    "%s: largest max|diff|/bound %.2f (%s)%n",
                    options(), e.getValue(), e.getKey()));
  }
}
