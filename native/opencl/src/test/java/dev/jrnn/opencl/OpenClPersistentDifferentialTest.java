package dev.jrnn.opencl;

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
import dev.jrnn.testing.DifferentialSuite;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The differential suite with {@code -Djrnn.opencl.persistent=true}: LSTM layers without
 * projection, GRU of both variants and RNN run as one launch per layer and direction
 * (lstmPersistentForward, gruLbrPersistentForward, gruPersistentForward, rnnPersistentForward)
 * reading R as it is (OpenClPersistentTransposedTest: transposed), LSTM with projection per step;
 * and the launch counts that show which ran.
 */
class OpenClPersistentDifferentialTest extends DifferentialSuite {
  @BeforeAll
  void persistent() {
    Device.require();
    System.setProperty("jrnn.opencl.persistent", "true");
    System.setProperty("jrnn.opencl.persistentLayout", "rows"); // the CPU default, on any device
  }

  @AfterAll
  void perStep() {
    System.clearProperty("jrnn.opencl.persistent");
    System.clearProperty("jrnn.opencl.persistentLayout");
  }

  @Override
  protected Options options(int threads) {
    return Options.backend("opencl").threads(threads);
  }

  /**
   * A 2-layer bidirectional stack over T = 5: 2 launches per layer and direction (the input GEMM
   * and the persistent kernel), 8 in all; LSTM with projection falls back to 4 per step (recurrent
   * GEMM, cell, projection GEMM, output) after each input GEMM, 84.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"lstm", "lstm-projection", "gru-lbr", "gru-reset-first", "rnn"})
  void oneLaunchPerLayerAndDirection(String cell) {
    Recurrent spec =
        switch (cell) {
          case "lstm" -> Recurrent.lstm(6);
          case "lstm-projection" -> Recurrent.lstm(6).projection(4);
          case "gru-lbr" -> Recurrent.gru(6);
          case "gru-reset-first" -> Recurrent.gru(6).linearBeforeReset(false);
          default -> Recurrent.rnn(6);
        };
    Recurrent s = spec.layers(2).bidirectional().name("rnn");
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(3));
              b.output("y", b.recurrent(x, s));
            });
    try (Weights w = Weights.random(g, 1);
        Tensor x = Tensor.allocate(DType.F32, 5, 2, 3);
        Session session = Session.open(g, w, Options.backend("opencl"))) {
      long before = Lane.LAUNCHES.get();
      session.run(Map.of("x", x)).close();
      long launches = Lane.LAUNCHES.get() - before;
      assertEquals(cell.equals("lstm-projection") ? 4 * (1 + 4 * 5) : 8, launches, cell);
      try (Result r = session.run(Map.of("x", x))) {
        assertEquals(5 * 2 * s.outputSize(), r.get("y").size());
      }
    }
  }
}
