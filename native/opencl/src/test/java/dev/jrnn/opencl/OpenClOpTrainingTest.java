package dev.jrnn.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.exec.TrainingProgram;
import dev.jrnn.testing.Fixture;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Embedding, linear layers (with and without bias, rows and widths off the GEMM's 4×4 blocks) and
 * every activation train on opencl: input and weight gradients of a random upstream gradient
 * against reference, within 1e-4 of max(1, max|expected|) as the backward differential suite.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenClOpTrainingTest {

  @BeforeAll
  void device() {
    Device.require();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(Activation.Kind.class)
  void linearAndActivationMatchReference(Activation.Kind kind) {
    Activation fn =
        switch (kind) {
          case LEAKY_RELU, ELU, AFFINE, THRESHOLDED_RELU -> Activation.of(kind, 0.3f, 0.1f);
          case HARD_SIGMOID, SCALED_TANH -> Activation.of(kind, 0.4f, 0.6f);
          default -> Activation.of(kind);
        };
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, Dim.dyn("N"), Dim.of(9));
              Value h = b.activation(b.linear("a", x, 7, true), fn);
              b.output("y", b.linear("b", h, 5, false));
            });
    Random r = new Random(kind.ordinal());
    try (Weights w = Weights.random(g, 3);
        Tensor x = random(r, 13, 9);
        Tensor dy = random(r, 13, 5);
        TrainingProgram ref = TrainingProgram.open(g, w, Options.backend("reference"));
        TrainingProgram cl = TrainingProgram.open(g, w, Options.backend("opencl"))) {
      cl.placement().forEach((node, on) -> assertEquals("opencl", on, node + " trains on " + on));
      Map<String, Tensor> in = Map.of("x", x);
      double out = Fixture.maxAbsDiff(ref.forward(in).get("y"), cl.forward(in).get("y"));
      double worst = 0;
      String at = "";
      try (TrainingProgram.Gradients want = ref.backward(Map.of("y", dy));
          TrainingProgram.Gradients got = cl.backward(Map.of("y", dy))) {
        Map<String, Tensor> e = new LinkedHashMap<>(want.weights());
        e.putAll(want.inputs());
        Map<String, Tensor> a = new LinkedHashMap<>(got.weights());
        a.putAll(got.inputs());
        assertEquals(e.keySet(), a.keySet());
        for (Map.Entry<String, Tensor> t : e.entrySet()) {
          double scale = 1;
          for (float v : t.getValue().toFloatArray()) {
            scale = Math.max(scale, Math.abs(v));
          }
          double d = Fixture.maxAbsDiff(t.getValue(), a.get(t.getKey())) / scale;
          if (d > worst) {
            worst = d;
            at = t.getKey();
          }
        }
      }
      System.out.printf(
          "opencl training linear, %s, linear: output %.1e, gradients %.1e (%s)%n",
          fn, out, worst, at);
      assertTrue(out <= 1e-5, fn + ": output differs by " + out);
      assertTrue(worst <= 1e-4, fn + ": gradient of " + at + " differs by " + worst);
    }
  }

  /** Repeated ids, an unused id and widths off the blocks: the table's gradient, grouped by id. */
  @org.junit.jupiter.api.Test
  void embeddingMatchesReference() {
    Graph g =
        Graph.build(
            b -> {
              Value ids = b.input("ids", DType.I32, Dim.dyn("T"), Dim.dyn("N"));
              b.output("y", b.linear(b.embedding(ids, 7, 5), 3));
            });
    Random r = new Random(4);
    try (Weights w = Weights.random(g, 3);
        Tensor ids = Tensor.of(new int[] {3, 0, 3, 6, 1, 3, 0, 6, 2}, 3, 3);
        Tensor dy = random(r, 9, 3);
        TrainingProgram ref = TrainingProgram.open(g, w, Options.backend("reference"));
        TrainingProgram cl = TrainingProgram.open(g, w, Options.backend("opencl"))) {
      cl.placement().forEach((node, on) -> assertEquals("opencl", on, node + " trains on " + on));
      Map<String, Tensor> in = Map.of("ids", ids);
      ref.forward(in);
      cl.forward(in);
      Map<String, Tensor> up = Map.of("y", dy.reshape(3, 3, 3));
      try (TrainingProgram.Gradients want = ref.backward(up);
          TrainingProgram.Gradients got = cl.backward(up)) {
        for (String name : want.weights().keySet()) {
          double d = Fixture.maxAbsDiff(want.weights().get(name), got.weights().get(name));
          assertTrue(d <= 1e-5, name + " differs by " + d);
        }
      }
    }
  }

  private static Tensor random(Random r, int... shape) {
    float[] v = new float[shape[0] * shape[1]];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return Tensor.of(v, shape);
  }
}
