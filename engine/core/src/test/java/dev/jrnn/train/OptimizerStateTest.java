package dev.jrnn.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Optimizer;
import dev.jrnn.Tensor;
import dev.jrnn.testing.Allocations;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every optimizer variant against PyTorch on the fixture script's toy problem
 * (fixtures/training/optimizers): weights within 1e-5 relative after each of 20 steps; export and
 * restore resume bit for bit; the errors for bad state.
 */
class OptimizerStateTest {

  static final double TOLERANCE = 1e-5;
  static double worstWeight;
  static double worstNorm;
  static double worstClosedLoop;

  static List<String> cases() {
    return TrainingFixture.names("optimizers");
  }

  /**
   * Largest {@code |a − e| / max(|e|, 0.1·max|e|)} over a tensor's elements: relative, except that
   * an element far below the tensor's scale (a weight passing through zero) is held to an error
   * relative to a tenth of that scale, as float arithmetic on the larger elements cannot be better.
   */
  static double relativeError(Tensor expected, Tensor actual) {
    assertArrayEquals(expected.shape(), actual.shape(), "shape");
    float[] e = expected.toFloatArray();
    float[] a = actual.toFloatArray();
    double scale = 0;
    for (float v : e) {
      scale = Math.max(scale, Math.abs(v));
    }
    double worst = 0;
    for (int i = 0; i < e.length; i++) {
      double d = Math.abs((double) e[i] - a[i]);
      if (d != 0) {
        d /= Math.max(Math.abs(e[i]), 0.1 * scale);
      }
      worst = Math.max(worst, Double.isNaN(d) ? Double.POSITIVE_INFINITY : d);
    }
    return worst;
  }

  /** The toy problem: weights and their gradient tensors, stepped by one optimizer state. */
  static final class Toy implements AutoCloseable {
    final TrainingFixture f;
    final Map<String, Tensor> weights;
    final Map<String, Tensor> grads = new LinkedHashMap<>();

    Toy(TrainingFixture f) {
      this.f = f;
      this.weights = f.copies("init.");
    }

    /** A step with the gradients Java computes from its own weights. */
    double step(OptimizerState s) {
      TrainingFixture.toyGradients(
          weights, f.tensor("data.X"), f.tensor("data.Y"), f.tensor("data.t"), grads);
      return s.step(weights, grads);
    }

    /** Step {@code k} (from 1) with the gradients PyTorch was given. */
    double stepAsPyTorch(OptimizerState s, int k) {
      for (String w : weights.keySet()) {
        Tensor g = f.tensor("grads." + w).select(k - 1);
        grads.computeIfAbsent(w, n -> Tensor.allocate(DType.F32, g.shape())).copyFrom(g);
      }
      return s.step(weights, grads);
    }

    /** Largest relative error of the weights against PyTorch's after step {@code k}. */
    double errorAfter(int k) {
      double worst = 0;
      for (Map.Entry<String, Tensor> e : weights.entrySet()) {
        worst =
            Math.max(
                worst, relativeError(f.tensor("after." + e.getKey()).select(k - 1), e.getValue()));
      }
      return worst;
    }

    @Override
    public void close() {
      weights.values().forEach(Tensor::close);
      grads.values().forEach(Tensor::close);
    }
  }

  /**
   * Each step from the gradients PyTorch was given: the weights within 1e-5 of PyTorch's after
   * every step, and the returned norm within 1e-6 of the gradients' norm.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void matchesPyTorchAtEveryStep(String name) {
    try (TrainingFixture f = TrainingFixture.load("optimizers", name);
        Toy toy = new Toy(f);
        OptimizerState s = new OptimizerState(f.optimizer())) {
      List<?> norms = (List<?>) f.config.get("norms");
      int steps = (int) f.number("steps");
      double worst = 0;
      double worstN = 0;
      for (int k = 1; k <= steps; k++) {
        double norm = toy.stepAsPyTorch(s, k);
        double wantNorm = ((Number) norms.get(k - 1)).doubleValue();
        double normErr = Math.abs(norm - wantNorm) / wantNorm;
        worstN = Math.max(worstN, normErr);
        assertTrue(normErr <= 1e-6, name + " step " + k + ": norm " + norm + " vs " + wantNorm);
        double err = toy.errorAfter(k);
        worst = Math.max(worst, err);
        assertTrue(err <= TOLERANCE, name + " step " + k + ": relative error " + err);
      }
      assertEquals(steps, s.steps());
      worstWeight = Math.max(worstWeight, worst);
      worstNorm = Math.max(worstNorm, worstN);
      System.out.printf(
          "optimizer %-26s %s: weights rel %.2e, norm rel %.2e%n", name, s.spec(), worst, worstN);
    }
  }

  /**
   * The Java toy problem is the script's: from PyTorch's weights before each step it gives the
   * gradients PyTorch was given, bit for bit.
   */
  @Test
  void toyGradientsAreTheFixtureScripts() {
    for (String name : cases()) {
      try (TrainingFixture f = TrainingFixture.load("optimizers", name)) {
        Map<String, Tensor> grads = new LinkedHashMap<>();
        for (int k = 1; k <= (int) f.number("steps"); k++) {
          Map<String, Tensor> w = new LinkedHashMap<>();
          for (String n : List.of("enc.W", "enc.b", "head.v")) {
            w.put(n, k == 1 ? f.tensor("init." + n) : f.tensor("after." + n).select(k - 2));
          }
          TrainingFixture.toyGradients(
              w, f.tensor("data.X"), f.tensor("data.Y"), f.tensor("data.t"), grads);
          for (String n : w.keySet()) {
            assertArrayEquals(
                f.tensor("grads." + n).select(k - 1).toFloatArray(),
                grads.get(n).toFloatArray(),
                name + " step " + k + " " + n);
          }
        }
        grads.values().forEach(Tensor::close);
      }
    }
  }

  /**
   * Training in a closed loop, Java's gradients from Java's weights, stays on PyTorch's path. The
   * bound is looser than step by step: a last-bit difference in a weight changes the next gradient,
   * and Adam and RMSprop divide small gradients by their own magnitude, so that difference grows.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void closedLoopStaysOnPyTorchsPath(String name) {
    try (TrainingFixture f = TrainingFixture.load("optimizers", name);
        Toy toy = new Toy(f);
        OptimizerState s = new OptimizerState(f.optimizer())) {
      double worst = 0;
      for (int k = 1; k <= (int) f.number("steps"); k++) {
        toy.step(s);
        worst = Math.max(worst, toy.errorAfter(k));
        assertTrue(worst <= TOLERANCE, name + " step " + k + ": relative error " + worst);
      }
      worstClosedLoop = Math.max(worstClosedLoop, worst);
    }
  }

  @AfterAll
  static void report() {
    System.out.printf(
        "optimizers vs PyTorch: largest relative error %.2e (weights, step by step), %.2e"
            + " (gradient norm), %.2e (weights, closed loop)%n",
        worstWeight, worstNorm, worstClosedLoop);
  }

  /** 10 steps, export, restore into a new state, 10 steps: the same bits as 20 in one go. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void exportAndRestoreResumeExactly(String name) {
    try (TrainingFixture f = TrainingFixture.load("optimizers", name);
        Toy straight = new Toy(f);
        Toy resumed = new Toy(f);
        OptimizerState a = new OptimizerState(f.optimizer());
        OptimizerState first = new OptimizerState(f.optimizer());
        OptimizerState second = new OptimizerState(f.optimizer())) {
      for (int k = 0; k < 20; k++) {
        straight.step(a);
      }
      for (int k = 0; k < 10; k++) {
        resumed.step(first);
      }
      Map<String, Tensor> saved = first.export();
      try {
        first.close();
        second.restore(saved);
      } finally {
        saved.values().forEach(Tensor::close);
      }
      assertEquals(10, second.steps());
      assertEquals(a.spec().learningRate() * a.spec().schedule().factor(10), second.learningRate());
      for (int k = 0; k < 10; k++) {
        resumed.step(second);
      }
      for (String w : straight.weights.keySet()) {
        assertArrayEquals(
            straight.weights.get(w).toFloatArray(), resumed.weights.get(w).toFloatArray(), w);
      }
      Map<String, Tensor> ea = a.export();
      Map<String, Tensor> eb = second.export();
      try {
        assertEquals(ea.keySet(), eb.keySet());
        for (String k : ea.keySet()) {
          Tensor x = ea.get(k);
          Tensor y = eb.get(k);
          assertEquals(x.describe(), y.describe(), k);
          if (x.dtype() == DType.F32) {
            assertArrayEquals(x.toFloatArray(), y.toFloatArray(), k);
          } else {
            assertArrayEquals(x.toIntArray(), y.toIntArray(), k);
          }
        }
      } finally {
        ea.values().forEach(Tensor::close);
        eb.values().forEach(Tensor::close);
      }
    }
  }

  @Test
  void exportNamesBuffersAfterTheirWeights() {
    try (TrainingFixture f = TrainingFixture.load("optimizers", "adam");
        Toy toy = new Toy(f);
        OptimizerState adam = new OptimizerState(Optimizer.adam(1e-3));
        OptimizerState sgd = new OptimizerState(Optimizer.sgd(0.1).momentum(0.9));
        OptimizerState rms =
            new OptimizerState(Optimizer.rmsprop(0.1).centered(true).momentum(0.5))) {
      assertEquals(List.of("step"), List.copyOf(sgd.export().keySet()));
      toy.step(adam);
      toy.step(sgd);
      toy.step(rms);
      Map<String, Tensor> e = adam.export();
      assertEquals(
          List.of(
              "step",
              "enc.W.exp_avg",
              "enc.W.exp_avg_sq",
              "enc.W.step",
              "enc.b.exp_avg",
              "enc.b.exp_avg_sq",
              "enc.b.step",
              "head.v.exp_avg",
              "head.v.exp_avg_sq",
              "head.v.step"),
          List.copyOf(e.keySet()));
      assertEquals("F32 [5, 7]", e.get("enc.W.exp_avg").describe());
      assertEquals(1, e.get("step").getInt(0));
      e.values().forEach(Tensor::close);
      Map<String, Tensor> s = sgd.export();
      assertEquals(
          List.of(
              "step", "enc.W.momentum_buffer", "enc.b.momentum_buffer", "head.v.momentum_buffer"),
          List.copyOf(s.keySet()));
      s.values().forEach(Tensor::close);
      Map<String, Tensor> r = rms.export();
      assertTrue(r.containsKey("head.v.square_avg"));
      assertTrue(r.containsKey("head.v.grad_avg"));
      assertTrue(r.containsKey("head.v.momentum_buffer"));
      r.values().forEach(Tensor::close);
    }
  }

  static String restoreError(OptimizerState s, Map<String, Tensor> state) {
    return assertThrows(IllegalArgumentException.class, () -> s.restore(state)).getMessage();
  }

  static void contains(String message, String... parts) {
    for (String p : parts) {
      assertTrue(message.contains(p), "'" + message + "' should contain '" + p + "'");
    }
  }

  @Test
  void restoreRefusesWrongNamesAndShapes() {
    try (TrainingFixture f = TrainingFixture.load("optimizers", "adam");
        Toy toy = new Toy(f);
        OptimizerState adam = new OptimizerState(Optimizer.adam(1e-3));
        OptimizerState sgd = new OptimizerState(Optimizer.sgd(0.1).momentum(0.9))) {
      toy.step(adam);
      toy.step(sgd);
      Map<String, Tensor> good = adam.export();
      Map<String, Tensor> sgdState = sgd.export();
      try (OptimizerState fresh = new OptimizerState(Optimizer.adam(1e-3));
          Tensor wrongShape = Tensor.allocate(DType.F32, 7, 5);
          Tensor wrongType = Tensor.allocate(DType.F32, 1)) {
        contains(
            restoreError(fresh, sgdState),
            "unknown optimizer state entry 'enc.W.momentum_buffer'",
            "adam keeps exp_avg, exp_avg_sq, step per weight, and 'step'");
        Map<String, Tensor> m = new LinkedHashMap<>(good);
        m.remove("step");
        contains(restoreError(fresh, m), "optimizer state has no 'step' entry");
        m = new LinkedHashMap<>(good);
        m.put("enc.W.velocity", wrongShape);
        contains(restoreError(fresh, m), "unknown optimizer state entry 'enc.W.velocity'");
        m = new LinkedHashMap<>(good);
        m.remove("enc.b.exp_avg_sq");
        contains(
            restoreError(fresh, m),
            "optimizer state for weight 'enc.b' is incomplete: missing [enc.b.exp_avg_sq]");
        m = new LinkedHashMap<>(good);
        m.put("enc.W.exp_avg_sq", wrongShape);
        contains(
            restoreError(fresh, m),
            "'enc.W.exp_avg_sq' is F32 [7, 5] but 'enc.W.exp_avg' is [5, 7]");
        m = new LinkedHashMap<>(good);
        m.put("step", wrongType);
        contains(restoreError(fresh, m), "'step' must be an I32 [1] counter, got F32 [1]");

        // a consistent state for weights of other shapes is refused at the step
        m = new LinkedHashMap<>(good);
        m.put("enc.W.exp_avg", wrongShape);
        m.put("enc.W.exp_avg_sq", wrongShape);
        fresh.restore(m);
        String e = assertThrows(IllegalArgumentException.class, () -> toy.step(fresh)).getMessage();
        contains(e, "weight 'enc.W' is F32 [5, 7] but its optimizer state is for [7, 5]");
      } finally {
        good.values().forEach(Tensor::close);
        sgdState.values().forEach(Tensor::close);
      }
    }
  }

  @Test
  void stepRefusesMismatchedGradients() {
    try (OptimizerState s = new OptimizerState(Optimizer.sgd(0.1));
        Tensor w = Tensor.allocate(DType.F32, 2, 3);
        Tensor g = Tensor.allocate(DType.F32, 3, 2);
        Tensor gi = Tensor.allocate(DType.I32, 2, 3)) {
      contains(
          assertThrows(IllegalArgumentException.class, () -> s.step(Map.of("a", w), Map.of("b", w)))
              .getMessage(),
          "no gradient for [a]",
          "no weight for gradient [b]");
      contains(
          assertThrows(IllegalArgumentException.class, () -> s.step(Map.of("a", w), Map.of("a", g)))
              .getMessage(),
          "gradient of 'a' must be F32 [2, 3] like the weight, got F32 [3, 2]");
      contains(
          assertThrows(
                  IllegalArgumentException.class, () -> s.step(Map.of("a", w), Map.of("a", gi)))
              .getMessage(),
          "got I32 [2, 3]");
    }
  }

  @Test
  void nesterovNeedsMomentumWithoutDampening() {
    assertEquals(
        "Nesterov momentum needs a momentum > 0 and zero dampening, got momentum 0.0 and"
            + " dampening 0.0",
        assertThrows(
                IllegalArgumentException.class,
                () -> new OptimizerState(Optimizer.sgd(0.1).nesterov(true)))
            .getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> new OptimizerState(Optimizer.sgd(0.1).momentum(0.9).dampening(0.1).nesterov(true)));
  }

  @Test
  void useAfterCloseThrows() {
    OptimizerState s = new OptimizerState(Optimizer.adam(0.1));
    s.close();
    s.close();
    assertThrows(IllegalStateException.class, s::export);
    assertThrows(IllegalStateException.class, () -> s.step(Map.of(), Map.of()));
  }

  @Test
  void learningRateFollowsTheSchedule() {
    try (OptimizerState s =
            new OptimizerState(
                Optimizer.sgd(0.5).schedule(dev.jrnn.Schedule.step(1, 0.5).warmup(2)));
        Tensor w = Tensor.allocate(DType.F32, 3);
        Tensor g = Tensor.of(new float[] {1, 2, 2}, 3)) {
      assertEquals(0.0, s.learningRate());
      assertEquals(3.0, s.step(Map.of("w", w), Map.of("w", g)));
      assertEquals(0f, w.getFloat(0)); // warm-up: no move at step 0
      assertEquals(0.5 * 0.5 * 0.5, s.learningRate());
      s.step(Map.of("w", w), Map.of("w", g));
      assertEquals(-0.125f, w.getFloat(0));
      assertEquals(2, s.steps());
    }
  }

  /** Once each weight has its buffers, a step allocates nothing, for every rule. */
  @Test
  void stepAllocatesNothingOnceWarm() {
    List<Optimizer> specs =
        List.of(
            Optimizer.sgd(1e-3).momentum(0.9).nesterov(true).clipNorm(1).clipValue(0.5),
            Optimizer.adamW(1e-4).clipNorm(1),
            Optimizer.rmsprop(1e-4).centered(true).momentum(0.5));
    for (Optimizer spec : specs) {
      try (OptimizerState s = new OptimizerState(spec);
          Tensor w1 = Tensor.allocate(DType.F32, 64, 33);
          Tensor w2 = Tensor.allocate(DType.F32, 17);
          Tensor g1 = Tensor.allocate(DType.F32, 64, 33);
          Tensor g2 = Tensor.allocate(DType.F32, 17)) {
        for (int i = 0; i < g1.size(); i++) {
          g1.setFloat(i, (i % 7 - 3) * 1e-3f);
        }
        Map<String, Tensor> weights = new LinkedHashMap<>(Map.of("a", w1, "b", w2));
        Map<String, Tensor> grads = new LinkedHashMap<>(Map.of("a", g1, "b", g2));
        assertEquals(0, Allocations.bytesPerCall(() -> s.step(weights, grads)), spec.toString());
      }
    }
  }
}
