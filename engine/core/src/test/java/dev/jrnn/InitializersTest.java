package dev.jrnn;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link Weights#random(Graph, String, long)}: Keras' defaults and PyTorch's, by name. */
class InitializersTest {

  static Graph graph() {
    return Graph.build(
        b -> {
          Value ids = b.input("ids", DType.I32, dyn("T"), dyn("N"));
          Value y = b.recurrent(b.embedding(ids, 50, 12), Recurrent.lstm(16).layers(2));
          b.output("out", b.linear(b.lastStep(y), 3));
        });
  }

  @Test
  void kerasDefaults() {
    try (Weights w = Weights.random(graph(), "keras", 7)) {
      float[] r = w.get("lstm.l1.fwd.R").toFloatArray(); // [64, 16], orthonormal columns
      for (int a = 0; a < 16; a++) {
        for (int b = 0; b < 16; b++) {
          double dot = 0;
          for (int k = 0; k < 64; k++) {
            dot += (double) r[k * 16 + a] * r[k * 16 + b];
          }
          assertEquals(a == b ? 1 : 0, dot, 1e-5, "RᵀR at " + a + "," + b);
        }
      }
      float[] bw = w.get("lstm.l0.fwd.bW").toFloatArray();
      for (int j = 0; j < 64; j++) {
        assertEquals(j >= 16 && j < 32 ? 1f : 0f, bw[j], "bW[" + j + "]: forget gate 1");
      }
      assertEquals(0, max(w.get("lstm.l0.fwd.bR").toFloatArray()));
      double limit = Math.sqrt(6.0 / (64 + 12)); // W [4H, I]
      float[] wx = w.get("lstm.l0.fwd.W").toFloatArray();
      assertTrue(max(wx) <= limit && max(wx) > 0.8 * limit, "glorot bound " + max(wx));
      assertTrue(max(w.get("embedding.weight").toFloatArray()) <= 0.05);
      assertEquals(0, max(w.get("linear.bias").toFloatArray()));
    }
  }

  @Test
  void seededAndNamed() {
    try (Weights a = Weights.random(graph(), "keras", 3);
        Weights b = Weights.random(graph(), "keras", 3);
        Weights c = Weights.random(graph(), "pytorch", 3);
        Weights d = Weights.random(graph(), 3)) {
      assertArrayEquals(
          a.get("lstm.l0.fwd.R").toFloatArray(), b.get("lstm.l0.fwd.R").toFloatArray());
      assertArrayEquals(
          c.get("lstm.l0.fwd.R").toFloatArray(), d.get("lstm.l0.fwd.R").toFloatArray());
      double bound = 1 / Math.sqrt(16);
      assertTrue(max(c.get("lstm.l0.fwd.bR").toFloatArray()) <= bound);
    }
    var e =
        assertThrows(IllegalArgumentException.class, () -> Weights.random(graph(), "xavier", 1));
    assertTrue(e.getMessage().contains("xavier") && e.getMessage().contains("keras"));
  }

  private static double max(float[] v) {
    double m = 0;
    for (float x : v) {
      m = Math.max(m, Math.abs(x));
    }
    return m;
  }
}
