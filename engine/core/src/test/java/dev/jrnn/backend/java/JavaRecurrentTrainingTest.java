package dev.jrnn.backend.java;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Activation;
import dev.jrnn.Activation.Kind;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.exec.TrainingProgram;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import dev.jrnn.spi.ExecContext;
import dev.jrnn.spi.TrainableNode;
import dev.jrnn.testing.Allocations;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The java backend's recurrent training on every configuration inference supports, beyond what the
 * PyTorch fixtures cover (ragged batches with reverse and bidirectional layers, batch-first,
 * peepholes with a projection, an active clip, the coupled gate, both GRU variants, every
 * activation, also those whose slope the output hides, initial-state gradients): gradients through
 * the training executor against central differences of the java forward pass, and against the
 * reference backend's double-precision tape; the same bits for any thread count; the saved pass's
 * contract; no allocation per step.
 */
class JavaRecurrentTrainingTest {

  /** One configuration: the layer, input size, shape, lengths (null: all T), initial states. */
  record Case(
      String name,
      Recurrent spec,
      int in,
      int steps,
      int batch,
      int[] lengths,
      boolean h0,
      float spread) {
    @Override
    public String toString() {
      return name;
    }

    boolean c0() {
      return h0 && spec.cell() == Recurrent.Cell.LSTM;
    }

    int ld() {
      return spec.layers() * spec.directions();
    }
  }

  static Case c(String name, Recurrent spec, int in, int t, int n, int[] lengths, boolean h0) {
    return new Case(name, spec.name("rnn"), in, t, n, lengths, h0, 2.5f);
  }

  /** A case whose weights keep the default spread: unbounded activations grow fast. */
  static Case calm(Case c) {
    return new Case(c.name(), c.spec(), c.in(), c.steps(), c.batch(), c.lengths(), c.h0(), 1f);
  }

  static Stream<Arguments> cases() {
    Activation hardSigmoid = Activation.of(Kind.HARD_SIGMOID);
    Activation softsign = Activation.of(Kind.SOFTSIGN);
    Activation elu = Activation.of(Kind.ELU, 0.7f, 0);
    Activation scaled = Activation.of(Kind.SCALED_TANH, 1.2f, 0.8f);
    Activation softplus = Activation.of(Kind.SOFTPLUS);
    Activation affine = Activation.of(Kind.AFFINE, 0.5f, 0.1f);
    Activation leakyNeg = Activation.of(Kind.LEAKY_RELU, -0.3f, 0); // slope hidden by the output
    Activation eluNeg = Activation.of(Kind.ELU, -0.5f, 0);
    Activation thresholded = Activation.of(Kind.THRESHOLDED_RELU, -0.2f, 0);
    int[] ragged = {2, 4, 2}; // unsorted, with a tie
    return Stream.of(
            c(
                "lstm peepholes projection clip, bidirectional, 2 layers, ragged, h0 c0",
                Recurrent.lstm(5).peepholes().projection(3).clip(0.6f).layers(2).bidirectional(),
                3,
                4,
                3,
                ragged,
                true),
            c(
                "lstm coupled peepholes, reverse, batch-first, ragged, h0 c0",
                Recurrent.lstm(4).coupledInputForget().peepholes().reverse().batchFirst(),
                3,
                4,
                3,
                ragged,
                true),
            c(
                "lstm summed directions, ragged, six activations",
                Recurrent.lstm(3)
                    .bidirectional(Recurrent.Merge.SUM)
                    .activations(
                        List.of(hardSigmoid, softsign, elu, Activation.SIGMOID, scaled, softplus)),
                2,
                4,
                3,
                ragged,
                true),
            c(
                "lstm H=17 I=19, bidirectional, 7 ragged rows",
                Recurrent.lstm(17).bidirectional(),
                19,
                5,
                7,
                new int[] {5, 1, 3, 5, 2, 4, 1},
                true),
            c("lstm T=1 N=1", Recurrent.lstm(7), 3, 1, 1, null, false),
            c(
                "gru clip, summed directions, ragged, h0",
                Recurrent.gru(5).clip(0.5f).bidirectional(Recurrent.Merge.SUM),
                3,
                4,
                3,
                ragged,
                true),
            c(
                "gru reset-first clip, bidirectional, 2 layers, batch-first, ragged, h0",
                Recurrent.gru(4)
                    .linearBeforeReset(false)
                    .clip(0.7f)
                    .bidirectional()
                    .layers(2)
                    .batchFirst(),
                3,
                4,
                3,
                ragged,
                true),
            calm(
                c(
                    "gru reset-first, leaky relu (alpha < 0), affine",
                    Recurrent.gru(3)
                        .linearBeforeReset(false)
                        .activations(List.of(leakyNeg, affine)),
                    2,
                    3,
                    2,
                    null,
                    true)),
            c(
                "gru, thresholded relu (alpha < 0), softplus, reverse",
                Recurrent.gru(4).activations(List.of(Activation.SIGMOID, thresholded)).reverse(),
                3,
                3,
                2,
                null,
                true),
            c(
                "rnn relu, reverse, ragged, h0",
                Recurrent.rnn(5).relu().reverse(),
                3,
                4,
                3,
                ragged,
                true),
            c(
                "rnn elu (alpha < 0) clip, bidirectional, ragged",
                Recurrent.rnn(4).activations(List.of(eluNeg)).clip(0.8f).bidirectional(),
                3,
                4,
                3,
                ragged,
                false),
            calm(
                c(
                    "rnn tanh, 3 layers, batch-first, h0",
                    Recurrent.rnn(6).layers(3).batchFirst(),
                    2,
                    5,
                    2,
                    null,
                    true)))
        .map(Arguments::of);
  }

  // ---------------------------------------------------------------- the graph and its data

  static Graph graph(Case c) {
    Recurrent spec = c.spec();
    int ld = c.ld();
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
              c.h0() ? b.input("h0", DType.F32, Dim.of(ld), n, Dim.of(spec.outputHidden())) : null;
          Value c0 = c.c0() ? b.input("c0", DType.F32, Dim.of(ld), n, Dim.of(spec.hidden())) : null;
          Value y = b.recurrent(x, spec, len, h0, c0);
          b.output("y", y);
          b.output("hN", y.finalH());
          if (spec.cell() == Recurrent.Cell.LSTM) {
            b.output("cN", y.finalC());
          }
        });
  }

  static Tensor random(SplittableRandom r, double scale, int... shape) {
    Tensor t = Tensor.allocate(DType.F32, shape);
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, (float) ((r.nextDouble() * 2 - 1) * scale));
    }
    return t;
  }

  /** Inputs and upstream gradients (dy, dhN, dcN) of a case, by name; close them all. */
  static final class Data implements AutoCloseable {
    final Map<String, Tensor> inputs = new LinkedHashMap<>();
    final Map<String, Tensor> upstream = new LinkedHashMap<>();

    Data(Case c, long seed) {
      SplittableRandom r = new SplittableRandom(seed);
      Recurrent s = c.spec();
      int t = c.steps();
      int n = c.batch();
      inputs.put(
          "x", s.isBatchFirst() ? random(r, 1.5, n, t, c.in()) : random(r, 1.5, t, n, c.in()));
      if (c.lengths() != null) {
        inputs.put("lengths", Tensor.of(c.lengths(), n));
      }
      if (c.h0()) {
        inputs.put("h0", random(r, 0.8, c.ld(), n, s.outputHidden()));
      }
      if (c.c0()) {
        inputs.put("c0", random(r, 0.8, c.ld(), n, s.hidden()));
      }
      upstream.put(
          "y",
          s.isBatchFirst()
              ? random(r, 1, n, t, s.outputSize())
              : random(r, 1, t, n, s.outputSize()));
      upstream.put("hN", random(r, 1, c.ld(), n, s.outputHidden()));
      if (s.cell() == Recurrent.Cell.LSTM) {
        upstream.put("cN", random(r, 1, c.ld(), n, s.hidden()));
      }
    }

    @Override
    public void close() {
      inputs.values().forEach(Tensor::close);
      upstream.values().forEach(Tensor::close);
    }
  }

  /** Weights of a case, wider than the default init so gates leave their middle. */
  static Weights weights(Case c, long seed) {
    Weights w = Weights.random(graph(c), seed);
    for (String name : w.names()) {
      Tensor t = w.get(name);
      for (long i = 0; i < t.size(); i++) {
        t.setFloat(i, t.getFloat(i) * c.spread());
      }
    }
    return w;
  }

  /** Outputs and every gradient of one forward and backward, as arrays by name. */
  static Map<String, float[]> train(TrainingProgram p, Data d) {
    Map<String, float[]> got = new LinkedHashMap<>();
    p.forward(d.inputs).forEach((k, v) -> got.put(k, v.toFloatArray()));
    try (TrainingProgram.Gradients g = p.backward(d.upstream)) {
      g.weights().forEach((k, v) -> got.put("grad." + k, v.toFloatArray()));
      g.inputs().forEach((k, v) -> got.put("grad." + k, v.toFloatArray()));
    }
    return got;
  }

  static double loss(TrainingProgram p, Data d) {
    Map<String, Tensor> out = p.forward(d.inputs);
    double l = 0;
    for (Map.Entry<String, Tensor> e : d.upstream.entrySet()) {
      Tensor y = out.get(e.getKey());
      Tensor u = e.getValue();
      for (long i = 0; i < y.size(); i++) {
        l += (double) y.getFloat(i) * u.getFloat(i);
      }
    }
    return l;
  }

  // ---------------------------------------------------------------- against the reference tape

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void gradientsMatchTheReferenceTape(Case c) {
    Graph g = graph(c);
    try (Weights w = weights(c, 11);
        Data d = new Data(c, 12);
        TrainingProgram java = TrainingProgram.open(g, w, Options.backend("java").threads(2));
        TrainingProgram ref = TrainingProgram.open(g, w, Options.backend("reference"))) {
      assertEquals("java", java.placement().get("rnn"));
      Map<String, float[]> want = train(ref, d);
      Map<String, float[]> got = train(java, d);
      assertEquals(want.keySet(), got.keySet());
      double worst = 0;
      String at = "";
      for (Map.Entry<String, float[]> e : want.entrySet()) {
        float[] a = got.get(e.getKey());
        float[] b = e.getValue();
        for (int i = 0; i < b.length; i++) {
          double rel = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i]));
          if (!(rel <= worst)) {
            worst = rel;
            at = e.getKey() + "[" + i + "] " + a[i] + " vs " + b[i];
          }
        }
      }
      System.out.printf("java vs reference tape, %-70s %.2e (%s)%n", c, worst, at);
      assertTrue(worst <= 2e-5, c + ": " + at);
    }
  }

  // ---------------------------------------------------------------- against finite differences

  static final double EPS = 1e-3;

  /** Elements checked per tensor: all of a small one, else this many picked at random. */
  static final int SAMPLE = 12;

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void gradientsMatchFiniteDifferences(Case c) {
    Graph g = graph(c);
    try (Weights w = weights(c, 21);
        Data d = new Data(c, 22);
        TrainingProgram p = TrainingProgram.open(g, w, Options.backend("java").threads(1))) {
      Map<String, float[]> grads = train(p, d);
      double center = loss(p, d);
      SplittableRandom pick = new SplittableRandom(23);
      double worst = 0;
      String at = "";
      int checked = 0;
      int kinks = 0;
      Map<String, Tensor> leaves = new LinkedHashMap<>();
      w.names().forEach(k -> leaves.put(k, w.get(k)));
      d.inputs.forEach(
          (k, v) -> {
            if (v.dtype() == DType.F32) {
              leaves.put(k, v);
            }
          });
      for (Map.Entry<String, Tensor> e : leaves.entrySet()) {
        Tensor t = e.getValue();
        boolean weight = w.contains(e.getKey());
        float[] analytic = grads.get("grad." + e.getKey());
        assertNotNull(analytic, "no gradient for " + e.getKey());
        for (int s = 0; s < Math.min(SAMPLE, t.size()); s++) {
          long i = t.size() <= SAMPLE ? s : pick.nextLong(t.size());
          float v = t.getFloat(i);
          float up = (float) (v + EPS);
          float down = (float) (v - EPS);
          t.setFloat(i, up);
          if (weight) {
            p.updateWeights(w);
          }
          double lUp = loss(p, d);
          t.setFloat(i, down);
          if (weight) {
            p.updateWeights(w);
          }
          double lDown = loss(p, d);
          t.setFloat(i, v);
          if (weight) {
            p.updateWeights(w);
          }
          double fwd = (lUp - center) / ((double) up - v);
          double bwd = (center - lDown) / ((double) v - down);
          double numeric = (lUp - lDown) / ((double) up - down);
          double a = analytic[(int) i];
          checked++;
          if (Math.abs(fwd - bwd) > 0.02 * Math.max(1, Math.abs(numeric))) {
            kinks++; // a relu, threshold or clip boundary within ±ε: no slope to compare
            continue;
          }
          double err = Math.abs(numeric - a) / Math.max(1, Math.abs(a));
          if (err > worst) {
            worst = err;
            at =
                e.getKey()
                    + "["
                    + i
                    + "]: analytic "
                    + a
                    + ", numeric "
                    + numeric
                    + " (one-sided "
                    + fwd
                    + ", "
                    + bwd
                    + ")";
          }
        }
      }
      System.out.printf(
          "java vs finite differences, %-70s %.2e over %d elements, %d at kinks (%s)%n",
          c, worst, checked, kinks, at);
      assertTrue(kinks <= checked / 10, c + ": " + kinks + " of " + checked + " at kinks");
      assertTrue(worst <= 2e-3, c + ": " + at);
    }
  }

  // ---------------------------------------------------------------- threads

  @Test
  void sameBitsForAnyThreadCount() {
    List<Case> all = cases().map(a -> (Case) a.get()[0]).toList();
    for (Case c : List.of(all.get(0), all.get(3), all.get(6), all.get(10))) {
      Graph g = graph(c);
      try (Weights w = weights(c, 31);
          Data d = new Data(c, 32)) {
        Map<String, float[]> one = null;
        for (int threads : new int[] {1, 2, 3, 4}) {
          try (TrainingProgram p =
              TrainingProgram.open(g, w, Options.backend("java").threads(threads))) {
            Map<String, float[]> got = train(p, d);
            train(p, d); // the second call reuses the workspace
            got = train(p, d);
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

  // ---------------------------------------------------------------- the node's contract

  /** An execution context without a session: its own cache, scratch from an arena. */
  static final class Direct implements ExecContext, AutoCloseable {
    final Arena arena = Arena.ofShared();
    final Map<Object, Object> cache = new HashMap<>();

    @Override
    public int threads() {
      return 1;
    }

    @Override
    public MemorySegment scratch(long bytes) {
      return arena.allocate(Math.max(bytes, 1), 64);
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T cache(Object key, Function<Object, T> create) {
      return (T) cache.computeIfAbsent(key, create);
    }

    @Override
    public void close() {
      arena.close();
    }
  }

  /** The node, its context, and tensors for one forward and backward of case {@code c}. */
  static final class Bench implements AutoCloseable {
    final Backend.Context ctx;
    final Direct ec = new Direct();
    final TrainableNode node;
    final Tensor[] in = new Tensor[4];
    final Tensor[] out;
    final Tensor[] gradOut;
    final Tensor[] gradIn = new Tensor[4];
    final Map<String, Tensor> grads = new LinkedHashMap<>();
    final List<Tensor> owned = new ArrayList<>();
    final Data data;

    Bench(Case c, Weights w, int threads) {
      Graph g = graph(c);
      Node n = IrGraph.of(g).node("rnn");
      ctx = Backends.byName("java").open(Options.backend("java").threads(threads));
      Map<String, Tensor> nw = new LinkedHashMap<>();
      n.weights().forEach(s -> nw.put(s.name(), w.get(s.name())));
      node = ctx.compileForTraining(n, nw);
      data = new Data(c, 41);
      in[Op.RecurrentLayer.X] = data.inputs.get("x");
      in[Op.RecurrentLayer.LENGTHS] = data.inputs.get("lengths");
      in[Op.RecurrentLayer.H0] = data.inputs.get("h0");
      in[Op.RecurrentLayer.C0] = data.inputs.get("c0");
      boolean lstm = c.spec().cell() == Recurrent.Cell.LSTM;
      out = new Tensor[lstm ? 3 : 2];
      gradOut = new Tensor[out.length];
      String[] names = {"y", "hN", "cN"};
      for (int i = 0; i < out.length; i++) {
        gradOut[i] = data.upstream.get(names[i]);
        out[i] = own(Tensor.allocate(DType.F32, gradOut[i].shape()));
      }
      for (int i = 0; i < in.length; i++) {
        if (in[i] != null && in[i].dtype() == DType.F32) {
          gradIn[i] = own(Tensor.allocate(DType.F32, in[i].shape()));
        }
      }
      n.weights().forEach(s -> grads.put(s.name(), own(Tensor.allocate(DType.F32, s.shape()))));
    }

    Tensor own(Tensor t) {
      owned.add(t);
      return t;
    }

    void step() {
      try (TrainableNode.Saved s = node.forward(in, out, ec)) {
        node.backward(s, in, out, gradOut, gradIn, grads, ec);
      }
    }

    @Override
    public void close() {
      ctx.close();
      ec.close();
      data.close();
      owned.forEach(Tensor::close);
    }
  }

  @Test
  void aTrainingStepAllocatesNothingPerStepOnceWarm() {
    List<Case> all = cases().map(a -> (Case) a.get()[0]).toList();
    for (Case c : List.of(all.get(0), all.get(6))) {
      for (int threads : new int[] {1, 2}) {
        try (Weights w = weights(c, 51);
            Bench b = new Bench(c, w, threads)) {
          long bytes = Allocations.bytesPerCall(b::step);
          // (the saved pass's handle too: a closed one is handed out again)
          assertEquals(0, bytes, c + ", " + threads + " threads: " + bytes + " bytes per step");
        }
      }
    }
  }

  @Test
  void aSavedPassIsUsableOnceAndOnlyUntilTheNextForward() {
    Case c = cases().map(a -> (Case) a.get()[0]).toList().get(1);
    try (Weights w = weights(c, 61);
        Bench b = new Bench(c, w, 2)) {
      TrainableNode.Saved first = b.node.forward(b.in, b.out, b.ec);
      TrainableNode.Saved second = b.node.forward(b.in, b.out, b.ec);
      assertThrows(
          IllegalStateException.class,
          () -> b.node.backward(first, b.in, b.out, b.gradOut, b.gradIn, b.grads, b.ec));
      second.close();
      assertThrows(
          IllegalStateException.class,
          () -> b.node.backward(second, b.in, b.out, b.gradOut, b.gradIn, b.grads, b.ec));
      assertThrows(
          IllegalArgumentException.class,
          () -> b.node.backward(null, b.in, b.out, b.gradOut, b.gradIn, b.grads, b.ec));
    }
  }

  @Test
  void updatedWeightsTrainLikeAFreshNode() {
    Case c = cases().map(a -> (Case) a.get()[0]).toList().get(6);
    Graph g = graph(c);
    try (Weights a = weights(c, 71);
        Weights bw = weights(c, 72);
        Data d = new Data(c, 73);
        TrainingProgram p = TrainingProgram.open(g, a, Options.backend("java").threads(2));
        TrainingProgram fresh = TrainingProgram.open(g, bw, Options.backend("java").threads(2))) {
      Map<String, float[]> before = train(p, d);
      p.updateWeights(bw);
      Map<String, float[]> after = train(p, d);
      Map<String, float[]> want = train(fresh, d);
      want.forEach((k, v) -> assertArrayEquals(v, after.get(k), 0f, k));
      assertTrue(before.get("y")[0] != after.get("y")[0], "new weights changed nothing");
    }
  }
}
