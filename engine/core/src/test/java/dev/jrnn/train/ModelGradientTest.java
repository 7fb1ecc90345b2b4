package dev.jrnn.train;

import static dev.jrnn.train.ModelFixtures.GROUP;
import static dev.jrnn.train.ModelFixtures.TOLERANCE;
import static dev.jrnn.train.ModelFixtures.relativeError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Loss;
import dev.jrnn.Optimizer;
import dev.jrnn.Options;
import dev.jrnn.Tensor;
import dev.jrnn.Trainer;
import dev.jrnn.Training;
import dev.jrnn.Weights;
import dev.jrnn.exec.TrainingProgram;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Whole models against PyTorch autograd (fixtures/training/models, kind "gradients"), on every
 * backend: an embedding → packed LSTM → last valid step → linear classifier and an embedding →
 * 2-layer bidirectional GRU → per-step linear tagger with ignored and padded steps, under mean
 * cross-entropy. The logits, the loss and the gradient of every weight within 1e-4 relative ({@link
 * ModelFixtures#relativeError}), through the training executor and through a {@link Trainer}'s SGD
 * step.
 */
class ModelGradientTest {

  private static final Map<String, String> WORST = new TreeMap<>();

  static Stream<Arguments> cases() {
    return ModelFixtures.cases("gradients");
  }

  /** Every node of the graph runs on {@code backend}. */
  static void assertOnBackend(Map<String, String> placement, String backend, String name) {
    assertTrue(!placement.isEmpty(), name + ": nothing placed");
    placement.forEach(
        (node, b) -> assertEquals(backend, b, name + ": node " + node + " is placed on " + b));
  }

  private static Tensor lengthsFor(Loss loss, TrainingFixture f) {
    return loss.lengthsInput().isPresent() ? f.tensor("lengths") : null;
  }

  /** The largest error over the fixture's "grad.*" tensors; "at" names where it is. */
  private static double gradientError(TrainingFixture f, Map<String, Tensor> got, String[] at) {
    assertEquals(
        ModelFixtures.names(f, "grad."), got.keySet(), f.name + ": the weights with gradients");
    double worst = 0;
    for (Map.Entry<String, Tensor> e : got.entrySet()) {
      double r = relativeError(f.tensor("grad." + e.getKey()), e.getValue());
      if (r >= worst) {
        worst = r;
        at[0] = e.getKey();
      }
    }
    return worst;
  }

  /** Forward, the loss function, backward: the program's gradients against autograd. */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  void executorGradientsMatchAutograd(String backend, String name) {
    try (TrainingFixture f = TrainingFixture.load(GROUP, name);
        Weights w = ModelFixtures.weights(f);
        TrainingProgram p =
            TrainingProgram.open(ModelFixtures.graph(f), w, Options.backend(backend))) {
      assertOnBackend(p.placement(), backend, name);
      Tensor logits = p.forward(ModelFixtures.inputs(f)).get("logits");
      double outErr = relativeError(f.tensor("logits"), logits);
      Loss spec = ModelFixtures.loss(f);
      LossFunction lf = LossFunction.of(spec);
      String[] at = {""};
      double lossErr;
      double gradErr;
      try (Tensor dy = Tensor.allocate(DType.F32, logits.shape())) {
        double loss = lf.compute(logits, f.tensor("target"), lengthsFor(spec, f), dy);
        lossErr = relativeError(f.number("expected_loss"), loss);
        if (spec.lengthsInput().isPresent()) {
          paddedTargetsAreNotRead(f, lf, logits, loss, dy);
        }
        try (TrainingProgram.Gradients g = p.backward(Map.of("logits", dy))) {
          assertTrue(g.inputs().isEmpty(), "no F32 inputs, no input gradients");
          gradErr = gradientError(f, g.weights(), at);
        }
      }
      report(backend, name, "executor", outErr, lossErr, gradErr, at[0]);
      assertTrue(outErr <= TOLERANCE, name + ": logits off by " + outErr);
      assertTrue(lossErr <= TOLERANCE, name + ": loss off by " + lossErr);
      assertTrue(gradErr <= TOLERANCE, name + ": gradient of " + at[0] + " off by " + gradErr);
    }
  }

  /**
   * With lengths, the targets of padded steps are not looked at: other class ids there give the
   * same loss and the same dL/dy, bit for bit.
   */
  private static void paddedTargetsAreNotRead(
      TrainingFixture f, LossFunction lf, Tensor logits, double loss, Tensor dy) {
    Tensor lengths = f.tensor("lengths");
    try (Tensor target = f.tensor("target").copy();
        Tensor dy2 = Tensor.allocate(DType.F32, logits.shape())) {
      int steps = target.dim(0);
      int rows = target.dim(1);
      int changed = 0;
      for (int t = 0; t < steps; t++) {
        for (int n = 0; n < rows; n++) {
          if (t >= lengths.getInt(n)) {
            target.setInt((long) t * rows + n, (t + n) % logits.dim(2));
            changed++;
          }
        }
      }
      assertTrue(changed > 0, f.name + " has padded steps");
      assertEquals(loss, lf.compute(logits, target, lengths, dy2), "loss with other padding");
      assertArrayEquals(dy.toFloatArray(), dy2.toFloatArray(), "dL/dy with other padding");
    }
  }

  /**
   * One {@link Trainer} step of SGD with learning rate 1: it returns the loss, {@link
   * Trainer#gradients()} holds the gradients, {@link Trainer#gradientNorm()} their norm, and the
   * weights move by minus the gradient.
   */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  void trainerStepRevealsTheGradients(String backend, String name) {
    try (TrainingFixture f = TrainingFixture.load(GROUP, name)) {
      Training how = Training.of(ModelFixtures.loss(f), Optimizer.sgd(1));
      Graph g = ModelFixtures.graph(f);
      try (Weights w = ModelFixtures.weights(f);
          Trainer t = Trainer.open(g, w, how, Options.backend(backend))) {
        assertOnBackend(t.placement(), backend, name);
        double loss = t.step(ModelFixtures.inputs(f), f.tensor("target"));
        double lossErr = relativeError(f.number("expected_loss"), loss);
        String[] at = {""};
        double gradErr;
        double normErr;
        double weightErr = 0;
        try (Weights grads = t.gradients();
            Weights after = t.weights()) {
          Map<String, Tensor> got = new TreeMap<>();
          grads.names().forEach(k -> got.put(k, grads.get(k)));
          gradErr = gradientError(f, got, at);
          double sq = 0;
          for (String k : got.keySet()) {
            Tensor want = f.tensor("grad." + k);
            for (long i = 0; i < want.size(); i++) {
              sq += (double) want.getFloat(i) * want.getFloat(i);
            }
            try (Tensor moved = f.tensor("init." + k).copy()) {
              for (long i = 0; i < moved.size(); i++) {
                moved.setFloat(i, moved.getFloat(i) - want.getFloat(i));
              }
              weightErr = Math.max(weightErr, relativeError(moved, after.get(k)));
            }
          }
          normErr = relativeError(Math.sqrt(sq), t.gradientNorm());
        }
        report(backend, name, "trainer", weightErr, lossErr, gradErr, at[0]);
        System.out.printf("%-9s %-15s trainer : gradient norm %.2e%n", backend, name, normErr);
        assertTrue(lossErr <= TOLERANCE, name + ": loss off by " + lossErr);
        assertTrue(gradErr <= TOLERANCE, name + ": gradient of " + at[0] + " off by " + gradErr);
        assertTrue(normErr <= TOLERANCE, name + ": gradient norm off by " + normErr);
        assertTrue(weightErr <= TOLERANCE, name + ": weights after the step off by " + weightErr);
      }
    }
  }

  private static synchronized void report(
      String backend,
      String name,
      String via,
      double outErr,
      double lossErr,
      double gradErr,
      String at) {
    String line =
        String.format(
            "%-9s %-15s %-8s: %s %.2e, loss %.2e, gradients %.2e (%s)",
            backend,
            name,
            via,
            via.equals("executor") ? "logits" : "weights",
            outErr,
            lossErr,
            gradErr,
            at);
    System.out.println(line);
    WORST.put(backend + " " + name + " " + via, line);
  }

  @AfterAll
  static void summary() {
    System.out.println("model gradients vs PyTorch autograd (largest relative errors):");
    WORST.values().forEach(l -> System.out.println("  " + l));
  }
}
