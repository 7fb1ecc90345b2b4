package dev.jrnn.backend.reference;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PartitionTest {

  @Test
  void unsupportedNodesFallBackToJavaAndResultsAreUnchanged() {
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, dyn("T"), dyn("N"), Dim.of(3));
              Value h = b.recurrent(b.tanh(x), Recurrent.gru(4));
              b.output("y", b.softmax(b.linear(h, 2)));
            });
    try (Weights w = Weights.random(g, 2);
        Session mixed = Session.open(g, w, Options.backend("test-partial"));
        Session ref = Session.open(g, w, Options.backend("reference"));
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 2, 2, 3);
        Result a = mixed.run(Map.of("x", x));
        Result b = ref.run(Map.of("x", x))) {
      assertEquals("test-partial", mixed.backend());
      assertEquals(
          Map.of(
              "tanh",
              "test-partial",
              "gru",
              "java",
              "linear",
              "test-partial",
              "softmax",
              "test-partial"),
          mixed.placement());
      assertArrayEquals(b.get("y").toFloatArray(), a.get("y").toFloatArray(), 1e-5f);
    }
  }
}
