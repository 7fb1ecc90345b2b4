package dev.jrnn;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class SessionTest {

  static final Options REF = Options.backend("reference");

  static Graph lstmGraph() {
    return Graph.build(
        b -> {
          Value x = b.input("x", DType.F32, dyn("T"), dyn("N"), Dim.of(5));
          Value len = b.input("lengths", DType.I32, dyn("N"));
          Value y = b.recurrent(x, Recurrent.lstm(7).name("enc"), len, null, null);
          b.output("y", y);
          b.output("h", y.finalH());
        });
  }

  static Tensor randn(long seed, int... shape) {
    SplittableRandom r = new SplittableRandom(seed);
    Tensor t = Tensor.allocate(DType.F32, shape);
    for (long i = 0; i < t.size(); i++) {
      t.setFloat(i, (float) (r.nextDouble() * 2 - 1));
    }
    return t;
  }

  private static String message(Runnable r) {
    return assertThrows(RuntimeException.class, r::run).getMessage();
  }

  @Test
  void badInputsNameTheProblem() {
    Graph g = lstmGraph();
    try (Weights w = Weights.random(g, 1);
        Session s = Session.open(g, w, REF);
        Tensor x = randn(2, 4, 3, 5);
        Tensor lens = Tensor.of(new int[] {4, 2, 3}, 3)) {
      String shape = message(() -> s.run(Map.of("x", x.reshape(4, 5, 3), "lengths", lens)).close());
      assertTrue(shape.contains("input 'x' must have shape [T, N, 5], got [4, 5, 3]"), shape);
      String rank = message(() -> s.run(Map.of("x", x.reshape(12, 5), "lengths", lens)).close());
      assertTrue(
          rank.contains("input 'x' must have rank 3 F32 [T, N, 5], got shape [12, 5]"), rank);
      try (Tensor xi = Tensor.allocate(DType.I32, 4, 3, 5)) {
        String dtype = message(() -> s.run(Map.of("x", xi, "lengths", lens)).close());
        assertTrue(dtype.contains("input 'x' must be F32, got I32 [4, 3, 5]"), dtype);
      }
      String unknown = message(() -> s.run(Map.of("x", x, "lens", lens)).close());
      assertTrue(unknown.contains("unknown input 'lens'; inputs: x, lengths"), unknown);
      String missing = message(() -> s.run(Map.of("x", x)).close());
      assertTrue(missing.contains("missing input 'lengths' I32 [N]"), missing);
      try (Tensor l2 = Tensor.of(new int[] {4, 2}, 2)) {
        String dim = message(() -> s.run(Map.of("x", x, "lengths", l2)).close());
        assertTrue(dim.contains("dimension 'N' is 3 in input 'x' but 2 in input 'lengths'"), dim);
      }
      try (Tensor zero = Tensor.of(new int[] {4, 0, 3}, 3);
          Tensor big = Tensor.of(new int[] {4, 5, 3}, 3)) {
        String z = message(() -> s.run(Map.of("x", x, "lengths", zero)).close());
        assertTrue(z.contains("sequence length 0 at batch row 1 of 'lengths'"), z);
        assertTrue(z.contains("lengths must be in [1, T=4]"), z);
        String b = message(() -> s.run(Map.of("x", x, "lengths", big)).close());
        assertTrue(b.contains("sequence length 5 at batch row 1"), b);
      }
      try (Result r = s.run(Map.of("x", x, "lengths", lens))) {
        String out = message(() -> r.get("c"));
        assertTrue(out.contains("no output named 'c'; outputs: y, h"), out);
      }
    }
  }

  @Test
  void missingOrMisshapedWeightsAreNamed() {
    Graph g = lstmGraph();
    try (Weights w = Weights.random(g, 1)) {
      w.put("enc.l0.fwd.R", Tensor.allocate(DType.F32, 28, 5));
      String bad = message(() -> Session.open(g, w, REF).close());
      assertTrue(
          bad.contains("weight 'enc.l0.fwd.R' has shape [28, 5] but the graph needs [28, 7]"), bad);
    }
    try (Weights w = Weights.empty()) {
      String missing = message(() -> Session.open(g, w, REF).close());
      assertTrue(missing.contains("missing weight 'enc.l0.fwd.W' [28, 5]"), missing);
    }
  }

  @Test
  void useAfterCloseThrows() {
    Graph g = lstmGraph();
    Weights w = Weights.random(g, 1);
    Session s = Session.open(g, w, REF);
    w.close();
    assertTrue(message(() -> w.get("enc.l0.fwd.W")).contains("used after close"));
    try (Tensor x = randn(2, 2, 1, 5);
        Tensor lens = Tensor.of(new int[] {2}, 1)) {
      Result r = s.run(Map.of("x", x, "lengths", lens)); // weights were copied at open
      Tensor y = r.get("y");
      r.close();
      assertTrue(message(() -> r.get("y")).contains("used after close"));
      assertTrue(message(y::toFloatArray).contains("used after close"));
      s.close();
      assertTrue(
          message(() -> s.run(Map.of("x", x, "lengths", lens)))
              .contains("session is used after close"));
      assertTrue(message(s::newState).contains("used after close"));
    }
    Tensor closed = randn(3, 2, 1, 5);
    closed.close();
    try (Weights w2 = Weights.random(g, 1);
        Session s2 = Session.open(g, w2, REF);
        Tensor lens = Tensor.of(new int[] {2}, 1)) {
      String m = message(() -> s2.run(Map.of("x", closed, "lengths", lens)));
      assertTrue(m.contains("input 'x' is used after close"), m);
    }
  }

  @Test
  void unknownOrUnavailableBackendIsExplained() {
    Graph g = lstmGraph();
    try (Weights w = Weights.random(g, 1)) {
      String m = message(() -> Session.open(g, w, Options.backend("cuda")).close());
      assertTrue(m.contains("unknown backend 'cuda'; backends: auto, "), m);
      assertTrue(m.contains("reference"), m);
    }
  }

  @Test
  void concurrentRunsAgreeWithSequentialOnes() throws Exception {
    Graph g = lstmGraph();
    int tasks = 16;
    List<float[]> expected = new ArrayList<>();
    List<Tensor> xs = new ArrayList<>();
    try (Weights w = Weights.random(g, 9);
        Session s = Session.open(g, w, REF);
        Tensor lens = Tensor.of(new int[] {6, 3}, 2)) {
      for (int i = 0; i < tasks; i++) {
        Tensor x = randn(100 + i, 6, 2, 5);
        xs.add(x);
        try (Result r = s.run(Map.of("x", x, "lengths", lens))) {
          expected.add(r.get("y").toFloatArray());
        }
      }
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<float[]>> got = new ArrayList<>();
        for (int rep = 0; rep < 3; rep++) {
          for (int i = 0; i < tasks; i++) {
            Tensor x = xs.get(i);
            got.add(
                pool.submit(
                    () -> {
                      try (Result r = s.run(Map.of("x", x, "lengths", lens))) {
                        return r.get("y").toFloatArray();
                      }
                    }));
          }
        }
        for (int k = 0; k < got.size(); k++) {
          assertArrayEquals(expected.get(k % tasks), got.get(k).get());
        }
      } finally {
        pool.shutdown();
        xs.forEach(Tensor::close);
      }
    }
  }

  @Test
  void runIntoCallerOutputsMatchesRun() {
    Graph g = lstmGraph();
    try (Weights w = Weights.random(g, 4);
        Session s = Session.open(g, w, REF);
        Tensor x = randn(5, 3, 2, 5);
        Tensor lens = Tensor.of(new int[] {3, 1}, 2);
        Tensor y = Tensor.allocate(DType.F32, 3, 2, 7);
        Tensor h = Tensor.allocate(DType.F32, 1, 2, 7);
        Result r = s.run(Map.of("x", x, "lengths", lens))) {
      s.run(Map.of("x", x, "lengths", lens), Map.of("y", y, "h", h));
      assertArrayEquals(r.get("y").toFloatArray(), y.toFloatArray());
      assertArrayEquals(r.get("h").toFloatArray(), h.toFloatArray());
      // Past a row's length the output is zero; its final state is the state at its length.
      assertEquals(0f, y.floatAt(1, 1, 0));
      assertEquals(y.floatAt(0, 1, 3), h.floatAt(0, 1, 3));
      try (Tensor small = Tensor.allocate(DType.F32, 2, 2, 7)) {
        String m =
            message(() -> s.run(Map.of("x", x, "lengths", lens), Map.of("y", small, "h", h)));
        assertTrue(m.contains("output 'y' is F32 [3, 2, 7] for these inputs"), m);
      }
    }
  }

  /**
   * Input shapes whose plan cannot be made (a reshape that does not divide) fail with the node's
   * name, and the session keeps working for the shapes it had planned.
   */
  @Test
  void aFailedPlanLeavesTheSessionUsable() {
    dev.jrnn.ir.IrGraph.Builder b = dev.jrnn.ir.IrGraph.builder();
    Value x = b.input("x", DType.F32, Dim.dyn("N"), Dim.of(6));
    Value shape = b.constant("shape", dev.jrnn.ir.Const.vector(-1, 4));
    Value r =
        b.node(
                "reshape",
                new dev.jrnn.ir.DataOp.Reshape(false),
                (dev.jrnn.ir.IrValue) x,
                (dev.jrnn.ir.IrValue) shape)[0];
    b.output("y", b.tanh(r));
    Graph g = b.build();
    for (String backend : new String[] {"reference", "java"}) {
      try (Weights w = Weights.empty();
          Session s = Session.open(g, w, Options.backend(backend));
          Tensor two = randn(1, 2, 6);
          Tensor one = randn(2, 1, 6)) {
        float[] first;
        try (Result ok = s.run(Map.of("x", two))) {
          first = ok.get("y").toFloatArray();
        }
        String m = message(() -> s.run(Map.of("x", one)));
        assertTrue(m.startsWith("node 'reshape' (Reshape)"), m);
        try (Result again = s.run(Map.of("x", two))) {
          assertArrayEquals(first, again.get("y").toFloatArray());
        }
      }
    }
  }

  /** {@link Session#placement(Graph, Options)} says what a session would: the needed nodes. */
  @Test
  void placementListsWhatTheSessionRuns() {
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, Dim.dyn("N"), Dim.of(3));
              b.tanh(x); // read by no output
              b.output("y", b.sigmoid(x));
            });
    try (Weights w = Weights.empty();
        Session s = Session.open(g, w, Options.backend("reference"))) {
      assertEquals(
          Map.of("sigmoid", "reference"), Session.placement(g, Options.backend("reference")));
      assertEquals(s.placement(), Session.placement(g, Options.backend("reference")));
    }
  }
}
