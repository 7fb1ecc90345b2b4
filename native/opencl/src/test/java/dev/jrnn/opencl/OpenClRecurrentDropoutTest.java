package dev.jrnn.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.exec.TrainingProgram;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Dropout inside recurrent stacks trains on opencl (between layers, and variational on h(t−1)) with
 * the masks java and reference draw for the same seed: outputs and every gradient of one seeded
 * training forward and backward against reference, within {@value #TOLERANCE} of max(1,
 * max|reference|) per tensor; another seed changes the outputs; inference draws no mask.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenClRecurrentDropoutTest {

  static final long SEED = 0x5EED_1234L;
  static final double TOLERANCE = 1e-5;

  private double worstOfAll;
  private String worstCase = "none";

  @BeforeAll
  void device() {
    Device.require();
  }

  /** The layer, input size, T, N, lengths (null: all T), whether h0 (and c0) are given. */
  record Case(
      String name, Recurrent spec, int in, int steps, int batch, int[] lengths, boolean h0) {
    @Override
    public String toString() {
      return name;
    }

    int ld() {
      return spec.layers() * spec.directions();
    }
  }

  static Stream<Case> cases() {
    int[] ragged = {2, 4, 2, 3, 1, 4, 3}; // unsorted, with ties
    return Stream.of(
        new Case(
            "lstm 2 layers, dropout and recurrent dropout, h0 c0",
            Recurrent.lstm(5).layers(2).dropout(0.3f).recurrentDropout(0.4f),
            3,
            4,
            3,
            null,
            true),
        new Case(
            "lstm 3 layers, bidirectional, dropout, ragged",
            Recurrent.lstm(4).layers(3).bidirectional().dropout(0.5f),
            3,
            4,
            7,
            ragged,
            false),
        new Case(
            "lstm peepholes projection, recurrent dropout, ragged, h0 c0",
            Recurrent.lstm(5).peepholes().projection(3).recurrentDropout(0.3f),
            3,
            4,
            7,
            ragged,
            true),
        new Case(
            "gru linear-before-reset, recurrent dropout, h0",
            Recurrent.gru(5).recurrentDropout(0.35f),
            3,
            4,
            3,
            null,
            true),
        new Case(
            "gru reset-first, 2 layers, both dropouts, h0",
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
        new Case(
            "gru reset-first, bidirectional, recurrent dropout, ragged, h0",
            Recurrent.gru(4).linearBeforeReset(false).bidirectional().recurrentDropout(0.3f),
            3,
            4,
            7,
            ragged,
            true),
        new Case(
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
        new Case(
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
        new Case(
            "rnn tanh, 2 layers, both dropouts, reverse, ragged, h0",
            Recurrent.rnn(5).layers(2).reverse().dropout(0.3f).recurrentDropout(0.3f),
            3,
            4,
            7,
            ragged,
            true),
        new Case(
            "lstm H=17 I=9, 2 layers, both dropouts, T=6 N=5 (past the vector blocks)",
            Recurrent.lstm(17).layers(2).dropout(0.2f).recurrentDropout(0.25f),
            9,
            6,
            5,
            new int[] {6, 3, 5, 1, 6},
            true));
  }

  static Graph graph(Case c) {
    Recurrent spec = c.spec().name("rnn");
    return Graph.build(
        b -> {
          Dim t = Dim.dyn("T");
          Dim n = Dim.dyn("N");
          Value x =
              spec.isBatchFirst()
                  ? b.input("x", DType.F32, n, t, Dim.of(c.in()))
                  : b.input("x", DType.F32, t, n, Dim.of(c.in()));
          Value len = c.lengths() != null ? b.input("lengths", DType.I32, n) : null;
          Value h0 =
              c.h0()
                  ? b.input("h0", DType.F32, Dim.of(c.ld()), n, Dim.of(spec.outputHidden()))
                  : null;
          boolean lstm = spec.cell() == Recurrent.Cell.LSTM;
          Value c0 =
              c.h0() && lstm
                  ? b.input("c0", DType.F32, Dim.of(c.ld()), n, Dim.of(spec.hidden()))
                  : null;
          Value y = b.recurrent(x, spec, len, h0, c0);
          b.output("y", y);
          b.output("hN", y.finalH());
          if (lstm) {
            b.output("cN", y.finalC());
          }
        });
  }

  /** Inputs and upstream gradients of a case; close them all. */
  static final class Data implements AutoCloseable {
    final Map<String, Tensor> inputs = new LinkedHashMap<>();
    final Map<String, Tensor> upstream = new LinkedHashMap<>();

    Data(Case c, long seed) {
      SplittableRandom r = new SplittableRandom(seed);
      Recurrent s = c.spec();
      int t = c.steps();
      int n = c.batch();
      inputs.put(
          "x", random(r, s.isBatchFirst() ? new int[] {n, t, c.in()} : new int[] {t, n, c.in()}));
      if (c.lengths() != null) {
        inputs.put("lengths", Tensor.of(c.lengths(), n));
      }
      if (c.h0()) {
        inputs.put("h0", random(r, c.ld(), n, s.outputHidden()));
        if (s.cell() == Recurrent.Cell.LSTM) {
          inputs.put("c0", random(r, c.ld(), n, s.hidden()));
        }
      }
      int w = s.outputSize();
      upstream.put("y", random(r, s.isBatchFirst() ? new int[] {n, t, w} : new int[] {t, n, w}));
      upstream.put("hN", random(r, c.ld(), n, s.outputHidden()));
      if (s.cell() == Recurrent.Cell.LSTM) {
        upstream.put("cN", random(r, c.ld(), n, s.hidden()));
      }
    }

    @Override
    public void close() {
      inputs.values().forEach(Tensor::close);
      upstream.values().forEach(Tensor::close);
    }
  }

  static Tensor random(SplittableRandom r, int... shape) {
    Tensor t = Tensor.allocate(DType.F32, shape);
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, (float) (r.nextDouble() * 2 - 1));
    }
    return t;
  }

  /** Outputs and every gradient of one seeded training forward and backward, by name. */
  static Map<String, float[]> train(TrainingProgram p, Data d, long seed) {
    Map<String, float[]> got = new LinkedHashMap<>();
    p.forward(d.inputs, seed).forEach((k, v) -> got.put(k, v.toFloatArray()));
    try (TrainingProgram.Gradients g = p.backward(d.upstream)) {
      g.weights().forEach((k, v) -> got.put("grad." + k, v.toFloatArray()));
      g.inputs().forEach((k, v) -> got.put("grad." + k, v.toFloatArray()));
    }
    return got;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void outputsAndGradientsMatchReferenceWithTheSameMasks(Case c) {
    Graph g = graph(c);
    try (Weights w = Weights.random(g, 11);
        Data d = new Data(c, 12);
        TrainingProgram cl = TrainingProgram.open(g, w, Options.backend("opencl"));
        TrainingProgram ref = TrainingProgram.open(g, w, Options.backend("reference"))) {
      assertEquals("opencl", cl.placement().get("rnn"), "placement " + cl.placement());
      Map<String, float[]> want = train(ref, d, SEED);
      Map<String, float[]> got = train(cl, d, SEED);
      assertEquals(want.keySet(), got.keySet());
      double worst = 0;
      String at = "";
      for (Map.Entry<String, float[]> e : want.entrySet()) {
        float[] a = got.get(e.getKey());
        float[] b = e.getValue();
        double scale = 1;
        for (float v : b) {
          scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < b.length; i++) {
          double diff = Math.abs(a[i] - b[i]) / scale;
          if (!(diff <= worst)) {
            worst = diff;
            at = e.getKey() + "[" + i + "] " + a[i] + " vs " + b[i];
          }
        }
      }
      synchronized (this) {
        if (worst > worstOfAll) {
          worstOfAll = worst;
          worstCase = c + " (" + at + ")";
        }
      }
      System.out.printf("opencl vs reference, dropout, %-72s %.2e (%s)%n", c, worst, at);
      assertTrue(worst <= TOLERANCE, c + ": " + at + " differs by " + worst);
      Map<String, float[]> other = train(cl, d, SEED + 1);
      assertFalse(Arrays.equals(got.get("y"), other.get("y")), "the seed changed nothing");
    }
  }

  /** Inference (evaluate) draws no mask: the outputs of the stack without dropout. */
  @Test
  void noDropoutInInference() {
    Case c = cases().findFirst().orElseThrow();
    Case clean =
        new Case(
            c.name(),
            c.spec().dropout(0).recurrentDropout(0),
            c.in(),
            c.steps(),
            c.batch(),
            c.lengths(),
            c.h0());
    try (Weights w = Weights.random(graph(c), 11);
        Data d = new Data(c, 12);
        TrainingProgram cl = TrainingProgram.open(graph(c), w, Options.backend("opencl"));
        TrainingProgram plain = TrainingProgram.open(graph(clean), w, Options.backend("opencl"))) {
      float[] want = plain.evaluate(d.inputs).get("y").toFloatArray();
      assertArrayEquals(want, cl.evaluate(d.inputs).get("y").toFloatArray(), 0f);
      assertFalse(
          Arrays.equals(want, cl.forward(d.inputs, SEED).get("y").toFloatArray()),
          "training drew no masks");
    }
  }

  @AfterAll
  void summary() {
    System.out.printf(
        "opencl vs reference, dropout in stacks: largest scaled |diff| %.2e (%s)%n",
        worstOfAll, worstCase);
  }
}
