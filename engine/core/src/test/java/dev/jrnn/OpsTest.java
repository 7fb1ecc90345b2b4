package dev.jrnn;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/** The non-recurrent ops of the reference backend against hand-computed values. */
class OpsTest {

  private static float[] run(Graph g, Weights w, Map<String, Tensor> in) {
    try (Session s = Session.open(g, w, Options.backend("reference"));
        Result r = s.run(in)) {
      return r.get("y").toFloatArray();
    }
  }

  private static float[] unary(BiFunction<Graph.Builder, Value, Value> op, float... x) {
    Graph g =
        Graph.build(b -> b.output("y", op.apply(b, b.input("x", DType.F32, Dim.of(x.length)))));
    try (Weights w = Weights.empty();
        Tensor t = Tensor.of(x, x.length)) {
      return run(g, w, Map.of("x", t));
    }
  }

  @Test
  void activations() {
    assertArrayEquals(
        new float[] {0f, 0.7615942f, -0.9640276f}, unary(Graph.Builder::tanh, 0, 1, -2), 1e-7f);
    assertArrayEquals(new float[] {0.5f, 0.7310586f}, unary(Graph.Builder::sigmoid, 0, 1), 1e-7f);
    assertArrayEquals(new float[] {0f, 3f}, unary(Graph.Builder::relu, -1, 3), 0f);
    assertArrayEquals(
        new float[] {0.09003057f, 0.24472847f, 0.66524096f},
        unary(Graph.Builder::softmax, 1, 2, 3),
        1e-7f);
    assertArrayEquals(
        new float[] {-2.4076059f, -1.4076059f, -0.4076059f},
        unary(Graph.Builder::logSoftmax, 1, 2, 3),
        1e-6f);
  }

  @Test
  void embeddingLinearAndLastStep() {
    Graph g =
        Graph.build(
            b -> {
              Value ids = b.input("ids", DType.I32, dyn("T"), dyn("N"));
              Value len = b.input("len", DType.I32, dyn("N"));
              Value e = b.embedding("emb", ids, 3, 2);
              b.output("y", b.linear("fc", b.lastStep(e, len, false), 1, true));
            });
    try (Weights w = Weights.empty()) {
      w.put("emb.weight", Tensor.of(new float[] {0, 0, 1, 2, 3, 4}, 3, 2));
      w.put("fc.weight", Tensor.of(new float[] {10, 1}, 1, 2));
      w.put("fc.bias", Tensor.of(new float[] {0.5f}, 1));
      try (Tensor ids = Tensor.of(new int[] {1, 2, 2, 0}, 2, 2); // [T=2, N=2]
          Tensor len = Tensor.of(new int[] {2, 1}, 2)) {
        // row 0 ends at t=1 (id 2 -> [3, 4]), row 1 at t=0 (id 2 -> [3, 4])
        assertArrayEquals(
            new float[] {34.5f, 34.5f}, run(g, w, Map.of("ids", ids, "len", len)), 0f);
      }
      try (Tensor ids = Tensor.of(new int[] {1, 7, 2, 0}, 2, 2);
          Tensor len = Tensor.of(new int[] {2, 1}, 2)) {
        var e =
            assertThrows(
                IllegalArgumentException.class, () -> run(g, w, Map.of("ids", ids, "len", len)));
        assertTrue(e.getMessage().contains("token id 7 at position 1 of 'ids'"), e.getMessage());
        assertTrue(e.getMessage().contains("outside the vocabulary [0, 3)"), e.getMessage());
      }
    }
  }

  @Test
  void broadcastingArithmeticAndConcat() {
    Graph g =
        Graph.build(
            b -> {
              Value a = b.input("a", DType.F32, Dim.of(2), Dim.of(3));
              Value c = b.input("c", DType.F32, Dim.of(3));
              Value s = b.add(a, c);
              b.output("y", b.concat(1, s, b.mul(a, c)));
            });
    try (Weights w = Weights.empty();
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor c = Tensor.of(new float[] {10, 20, 30}, 3)) {
      assertArrayEquals(
          new float[] {11, 22, 33, 10, 40, 90, 14, 25, 36, 40, 100, 180},
          run(g, w, Map.of("a", a, "c", c)),
          0f);
    }
  }
}
