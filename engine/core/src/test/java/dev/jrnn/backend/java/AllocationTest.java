package dev.jrnn.backend.java;

import static dev.jrnn.Dim.dyn;
import static dev.jrnn.testing.Allocations.bytesPerCall;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Session;
import dev.jrnn.State;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * {@code run(inputs, outputs)} and {@code step(state, inputs, outputs)} allocate nothing on the
 * Java heap once warm: neither on the calling thread nor on the pool's workers.
 */
class AllocationTest {

  static Graph model(Recurrent spec, boolean lengths) {
    return Graph.build(
        b -> {
          Value x = b.input("x", DType.F32, dyn("T"), dyn("N"), Dim.of(24));
          Value len = lengths ? b.input("len", DType.I32, dyn("N")) : null;
          Value y = b.recurrent(x, spec, len, null, null);
          b.output("y", b.linear(b.tanh(y), 5));
          b.output("h", y.finalH());
        });
  }

  private static Tensor randomX(int t, int n) {
    Tensor x = Tensor.allocate(DType.F32, t, n, 24);
    for (long i = 0; i < x.size(); i++) {
      x.setFloat(i, (float) Math.sin(i));
    }
    return x;
  }

  void noAllocationIn(Supplier<Recurrent> spec, int threads) {
    Recurrent s = spec.get();
    Graph g = model(s, true);
    int ld = s.layers() * s.directions();
    try (Weights w = Weights.random(g, 3);
        Session session = Session.open(g, w, Options.backend("java").threads(threads));
        Tensor x = randomX(12, 3);
        Tensor len = Tensor.of(new int[] {12, 7, 9}, 3);
        Tensor y = Tensor.allocate(DType.F32, 12, 3, 5);
        Tensor h = Tensor.allocate(DType.F32, ld, 3, s.outputHidden())) {
      Map<String, Tensor> in = Map.of("x", x, "len", len);
      Map<String, Tensor> out = Map.of("y", y, "h", h);
      long perRun = bytesPerCall(() -> session.run(in, out));
      assertEquals(0, perRun, s + " run allocated " + perRun + " bytes per call");
    }
  }

  @Test
  void runAllocatesNothingOnOneThread() {
    noAllocationIn(() -> Recurrent.lstm(40).layers(2).bidirectional(), 1);
    noAllocationIn(() -> Recurrent.gru(33).linearBeforeReset(false), 1);
  }

  @Test
  void runAllocatesNothingOnTwoThreads() {
    noAllocationIn(() -> Recurrent.lstm(300).projection(100), 2);
    noAllocationIn(() -> Recurrent.gru(40).bidirectional(Recurrent.Merge.SUM), 2);
    noAllocationIn(() -> Recurrent.rnn(200).relu(), 2);
  }

  @Test
  void stepAllocatesNothing() {
    Recurrent s = Recurrent.lstm(32).layers(2);
    Graph g = model(s, false);
    try (Weights w = Weights.random(g, 3);
        Session session = Session.open(g, w, Options.backend("java").threads(2));
        State state = session.newState();
        Tensor x = randomX(4, 2);
        Tensor y = Tensor.allocate(DType.F32, 4, 2, 5);
        Tensor h = Tensor.allocate(DType.F32, 2, 2, 32)) {
      Map<String, Tensor> in = Map.of("x", x);
      Map<String, Tensor> out = Map.of("y", y, "h", h);
      long perStep = bytesPerCall(() -> session.step(state, in, out));
      assertEquals(0, perStep, "step allocated " + perStep + " bytes per call");
    }
  }

  /** An input no output reads may be passed along; it must not cost a new plan every call. */
  @Test
  void anUnusedInputCostsNothing() {
    Graph g =
        Graph.build(
            b -> {
              Value x = b.input("x", DType.F32, dyn("T"), dyn("N"), Dim.of(24));
              b.input("unused", DType.F32, dyn("N"));
              b.output("y", b.recurrent(x, Recurrent.gru(16)));
            });
    try (Weights w = Weights.random(g, 3);
        Session session = Session.open(g, w, Options.backend("java").threads(1));
        Tensor x = randomX(5, 2);
        Tensor unused = Tensor.allocate(DType.F32, 2);
        Tensor y = Tensor.allocate(DType.F32, 5, 2, 16)) {
      Map<String, Tensor> in = Map.of("x", x, "unused", unused);
      Map<String, Tensor> out = Map.of("y", y);
      long perRun = bytesPerCall(() -> session.run(in, out));
      assertEquals(0, perRun, "run with an unused input allocated " + perRun + " bytes per call");
    }
  }
}
