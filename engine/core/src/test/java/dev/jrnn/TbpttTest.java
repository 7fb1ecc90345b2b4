package dev.jrnn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Truncated BPTT equals the chunked steps written out by hand, and carries state across calls. */
class TbpttTest {

  static final int T = 7;
  static final int N = 3;

  static Graph graph() {
    return Graph.build(
        b -> {
          Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(2));
          Value h0 = b.input("h0", DType.F32, Dim.of(1), Dim.dyn("N"), Dim.of(4));
          Value c0 = b.input("c0", DType.F32, Dim.of(1), Dim.dyn("N"), Dim.of(4));
          Value y = b.recurrent(x, Recurrent.lstm(4), null, h0, c0);
          b.output("logits", b.linear(y, 3));
          b.output("hN", y.finalH());
          b.output("cN", y.finalC());
        });
  }

  static final Training SGD = Training.of(Loss.crossEntropy("logits"), Optimizer.sgd(0.3));
  static final Tbptt HOW = Tbptt.of(3, 3).sequences("x").state("h0", "hN").state("c0", "cN");

  static Tensor x() {
    Random r = new Random(1);
    float[] v = new float[T * N * 2];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return Tensor.of(v, T, N, 2);
  }

  static Tensor target() {
    int[] v = new int[T * N];
    for (int i = 0; i < v.length; i++) {
      v[i] = (i * 7) % 3;
    }
    return Tensor.of(v, T, N);
  }

  static Map<String, Tensor> inputs(Tensor x) {
    Map<String, Tensor> m = new LinkedHashMap<>();
    m.put("x", x);
    m.put("h0", Tensor.allocate(DType.F32, 1, N, 4));
    m.put("c0", Tensor.allocate(DType.F32, 1, N, 4));
    return m;
  }

  private static float[] weightsOf(Trainer t) {
    try (Weights w = t.weights()) {
      return w.get("lstm.l0.fwd.R").toFloatArray();
    }
  }

  /** The state a chunk's forward reaches with the weights before its step. */
  private static void carry(
      Graph g, Trainer t, Map<String, Tensor> chunk, Map<String, Tensor> state) {
    try (Weights before = t.weights();
        Session s = Session.open(g, before, Options.backend("reference"));
        Result r = s.run(chunk)) {
      state.get("h0").copyFrom(r.get("hN"));
      state.get("c0").copyFrom(r.get("cN"));
    }
  }

  /** Tbptt(k1, k2) against evaluate-then-step chunks written out by hand. */
  private static void checkAgainstHand(int k1, int k2) {
    Graph g = graph();
    Tbptt how = Tbptt.of(k1, k2).sequences("x").state("h0", "hN").state("c0", "cN");
    try (Weights w = Weights.random(g, 2);
        Tensor x = x();
        Tensor y = target();
        Trainer a = Trainer.open(g, w, SGD, Options.backend("reference"));
        Trainer b = Trainer.open(g, w, SGD, Options.backend("reference"))) {
      Map<String, Tensor> in = inputs(x);
      double[] losses = a.stepTruncated(in, y, how);
      int chunks = (T + k1 - 1) / k1;
      assertEquals(chunks, losses.length);
      assertEquals(chunks, a.steps());

      Map<String, Tensor> state = inputs(x);
      double[] want = new double[chunks];
      for (int k = 0, s = 0; s < T; s += k1, k++) {
        int e = Math.min(T, s + k1);
        int trained = Math.max(s, e - k2);
        if (trained > s) {
          Map<String, Tensor> warm = new LinkedHashMap<>(state);
          warm.put("x", x.slice(s, trained));
          carry(g, b, warm, state);
        }
        Map<String, Tensor> m = new LinkedHashMap<>(state);
        m.put("x", x.slice(trained, e));
        Map<String, Tensor> next = inputs(x);
        carry(g, b, m, next);
        want[k] = b.step(m, y.slice(trained, e));
        state.get("h0").copyFrom(next.get("h0"));
        state.get("c0").copyFrom(next.get("c0"));
      }
      assertArrayEquals(want, losses);
      assertArrayEquals(weightsOf(b), weightsOf(a));
      assertArrayEquals(state.get("h0").toFloatArray(), in.get("h0").toFloatArray());
      assertArrayEquals(state.get("c0").toFloatArray(), in.get("c0").toFloatArray());
      assertTrue(Math.abs(in.get("h0").getFloat(0)) > 0, "the final state came back");
    }
  }

  @Test
  void chunksOfThreeEqualHandWrittenSteps() {
    checkAgainstHand(3, 3);
  }

  @Test
  void warmUpStepsOnlyAdvanceTheState() {
    checkAgainstHand(4, 2);
  }

  @Test
  void oneChunkIsOneStep() {
    Graph g = graph();
    try (Weights w = Weights.random(g, 2);
        Tensor x = x();
        Tensor y = target();
        Trainer a = Trainer.open(g, w, SGD, Options.backend("reference"));
        Trainer b = Trainer.open(g, w, SGD, Options.backend("reference"))) {
      double[] l =
          a.stepTruncated(
              inputs(x), y, Tbptt.of(T, T).sequences("x").state("h0", "hN").state("c0", "cN"));
      assertArrayEquals(new double[] {b.step(inputs(x), y)}, l);
      assertArrayEquals(weightsOf(b), weightsOf(a));
    }
  }

  @Test
  void badUseIsAClearError() {
    Graph g = graph();
    try (Weights w = Weights.random(g, 2);
        Tensor x = x();
        Tensor y = target();
        Tensor last = Tensor.of(new int[] {0, 1, 2}, 3);
        Trainer a = Trainer.open(g, w, SGD, Options.backend("reference"))) {
      Map<String, Tensor> noState = new LinkedHashMap<>(inputs(x));
      noState.remove("c0");
      var e = assertThrows(IllegalArgumentException.class, () -> a.stepTruncated(noState, y, HOW));
      assertTrue(e.getMessage().contains("'c0'"), e.getMessage());
      var f =
          assertThrows(IllegalArgumentException.class, () -> a.stepTruncated(inputs(x), last, HOW));
      assertTrue(f.getMessage().contains("per-step target"), f.getMessage());
      var h =
          assertThrows(
              IllegalArgumentException.class,
              () -> a.stepTruncated(inputs(x), y, Tbptt.of(3, 3).state("h0", "hN")));
      assertTrue(h.getMessage().contains("sequences"), h.getMessage());
      assertThrows(IllegalArgumentException.class, () -> Tbptt.of(2, 3));
      assertEquals(0, a.steps());
    }
  }
}
