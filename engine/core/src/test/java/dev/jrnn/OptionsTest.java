package dev.jrnn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Options are immutable copies that keep every setting. */
class OptionsTest {

  @Test
  void everySettingSurvivesTheOthers() {
    Options o = Options.backend("opencl").device(" gpu ").threads(3).withBackend("java");
    assertEquals("java", o.backendName());
    assertEquals(3, o.threadCount());
    assertEquals(Optional.of("gpu"), o.deviceSelector());
    assertEquals(Optional.empty(), Options.defaults().deviceSelector());
    assertTrue(o.toString().contains("device=gpu"), o.toString());
  }

  @Test
  void blankOrNegativeSettingsAreErrors() {
    assertThrows(IllegalArgumentException.class, () -> Options.defaults().device(" "));
    assertThrows(IllegalArgumentException.class, () -> Options.defaults().device(null));
    assertThrows(IllegalArgumentException.class, () -> Options.defaults().threads(-1));
    assertThrows(IllegalArgumentException.class, () -> Options.backend(""));
  }

  @Test
  void aBackendWithoutDevicesIgnoresTheSelector() {
    Graph g =
        Graph.build(
            b ->
                b.output(
                    "y",
                    b.recurrent(
                        b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(2)),
                        Recurrent.gru(3))));
    try (Weights w = Weights.random(g, 1);
        Session s = Session.open(g, w, Options.backend("java").device("gpu"));
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 2, 1, 2);
        Result r = s.run(java.util.Map.of("x", x))) {
      assertEquals(6, r.get("y").size());
    }
  }
}
