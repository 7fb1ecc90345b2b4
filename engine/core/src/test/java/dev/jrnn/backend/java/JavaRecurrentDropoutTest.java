package dev.jrnn.backend.java;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.backend.java.JavaRecurrentTrainingTest.Case;
import dev.jrnn.backend.java.JavaRecurrentTrainingTest.Data;
import dev.jrnn.exec.TrainingProgram;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Dropout inside recurrent stacks on the java backend's training path: between layers and
 * variational on h(t-1), with the masks the reference backend draws for the same seed (outputs and
 * every gradient against the reference tape), the same bits for any thread count, none in
 * inference.
 */
class JavaRecurrentDropoutTest {

  static final long SEED = 0x5EED_1234L;

  static Case c(String name, Recurrent spec, int in, int t, int n, int[] lengths, boolean h0) {
    return JavaRecurrentTrainingTest.c(name, spec, in, t, n, lengths, h0);
  }

  static Stream<Arguments> cases() {
    int[] ragged = {2, 4, 2, 3, 1, 4, 3}; // unsorted, with ties
    return Stream.of(
            c(
                "lstm 2 layers, dropout and recurrent dropout, h0 c0",
                Recurrent.lstm(5).layers(2).dropout(0.3f).recurrentDropout(0.4f),
                3,
                4,
                3,
                null,
                true),
            c(
                "lstm 3 layers, bidirectional, dropout, ragged",
                Recurrent.lstm(4).layers(3).bidirectional().dropout(0.5f),
                3,
                4,
                7,
                ragged,
                false),
            c(
                "lstm peepholes projection, recurrent dropout, ragged, h0 c0",
                Recurrent.lstm(5).peepholes().projection(3).recurrentDropout(0.3f),
                3,
                4,
                7,
                ragged,
                true),
            c(
                "gru linear-before-reset, recurrent dropout, h0",
                Recurrent.gru(5).recurrentDropout(0.35f),
                3,
                4,
                3,
                null,
                true),
            c(
                "gru reset-first, recurrent dropout, 2 layers, dropout, h0",
                Recurrent.gru(5)
                    .linearBeforeReset(false)
                    .layers(2)
                    .dropout(0.25f)
                    .recurrentDropout(0.35f),
                3,
                4,
                3,
                null,
                true),
            c(
                "gru reset-first, bidirectional, recurrent dropout, ragged",
                Recurrent.gru(4).linearBeforeReset(false).bidirectional().recurrentDropout(0.3f),
                3,
                4,
                7,
                ragged,
                true),
            c(
                "lstm bidirectional, recurrent dropout, ragged, 13 rows, h0 c0",
                Recurrent.lstm(6).bidirectional().recurrentDropout(0.3f),
                3,
                5,
                13,
                new int[] {5, 1, 3, 5, 2, 4, 1, 2, 5, 3, 4, 4, 1},
                true),
            c(
                "gru bidirectional summed, 2 layers, both dropouts, batch-first, ragged, h0",
                Recurrent.gru(5)
                    .bidirectional(Recurrent.Merge.SUM)
                    .layers(2)
                    .batchFirst()
                    .dropout(0.3f)
                    .recurrentDropout(0.3f),
                3,
                4,
                7,
                ragged,
                true),
            c(
                "lstm 2 layers, bidirectional, both dropouts, batch-first",
                Recurrent.lstm(4)
                    .layers(2)
                    .bidirectional()
                    .batchFirst()
                    .dropout(0.4f)
                    .recurrentDropout(0.2f),
                3,
                4,
                3,
                null,
                false),
            c(
                "rnn tanh, 2 layers, both dropouts, reverse, ragged",
                Recurrent.rnn(5).layers(2).reverse().dropout(0.3f).recurrentDropout(0.3f),
                3,
                4,
                7,
                ragged,
                true))
        .map(Arguments::of);
  }

  /** Outputs and every gradient of one training forward (seeded) and backward, by name. */
  static Map<String, float[]> train(TrainingProgram p, Data d, long seed) {
    Map<String, float[]> got = new LinkedHashMap<>();
    p.forward(d.inputs, seed).forEach((k, v) -> got.put(k, v.toFloatArray()));
    try (TrainingProgram.Gradients g = p.backward(d.upstream)) {
      g.weights().forEach((k, v) -> got.put("grad." + k, v.toFloatArray()));
      g.inputs().forEach((k, v) -> got.put("grad." + k, v.toFloatArray()));
    }
    return got;
  }

  /** The largest difference relative to max(1, |want|) and where. */
  static double worst(Map<String, float[]> want, Map<String, float[]> got, StringBuilder at) {
    assertEquals(want.keySet(), got.keySet());
    double worst = 0;
    for (Map.Entry<String, float[]> e : want.entrySet()) {
      float[] a = got.get(e.getKey());
      float[] b = e.getValue();
      assertEquals(b.length, a.length, e.getKey());
      for (int i = 0; i < b.length; i++) {
        double rel = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i]));
        if (!(rel <= worst)) {
          worst = rel;
          at.setLength(0);
          at.append(e.getKey()).append('[').append(i).append("] ").append(a[i]).append(" vs ");
          at.append(b[i]);
        }
      }
    }
    return worst;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void gradientsMatchTheReferenceWithTheSameMasks(Case c) {
    Graph g = JavaRecurrentTrainingTest.graph(c);
    try (Weights w = JavaRecurrentTrainingTest.weights(c, 11);
        Data d = new Data(c, 12);
        TrainingProgram java = TrainingProgram.open(g, w, Options.backend("java").threads(2));
        TrainingProgram ref = TrainingProgram.open(g, w, Options.backend("reference"))) {
      assertEquals("java", java.placement().get("rnn"));
      Map<String, float[]> want = train(ref, d, SEED);
      Map<String, float[]> got = train(java, d, SEED);
      StringBuilder at = new StringBuilder();
      double worst = worst(want, got, at);
      System.out.printf("java vs reference, dropout, %-75s %.2e (%s)%n", c, worst, at);
      assertTrue(worst <= 1e-4, c + ": " + at);
      // Another seed draws other masks: the outputs change.
      Map<String, float[]> other = train(java, d, SEED + 1);
      assertFalse(Arrays.equals(got.get("y"), other.get("y")), "the seed changed nothing");
    }
  }

  @Test
  void noDropoutInInference() {
    Case c = (Case) cases().toList().get(0).get()[0];
    Graph g = JavaRecurrentTrainingTest.graph(c);
    Case clean =
        new Case(
            c.name(),
            c.spec().dropout(0).recurrentDropout(0),
            c.in(),
            c.steps(),
            c.batch(),
            c.lengths(),
            c.h0(),
            c.spread());
    try (Weights w = JavaRecurrentTrainingTest.weights(c, 11);
        Data d = new Data(c, 12);
        TrainingProgram java = TrainingProgram.open(g, w, Options.backend("java").threads(2));
        TrainingProgram plain =
            TrainingProgram.open(
                JavaRecurrentTrainingTest.graph(clean), w, Options.backend("java").threads(2))) {
      Map<String, Tensor> out = java.evaluate(d.inputs);
      float[] y = out.get("y").toFloatArray();
      float[] want = plain.evaluate(d.inputs).get("y").toFloatArray();
      assertArrayEquals(want, y, 0f);
      float[] dropped = java.forward(d.inputs, SEED).get("y").toFloatArray();
      assertFalse(Arrays.equals(want, dropped), "training drew no masks");
    }
  }

  @Test
  void sameBitsForAnyThreadCount() {
    List<Case> all = cases().map(a -> (Case) a.get()[0]).toList();
    for (Case c : List.of(all.get(0), all.get(4), all.get(6), all.get(7), all.get(9))) {
      Graph g = JavaRecurrentTrainingTest.graph(c);
      try (Weights w = JavaRecurrentTrainingTest.weights(c, 31);
          Data d = new Data(c, 32)) {
        Map<String, float[]> one = null;
        for (int threads : new int[] {1, 2, 3}) {
          try (TrainingProgram p =
              TrainingProgram.open(g, w, Options.backend("java").threads(threads))) {
            train(p, d, SEED + 7);
            Map<String, float[]> got = train(p, d, SEED); // the workspace reused
            if (one == null) {
              one = got;
            } else {
              for (Map.Entry<String, float[]> e : one.entrySet()) {
                assertArrayEquals(
                    e.getValue(), got.get(e.getKey()), 0f, c + ", " + threads + " threads: " + e);
              }
            }
          }
        }
      }
    }
  }
}
