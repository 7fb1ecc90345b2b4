package dev.jrnn;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Running a sequence in chunks through {@link Session#step} equals one full {@link Session#run}.
 */
class StreamingTest {

  static Graph stack(Recurrent.Cell cell) {
    return Graph.build(
        b -> {
          Value x = b.input("x", DType.F32, dyn("T"), dyn("N"), Dim.of(4));
          Recurrent first =
              switch (cell) {
                case LSTM -> Recurrent.lstm(6).layers(2).projection(3);
                case GRU -> Recurrent.gru(5).layers(2);
                case RNN -> Recurrent.rnn(9);
              };
          Value a = b.recurrent(x, first.name("first"));
          Value c = b.recurrent(b.tanh(a), Recurrent.lstm(3).name("second"));
          b.output("out", b.linear(c, 2));
          b.output("h", c.finalH());
        });
  }

  @ParameterizedTest
  @ValueSource(strings = {"LSTM", "GRU", "RNN"})
  void chunkedStepsEqualOneRun(String cell) {
    Graph g = stack(Recurrent.Cell.valueOf(cell));
    int steps = 11;
    try (Weights w = Weights.random(g, 3);
        Session s = Session.open(g, w, Options.backend("reference"));
        Tensor x = SessionTest.randn(7, steps, 2, 4);
        Result full = s.run(Map.of("x", x));
        State st = s.newState()) {
      float[] whole = full.get("out").toFloatArray();
      int[] chunks = {1, 3, 2, 5};
      int t = 0;
      for (int c : chunks) {
        try (Result r = s.step(st, Map.of("x", x.slice(t, t + c)))) {
          float[] part = r.get("out").toFloatArray();
          for (int i = 0; i < part.length; i++) {
            assertEquals(whole[t * 2 * 2 + i], part[i], 1e-6, "chunk at t=" + t + " index " + i);
          }
          if (t + c == steps) {
            assertArrayEquals(full.get("h").toFloatArray(), r.get("h").toFloatArray(), 1e-6f);
          }
        }
        t += c;
      }
      assertEquals(steps, t);
      assertEquals(2, st.batchSize());
    }
  }

  @Test
  void statesResetCopyAndSave(@TempDir Path dir) throws Exception {
    Graph g = stack(Recurrent.Cell.LSTM);
    try (Weights w = Weights.random(g, 5);
        Session s = Session.open(g, w, Options.backend("reference"));
        Tensor x = SessionTest.randn(8, 6, 1, 4);
        State st = s.newState()) {
      s.step(st, Map.of("x", x.slice(0, 3))).close();
      try (State fork = st.copy()) {
        float[] a;
        float[] b;
        try (Result r = s.step(st, Map.of("x", x.slice(3, 6)))) {
          a = r.get("out").toFloatArray();
        }
        try (Result r = s.step(fork, Map.of("x", x.slice(3, 6)))) {
          b = r.get("out").toFloatArray();
        }
        assertArrayEquals(a, b); // the copy continues exactly like the original
        Path file = dir.resolve("state.safetensors");
        fork.save(file);
        try (State loaded = s.newState()) {
          loaded.load(file);
          assertArrayEquals(
              fork.hidden("first").toFloatArray(), loaded.hidden("first").toFloatArray());
          assertArrayEquals(
              fork.cell("second").toFloatArray(), loaded.cell("second").toFloatArray());
          // A bad file names the problem and leaves the state as it was.
          float[] before = loaded.hidden("second").toFloatArray();
          Path bad = dir.resolve("bad.safetensors");
          try (Tensor flat = Tensor.allocate(DType.F32, 6)) {
            dev.jrnn.io.SafeTensors.write(bad, Map.of("first.h", flat), Map.of());
          }
          var e = assertThrows(ModelFormatException.class, () -> loaded.load(bad));
          assertTrue(e.getMessage().contains("'first.h' is F32 [6], a state is"), e.getMessage());
          assertArrayEquals(before, loaded.hidden("second").toFloatArray());
        }
        // hidden() and cell() are views: closing one leaves the state's memory alone.
        float[] h = fork.hidden("first").toFloatArray();
        float[] c = fork.cell("second").toFloatArray();
        fork.hidden("first").close();
        fork.cell("second").close();
        assertArrayEquals(h, fork.hidden("first").toFloatArray());
        assertArrayEquals(c, fork.cell("second").toFloatArray());
      }
      st.reset();
      try (Result fromReset = s.step(st, Map.of("x", x.slice(0, 3)));
          Result fresh = s.run(Map.of("x", x.slice(0, 3)))) {
        assertArrayEquals(
            fresh.get("out").toFloatArray(), fromReset.get("out").toFloatArray(), 1e-6f);
      }
      try (Tensor wide = SessionTest.randn(9, 2, 3, 4)) {
        var e = assertThrows(IllegalArgumentException.class, () -> s.step(st, Map.of("x", wide)));
        assertTrue(e.getMessage().contains("this state holds batch size 1"), e.getMessage());
      }
    }
  }

  /** A reverse direction needs the whole sequence: newState refuses at once, not the first step. */
  @Test
  void newStateRefusesBidirectionalLayers() {
    Graph g =
        Graph.build(
            b ->
                b.output(
                    "y",
                    b.recurrent(
                        b.input("x", DType.F32, dyn("T"), dyn("N"), Dim.of(2)),
                        Recurrent.gru(3).bidirectional())));
    try (Weights w = Weights.random(g, 1);
        Session s = Session.open(g, w, Options.backend("reference"))) {
      var e = assertThrows(IllegalStateException.class, s::newState);
      assertTrue(e.getMessage().contains("forward-only"), e.getMessage());
      assertTrue(e.getMessage().contains("'gru' is BIDIRECTIONAL"), e.getMessage());
    }
  }
}
