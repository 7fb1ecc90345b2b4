package dev.jrnn.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Options;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.onnx.OnnxModel;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every ONNX test model (PyTorch exports at opsets 14 and 17, hand-built single nodes, ONNX's own
 * backend node tests) imported and run on one backend, at ≤ 1e-5 max abs error from the expected
 * outputs. Subclass per backend; the largest difference of each model and of the whole suite is
 * printed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class OnnxSuite {

  public static final double TOLERANCE = 1e-5;

  private final Map<String, Double> worst = new ConcurrentHashMap<>();

  /** The backend under test, as {@link Options#backend(String)} names it. */
  protected abstract String backend();

  /** The options the models run with: {@link #backend()} on two threads. */
  protected Options options() {
    return Options.backend(backend()).threads(2);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("dev.jrnn.testing.OnnxFixture#names")
  void matchesExpectedOutputs(String name) {
    try (OnnxFixture f = OnnxFixture.load(name)) {
      OnnxModel m = OnnxModel.read(f.model, name);
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
        System.out.printf("onnx %-42s %-9s max|diff| %.2e%n", name, backend(), max);
        assertTrue(max <= TOLERANCE, name + " on " + backend() + ": max abs diff " + max);
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
                    backend(), worst.size(), e.getValue(), e.getKey()));
  }
}
