package dev.jrnn.train;

import static dev.jrnn.train.ModelFixtures.GROUP;
import static dev.jrnn.train.ModelFixtures.TOLERANCE;
import static dev.jrnn.train.ModelFixtures.relativeError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Options;
import dev.jrnn.Trainer;
import dev.jrnn.Training;
import dev.jrnn.Weights;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A {@link Trainer} follows PyTorch's optimizers on a real model (fixtures/training/models, kind
 * "trajectory"): the embedding → packed LSTM → last step → linear classifier, its initial weights
 * and one fixed batch, 20 steps of SGD with momentum, Nesterov, with clip_grad_norm_, Adam, AdamW
 * and centered RMSprop with momentum. Each step's loss and gradient norm, and the weights after
 * every recorded step, within 1e-4 relative ({@link ModelFixtures#relativeError}), on every
 * backend.
 */
class ModelTrajectoryTest {

  private static final Map<String, String> WORST = new TreeMap<>();

  static Stream<Arguments> cases() {
    return ModelFixtures.cases("trajectory");
  }

  private static double at(List<?> values, int step) {
    return ((Number) values.get(step - 1)).doubleValue();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  void followsPyTorchStepByStep(String backend, String name) {
    try (TrainingFixture f = TrainingFixture.load(GROUP, name);
        Weights w = ModelFixtures.weights(f);
        Trainer t =
            Trainer.open(
                ModelFixtures.graph(f),
                w,
                Training.of(ModelFixtures.loss(f), f.optimizer()),
                Options.backend(backend))) {
      ModelGradientTest.assertOnBackend(t.placement(), backend, name);
      List<?> losses = (List<?>) f.config.get("losses");
      List<?> norms = (List<?>) f.config.get("norms");
      List<?> record = (List<?>) f.config.get("record");
      int steps = (int) f.number("steps");
      double lossErr = 0;
      double normErr = 0;
      double weightErr = 0;
      String where = "";
      int recorded = 0;
      for (int step = 1; step <= steps; step++) {
        double loss = t.step(ModelFixtures.inputs(f), f.tensor("target"));
        lossErr = Math.max(lossErr, relativeError(at(losses, step), loss));
        normErr = Math.max(normErr, relativeError(at(norms, step), t.gradientNorm()));
        if (recorded < record.size() && ((Number) record.get(recorded)).intValue() == step) {
          try (Weights now = t.weights()) {
            for (String k : now.names()) {
              double r = relativeError(f.tensor("after." + k).select(recorded), now.get(k));
              if (r >= weightErr) {
                weightErr = r;
                where = k + " after step " + step;
              }
            }
          }
          recorded++;
        }
      }
      assertEquals(record.size(), recorded, "every recorded step was compared");
      assertEquals(steps, t.steps());
      String line =
          String.format(
              "%-9s %-26s %d steps: weights %.2e (%s), loss %.2e, gradient norm %.2e",
              backend, name, steps, weightErr, where, lossErr, normErr);
      System.out.println(line);
      synchronized (WORST) {
        WORST.put(backend + " " + name, line);
      }
      assertTrue(weightErr <= TOLERANCE, name + ": weights off by " + weightErr + " at " + where);
      assertTrue(lossErr <= TOLERANCE, name + ": loss off by " + lossErr);
      assertTrue(normErr <= TOLERANCE, name + ": gradient norm off by " + normErr);
    }
  }

  @AfterAll
  static void summary() {
    System.out.println("optimizer trajectories vs PyTorch (largest relative errors):");
    WORST.values().forEach(l -> System.out.println("  " + l));
  }
}
