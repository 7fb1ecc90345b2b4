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
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.IrValue;
import dev.jrnn.ir.Op;
import dev.jrnn.testing.Fixture;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Embedding, linear layers (with and without bias, rows and widths off the GEMM's 4×4 blocks),
 * every activation, softmax and log-softmax (along each axis), last-step (ragged, both layouts) and
 * dropout train on opencl: input and weight gradients of a random upstream gradient against
 * reference, within 1e-4 of max(1, max|expected|) as the backward differential suite for linear and
 * the activations, 1e-5 for the others (dropout: outputs and gradients with the same seed, so the
 * same mask).
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

  /** Softmax or log-softmax of a linear layer's [N, 5, 7] output along each axis. */
  @ParameterizedTest(name = "log={0} axis={1}")
  @org.junit.jupiter.params.provider.CsvSource({
    "false, 2",
    "false, 1",
    "false, 0",
    "true, 2",
    "true, 1",
    "true, 0"
  })
  void softmaxMatchesReference(boolean log, int axis) {
    IrGraph.Builder b = IrGraph.builder();
    IrValue x = b.input("x", DType.F32, Dim.dyn("N"), Dim.of(5), Dim.of(6));
    IrValue h = b.linear("a", x, 7, true);
    b.output("y", b.node("sm", new Op.Softmax(axis, log), h)[0]);
    Graph g = b.build();
    Random r = new Random(axis + (log ? 10 : 0));
    try (Tensor in = random(r, 3, 5, 6);
        Tensor dy = random(r, 3, 5, 7)) {
      double worst = compare(g, Map.of("x", in), Map.of("y", dy), 0);
      System.out.printf(
          "opencl training %s along axis %d: outputs and gradients %.1e%n",
          log ? "log-softmax" : "softmax", axis, worst);
      assertTrue(worst <= 1e-5, "differs by " + worst);
    }
  }

  /** Last step of a linear layer's sequence: ragged lengths in either layout, or none. */
  @ParameterizedTest(name = "batchFirst={0} lengths={1}")
  @org.junit.jupiter.params.provider.CsvSource({"false, true", "true, true", "false, false"})
  void lastStepMatchesReference(boolean bf, boolean ragged) {
    int steps = 4;
    int batch = 5;
    Graph g =
        Graph.build(
            b -> {
              Value x =
                  bf
                      ? b.input("x", DType.F32, Dim.dyn("N"), Dim.dyn("T"), Dim.of(9))
                      : b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(9));
              Value seq = b.linear("a", x, 6, true);
              Value last =
                  ragged
                      ? b.lastStep(seq, b.input("len", DType.I32, Dim.dyn("N")), bf)
                      : b.lastStep(seq);
              b.output("y", b.linear("b", last, 3, false));
            });
    Random r = new Random(bf ? 5 : 6);
    try (Tensor x = random(r, bf ? batch : steps, bf ? steps : batch, 9);
        Tensor len = Tensor.of(new int[] {4, 1, 3, 2, 4}, batch);
        Tensor dy = random(r, batch, 3)) {
      Map<String, Tensor> in = ragged ? Map.of("x", x, "len", len) : Map.of("x", x);
      double worst = compare(g, in, Map.of("y", dy), 0);
      System.out.printf(
          "opencl training last step, batchFirst=%s, lengths=%s: %.1e%n", bf, ragged, worst);
      assertTrue(worst <= 1e-5, "differs by " + worst);
    }
  }

  /** Dropout between linear layers: the mask reference draws for the seed, forward and backward. */
  @ParameterizedTest(name = "p={0}")
  @org.junit.jupiter.params.provider.ValueSource(floats = {0.5f, 0.1f, 0.9f})
  void dropoutMatchesReference(float p) {
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, Dim.dyn("N"), Dim.of(9));
              Value h = b.dropout(b.tanh(b.linear("a", x, 37, true)), p);
              b.output("y", b.linear("b", h, 5, false));
            });
    Random r = new Random(9);
    try (Tensor x = random(r, 13, 9);
        Tensor dy = random(r, 13, 5)) {
      double worst = compare(g, Map.of("x", x), Map.of("y", dy), 77);
      System.out.printf("opencl training dropout p=%s: outputs and gradients %.1e%n", p, worst);
      assertTrue(worst <= 1e-5, "differs by " + worst);
      try (Weights w = Weights.random(g, 3);
          TrainingProgram cl = TrainingProgram.open(g, w, Options.backend("opencl"))) {
        float[] a = cl.forward(Map.of("x", x), 77).get("y").toFloatArray();
        float[] b = cl.forward(Map.of("x", x), 78).get("y").toFloatArray();
        assertTrue(!java.util.Arrays.equals(a, b), "the seed changed nothing");
        float[] e = cl.evaluate(Map.of("x", x)).get("y").toFloatArray();
        assertTrue(!java.util.Arrays.equals(a, e), "training drew no mask");
      }
    }
  }

  /**
   * One seeded training forward and backward of {@code g} on reference and opencl (every node on
   * opencl): the largest difference of an output or gradient, scaled by max(1, max|expected|).
   */
  private static double compare(
      Graph g, Map<String, Tensor> in, Map<String, Tensor> up, long seed) {
    try (Weights w = Weights.random(g, 3);
        TrainingProgram ref = TrainingProgram.open(g, w, Options.backend("reference"));
        TrainingProgram cl = TrainingProgram.open(g, w, Options.backend("opencl"))) {
      cl.placement().forEach((node, on) -> assertEquals("opencl", on, node + " trains on " + on));
      Map<String, Tensor> e = new LinkedHashMap<>();
      Map<String, Tensor> a = new LinkedHashMap<>();
      ref.forward(in, seed).forEach((k, v) -> e.put("out." + k, v));
      cl.forward(in, seed).forEach((k, v) -> a.put("out." + k, v));
      try (TrainingProgram.Gradients want = ref.backward(up);
          TrainingProgram.Gradients got = cl.backward(up)) {
        e.putAll(want.weights());
        e.putAll(want.inputs());
        a.putAll(got.weights());
        a.putAll(got.inputs());
        assertEquals(e.keySet(), a.keySet());
        double worst = 0;
        for (Map.Entry<String, Tensor> t : e.entrySet()) {
          double scale = 1;
          for (float v : t.getValue().toFloatArray()) {
            scale = Math.max(scale, Math.abs(v));
          }
          worst = Math.max(worst, Fixture.maxAbsDiff(t.getValue(), a.get(t.getKey())) / scale);
        }
        return worst;
      }
    }
  }

  private static Tensor random(Random r, int... shape) {
    float[] v = new float[Math.toIntExact(Tensor.elementCount(shape))];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return Tensor.of(v, shape);
  }
}
