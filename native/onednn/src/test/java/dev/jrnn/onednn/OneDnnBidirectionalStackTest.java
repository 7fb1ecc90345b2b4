package dev.jrnn.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import dev.jrnn.testing.Fixture;
import dev.jrnn.testing.GoldenSuite;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Multi-layer bidirectional stacks whose input size equals a later layer's, which one oneDNN
 * primitive would take for all layers: oneDNN runs its two directions as independent stacks, jrnn
 * feeds each layer both directions' merged output, so onednn must run such a stack layer by layer.
 */
class OneDnnBidirectionalStackTest {

  @ParameterizedTest(name = "{0} {1} L={2} H={3} I={4}")
  @CsvSource({
    "LSTM, SUM, 2, 64, 64",
    "LSTM, CONCAT, 2, 32, 64",
    "GRU, SUM, 3, 16, 16",
    "RNN, CONCAT, 3, 8, 16",
  })
  void matchesReference(Recurrent.Cell cell, Recurrent.Merge merge, int layers, int h, int in) {
    Recurrent base =
        switch (cell) {
          case LSTM -> Recurrent.lstm(h);
          case GRU -> Recurrent.gru(h);
          case RNN -> Recurrent.rnn(h);
        };
    Recurrent spec = base.layers(layers).bidirectional(merge).name("rnn");
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(in));
              Value y = b.recurrent(x, spec, null, null, null);
              b.output("y", y);
              b.output("h", y.finalH());
            });
    try (Weights w = Weights.random(g, 3);
        Tensor x = OneDnnBackendTest.random(5, 5, 4, in);
        Session ref = Session.open(g, w, Options.backend("reference"));
        Session s = Session.open(g, w, Options.backend("onednn").threads(1));
        Result want = ref.run(Map.of("x", x));
        Result got = s.run(Map.of("x", x))) {
      assertEquals("onednn", s.placement().get("rnn"));
      for (String name : want.names()) {
        double d = Fixture.maxAbsDiff(want.get(name), got.get(name));
        assertTrue(d <= GoldenSuite.TOLERANCE, name + ": max abs diff " + d);
      }
    }
  }
}
