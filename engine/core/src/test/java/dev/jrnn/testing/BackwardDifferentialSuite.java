package dev.jrnn.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.exec.TrainingProgram;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The backward half of {@link DifferentialSuite}: on the same cases, one training forward and a
 * backward of random output gradients on the backend under test and on {@code reference}; every
 * weight, input and initial-state gradient within 1e-4 of the reference's scale ({@code |a − e| ≤
 * 1e-4 · max(1, max|e|)} per tensor). Subclass per backend.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackwardDifferentialSuite {

  public static final double TOLERANCE = 1e-4;

  /** The backend under test, with {@code threads} threads. */
  protected abstract Options options(int threads);

  private final AtomicReference<String> worst = new AtomicReference<>("none");
  private volatile double worstDiff;

  static List<DifferentialSuite.Case> cases() {
    return DifferentialSuite.cases();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void gradientsMatchReference(DifferentialSuite.Case c) {
    Graph g = DifferentialSuite.graph(c);
    List<Tensor> owned = new ArrayList<>();
    Map<String, Tensor> in = DifferentialSuite.inputs(c, owned);
    try (Weights w = Weights.random(g, 17);
        TrainingProgram ref = TrainingProgram.open(g, w, Options.backend("reference"));
        TrainingProgram p = TrainingProgram.open(g, w, options(c.threads()))) {
      p.placement()
          .forEach(
              (node, b) ->
                  assertTrue(b.equals(options(1).backendName()), c + ": " + node + " on " + b));
      Map<String, Tensor> outRef = ref.forward(in);
      p.forward(in);
      SplittableRandom r = new SplittableRandom(c.toString().hashCode() * 31L);
      Map<String, Tensor> up = new LinkedHashMap<>();
      outRef.forEach((k, v) -> up.put(k, DifferentialSuite.random(r, owned, v.shape())));
      double max = 0;
      String at = "";
      try (TrainingProgram.Gradients want = ref.backward(up);
          TrainingProgram.Gradients got = p.backward(up)) {
        Map<String, Tensor> e = new LinkedHashMap<>(want.weights());
        e.putAll(want.inputs());
        Map<String, Tensor> a = new LinkedHashMap<>(got.weights());
        a.putAll(got.inputs());
        assertTrue(e.keySet().equals(a.keySet()), c + ": " + e.keySet() + " vs " + a.keySet());
        for (Map.Entry<String, Tensor> x : e.entrySet()) {
          double scale = Math.max(1, maxAbs(x.getValue()));
          double d = Fixture.maxAbsDiff(x.getValue(), a.get(x.getKey())) / scale;
          if (d > max) {
            max = d;
            at = x.getKey();
          }
        }
      }
      synchronized (this) {
        if (max > worstDiff) {
          worstDiff = max;
          worst.set(c + " (" + at + ")");
        }
      }
      double m = max;
      String where = at;
      assertTrue(max <= TOLERANCE, () -> c + ": gradient of " + where + " differs by " + m);
    } finally {
      owned.forEach(Tensor::close);
    }
  }

  private static double maxAbs(Tensor t) {
    double m = 0;
    for (float v : t.toFloatArray()) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }

  @AfterAll
  void summary() {
    System.out.printf(
        "%s vs reference, backward: %d cases, largest scaled |diff| %.2e (%s)%n",
        options(1).backendName(), cases().size(), worstDiff, worst.get());
  }
}
