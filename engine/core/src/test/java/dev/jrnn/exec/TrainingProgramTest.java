package dev.jrnn.exec;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * How the executor drives the per-op backward contract: reverse order, gradients of a value read
 * twice summed, weight and input gradients returned, constants without gradient, a clear error
 * where a gradient must cross a node nothing can train. Checked against central finite differences
 * of the forward pass, in double, on the test backend's hand-written backward passes.
 */
class TrainingProgramTest {

  /** x feeds two branches that meet again: y = tanh(x·W1ᵀ + b1) + x·W2ᵀ. */
  static Graph diamond() {
    return Graph.build(
        b -> {
          Value x = b.input("x", DType.F32, dyn("N"), Dim.of(3));
          Value h = b.tanh(b.linear("a", x, 4, true));
          Value s = b.add(h, b.linear("b", x, 4, false));
          b.output("y", b.linear("c", b.tanh(s), 2, true));
        });
  }

  static Tensor random(SplittableRandom r, int... shape) {
    Tensor t = Tensor.allocate(DType.F32, shape);
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, (float) (r.nextDouble() * 2 - 1));
    }
    return t;
  }

  /** Loss = Σ y ⊙ dy, so dLoss/dy = dy. */
  static double loss(TrainingProgram p, Tensor x, Tensor dy) {
    Tensor y = p.forward(Map.of("x", x)).get("y");
    double l = 0;
    for (long i = 0; i < y.size(); i++) {
      l += (double) y.getFloat(i) * dy.getFloat(i);
    }
    return l;
  }

  @Test
  void gradientsMatchFiniteDifferences() {
    Graph g = diamond();
    SplittableRandom r = new SplittableRandom(5);
    try (Weights w = Weights.random(g, 9);
        Tensor x = random(r, 5, 3);
        Tensor dy = random(r, 5, 2);
        TrainingProgram p = TrainingProgram.open(g, w, Options.backend("test-grad"))) {
      assertEquals(
          Map.of(
              "a",
              "test-grad",
              "tanh",
              "test-grad",
              "b",
              "test-grad",
              "add",
              "test-grad",
              "tanh_1",
              "test-grad",
              "c",
              "test-grad"),
          p.placement());
      p.forward(Map.of("x", x));
      try (TrainingProgram.Gradients grads = p.backward(Map.of("y", dy))) {
        assertEquals(w.names(), grads.weights().keySet());
        double worst = 0;
        for (String name : w.names()) {
          Tensor t = w.get(name);
          for (long i = 0; i < t.size(); i++) {
            double numeric = numeric(p, w, t, i, x, dy);
            worst = Math.max(worst, Math.abs(numeric - grads.weights().get(name).getFloat(i)));
          }
        }
        Tensor dx = grads.inputs().get("x");
        for (long i = 0; i < x.size(); i++) {
          float v = x.getFloat(i);
          x.setFloat(i, v + 1e-3f);
          double up = loss(p, x, dy);
          x.setFloat(i, v - 1e-3f);
          double down = loss(p, x, dy);
          x.setFloat(i, v);
          worst = Math.max(worst, Math.abs((up - down) / 2e-3 - dx.getFloat(i)));
        }
        System.out.printf("executor backward vs finite differences: max|diff| %.2e%n", worst);
        assertTrue(worst < 2e-3, "max diff " + worst);
      }
    }
  }

  private static double numeric(
      TrainingProgram p, Weights w, Tensor t, long i, Tensor x, Tensor dy) {
    float v = t.getFloat(i);
    t.setFloat(i, v + 1e-3f);
    p.updateWeights(w);
    double up = loss(p, x, dy);
    t.setFloat(i, v - 1e-3f);
    p.updateWeights(w);
    double down = loss(p, x, dy);
    t.setFloat(i, v);
    p.updateWeights(w);
    return (up - down) / 2e-3;
  }

  /** A value read by two nodes gets the sum of both gradients: y = x + x gives dx = 2·dy. */
  @Test
  void fanOutSumsGradients() {
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, Dim.of(4));
              b.output("y", b.add(x, x));
            });
    try (Weights w = Weights.empty();
        TrainingProgram p = TrainingProgram.open(g, w, Options.backend("test-grad"));
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 4);
        Tensor dy = Tensor.of(new float[] {1, -1, 0.5f, 2}, 4)) {
      p.forward(Map.of("x", x));
      try (TrainingProgram.Gradients grads = p.backward(Map.of("y", dy))) {
        assertEquals(
            java.util.List.of(2f, -2f, 1f, 4f),
            java.util.Arrays.asList(boxed(grads.inputs().get("x").toFloatArray())));
      }
    }
  }

  /** A constant operand gets no gradient (and needs none): y = x + c gives only dx = dy. */
  @Test
  void constantsGetNoGradient() {
    Graph g;
    try (Tensor c = Tensor.of(new float[] {10, 20, 30, 40}, 4)) {
      g =
          Graph.build(
              b -> {
                Value x = b.input("x", DType.F32, Dim.of(4));
                b.output("y", b.add(x, b.constant("c", c)));
              });
    }
    try (Weights w = Weights.empty();
        TrainingProgram p = TrainingProgram.open(g, w, Options.backend("test-grad"));
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 4);
        Tensor dy = Tensor.of(new float[] {1, -1, 0.5f, 2}, 4)) {
      assertEquals(
          java.util.List.of(11f, 22f, 33f, 44f),
          java.util.Arrays.asList(boxed(p.forward(Map.of("x", x)).get("y").toFloatArray())));
      try (TrainingProgram.Gradients grads = p.backward(Map.of("y", dy))) {
        assertEquals(java.util.Set.of("x"), grads.inputs().keySet());
        assertEquals(
            java.util.Arrays.asList(boxed(dy.toFloatArray())),
            java.util.Arrays.asList(boxed(grads.inputs().get("x").toFloatArray())));
      }
    }
  }

  private static Float[] boxed(float[] v) {
    Float[] b = new Float[v.length];
    for (int i = 0; i < v.length; i++) {
      b[i] = v[i];
    }
    return b;
  }

  /**
   * Softmax has no backward on the test backend: it moves to a backend that can train it, and the
   * gradient through it is the one an all-reference program gives.
   */
  @Test
  void untrainableNodeMovesToABackendThatTrainsIt() {
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, dyn("N"), Dim.of(3));
              b.output("y", b.softmax(b.linear("a", x, 2, true)));
            });
    try (Weights w = Weights.random(g, 1);
        TrainingProgram p = TrainingProgram.open(g, w, Options.backend("test-grad"));
        TrainingProgram ref = TrainingProgram.open(g, w, Options.backend("reference"));
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 1, 3);
        Tensor dy = Tensor.of(new float[] {1, 0}, 1, 2)) {
      assertEquals("test-grad", p.placement().get("a"));
      assertTrue(
          java.util.Set.of("java", "reference").contains(p.placement().get("softmax")),
          "softmax trains on " + p.placement().get("softmax"));
      p.forward(Map.of("x", x));
      ref.forward(Map.of("x", x));
      try (TrainingProgram.Gradients a = p.backward(Map.of("y", dy));
          TrainingProgram.Gradients b = ref.backward(Map.of("y", dy))) {
        float[] ga = a.inputs().get("x").toFloatArray();
        float[] gb = b.inputs().get("x").toFloatArray();
        for (int i = 0; i < ga.length; i++) {
          assertEquals(gb[i], ga[i], 1e-6f);
        }
        assertTrue(Math.abs(ga[0]) > 1e-4, "a gradient flows: " + ga[0]);
      }
    }
  }

  @Test
  void badGradientsAreClearErrors() {
    Graph g = diamond();
    try (Weights w = Weights.random(g, 1);
        TrainingProgram p = TrainingProgram.open(g, w, Options.backend("test-grad"));
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 1, 3);
        Tensor wrong = Tensor.of(new float[] {1, 0, 0}, 1, 3)) {
      var e0 = assertThrows(IllegalStateException.class, () -> p.backward(Map.of()));
      assertTrue(e0.getMessage().contains("forward pass first"), e0.getMessage());
      p.forward(Map.of("x", x));
      Map<String, Tensor> m = new LinkedHashMap<>();
      m.put("y", wrong);
      var e1 = assertThrows(IllegalArgumentException.class, () -> p.backward(m));
      assertTrue(
          e1.getMessage().contains("gradient of output 'y' must be F32 [1, 2]"), e1.getMessage());
      var e2 = assertThrows(IllegalArgumentException.class, () -> p.backward(Map.of("z", wrong)));
      assertTrue(e2.getMessage().contains("unknown output 'z'; outputs: y"), e2.getMessage());
    }
  }
}
