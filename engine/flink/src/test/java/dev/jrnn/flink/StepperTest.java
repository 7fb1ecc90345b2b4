package dev.jrnn.flink;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Model;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.State;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The batch of streams under both operators, without Flink: layouts found by probing (a batch-first
 * graph over token ids), rows that move between keys, and the mistakes it names.
 */
class StepperTest {

  @TempDir Path dir;

  /** Token ids {@code [N, T]} → embedding → batch-first GRU → linear {@code [N, T, 2]}. */
  private Path tokenModel() {
    Graph g =
        Graph.build(
            b -> {
              Value tokens = b.input("tokens", DType.I32, Dim.dyn("N"), Dim.dyn("T"));
              Value seq = b.recurrent(b.embedding(tokens, 10, 4), Recurrent.gru(5).batchFirst());
              b.output("y", b.linear(seq, 2));
            });
    Path file = dir.resolve("tokens.jrnn");
    try (Model m = new Model(g, Weights.random(g, 3), "jrnn model")) {
      m.save(file);
    }
    return file;
  }

  private static RecurrentSpec<String, Integer, float[]> tokenSpec(Path model) {
    return RecurrentSpec.<String, Integer, float[]>builder()
        .model(model)
        .intInput("tokens", token -> new int[] {token})
        .output((key, token, out) -> out.get("y"))
        .backend("java")
        .build();
  }

  /** One plain batch-1 session step per token, from the zero state: the last step's y. */
  private static float[] sequential(Session s, int... tokens) {
    try (State st = s.newState()) {
      float[] y = null;
      for (int token : tokens) {
        try (Tensor t = Tensor.of(new int[] {token}, 1, 1);
            Result r = s.step(st, Map.of("tokens", t))) {
          y = r.get("y").toFloatArray();
        }
      }
      return y;
    }
  }

  @Test
  void rowsOfABatchFirstTokenModelStepLikeTheirOwnStreams() throws Exception {
    Path model = tokenModel();
    RecurrentSpec<String, Integer, float[]> spec = tokenSpec(model);
    try (Stepper<String, Integer> b = new Stepper<>(spec, 3);
        Session s = Session.open(model, Options.backend("java").threads(1))) {
      assertEquals(5, b.rowSize());
      // Three keys' first events in rows 0..2.
      int[] first = {1, 7, 3};
      for (int r = 0; r < 3; r++) {
        b.load(r, null, "k" + r);
        b.input(r, b.features(first[r], "k" + r));
      }
      b.step();
      float[][] saved = new float[3][];
      for (int r = 0; r < 3; r++) {
        saved[r] = b.save(r);
        assertArrayEquals(sequential(s, first[r]), b.outputs(r).get("y"), 1e-6f, "row " + r);
      }
      // Their second events with the keys in other rows, and only two of them.
      int[] second = {9, 2};
      int[] key = {2, 0};
      for (int r = 0; r < 2; r++) {
        b.load(r, saved[key[r]], "k" + key[r]);
        b.input(r, b.features(second[r], "k" + key[r]));
      }
      b.step();
      for (int r = 0; r < 2; r++) {
        assertArrayEquals(
            sequential(s, first[key[r]], second[r]), b.outputs(r).get("y"), 1e-6f, "key " + key[r]);
      }
    }
  }

  @Test
  void modelBytesWorkLikeTheFile() throws Exception {
    Path model = tokenModel();
    RecurrentSpec<String, Integer, float[]> spec =
        RecurrentSpec.<String, Integer, float[]>builder()
            .model(Files.readAllBytes(model))
            .intInput("tokens", token -> new int[] {token})
            .output((key, token, out) -> out.get("y"))
            .backend("java")
            .build();
    try (Stepper<String, Integer> b = new Stepper<>(spec, 1);
        Session s = Session.open(model, Options.backend("java").threads(1))) {
      b.load(0, null, "k");
      b.input(0, b.features(4, "k"));
      b.step();
      assertArrayEquals(sequential(s, 4), b.outputs(0).get("y"));
    }
  }

  @Test
  void mistakesAreNamed() {
    Path model = tokenModel();
    var noSuchInput =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new Stepper<>(
                    RecurrentSpec.<String, Integer, float[]>builder()
                        .model(model)
                        .intInput("ids", token -> new int[] {token})
                        .output((key, token, out) -> out.get("y"))
                        .build(),
                    2));
    assertEquals("the model has no input 'ids'; its inputs: [tokens]", noSuchInput.getMessage());
    var wrongType =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new Stepper<>(
                    RecurrentSpec.<String, Integer, float[]>builder()
                        .model(model)
                        .input("tokens", token -> new float[] {token})
                        .output((key, token, out) -> out.get("y"))
                        .build(),
                    2));
    assertEquals(
        "input 'tokens' is I32 in the model, given as F32 (use intInput)", wrongType.getMessage());
    try (Stepper<String, Integer> b =
        new Stepper<>(
            RecurrentSpec.<String, Integer, float[]>builder()
                .model(model)
                .intInput("tokens", token -> token < 0 ? null : new int[] {token, token})
                .output((key, token, out) -> out.get("y"))
                .build(),
            2)) {
      var length = assertThrows(IllegalArgumentException.class, () -> b.features(3, "user-9"));
      assertEquals(
          "key user-9: input 'tokens' needs 1 ints per event, the event gave 2",
          length.getMessage());
      var none = assertThrows(IllegalArgumentException.class, () -> b.features(-1, "user-9"));
      assertTrue(none.getMessage().endsWith("the event gave null"), none.getMessage());
      var stored =
          assertThrows(IllegalStateException.class, () -> b.load(0, new float[3], "user-4"));
      assertEquals(
          "key user-4: its stored state has 3 floats, this model's state has 5 (was the job"
              + " restored with another model?)",
          stored.getMessage());
    }
    var builder = RecurrentSpec.<String, Integer, float[]>builder().model(model);
    var noInput = assertThrows(IllegalStateException.class, builder::build);
    assertTrue(noInput.getMessage().startsWith("no input"), noInput.getMessage());
  }
}
