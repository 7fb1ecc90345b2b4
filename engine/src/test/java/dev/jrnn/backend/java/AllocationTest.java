package dev.jrnn.backend.java;

import static dev.jrnn.Dim.dyn;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Result;
import dev.jrnn.Session;
import dev.jrnn.State;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.onnx.OnnxModel;
import dev.jrnn.testing.OnnxFixture;
import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * {@code run(inputs, outputs)} and {@code step(state, inputs, outputs)} allocate nothing on the
 * Java heap once warm: neither on the calling thread nor on the pool's workers.
 */
class AllocationTest {

  private static final com.sun.management.ThreadMXBean MX =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private static long[] workerIds() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("jrnn-worker-"))
        .mapToLong(Thread::threadId)
        .toArray();
  }

  /**
   * Heap bytes allocated per call by this thread and the pool's workers, once warm. The thread list
   * is taken beforehand and the caller's own counter is read last before and first after the loop,
   * so the measurement itself is not counted. Vector code allocates (boxes) until C2 has compiled
   * it, and a kernel called once per run gets hot later than one called once per step, so rounds
   * repeat until one allocates nothing (at most ten): that is the steady state.
   */
  private static long bytesPerCall(Runnable call) {
    for (int i = 0; i < 3000; i++) { // warm-up: compile, size the buffers, build the plan
      call.run();
    }
    long perCall = -1;
    for (int round = 0; round < 10 && perCall != 0; round++) {
      perCall = measure(call, 2000);
    }
    return perCall;
  }

  private static long measure(Runnable call, int calls) {
    long[] workers = workerIds();
    long self = Thread.currentThread().threadId();
    long others = 0;
    for (long id : workers) {
      others -= MX.getThreadAllocatedBytes(id);
    }
    long mine = -MX.getThreadAllocatedBytes(self);
    for (int i = 0; i < calls; i++) {
      call.run();
    }
    mine += MX.getThreadAllocatedBytes(self);
    for (long id : workers) {
      others += MX.getThreadAllocatedBytes(id);
    }
    return (mine + others) / calls;
  }

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
        Tensor len = Tensor.ofInts(new int[] {12, 7, 9}, 3);
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

  /**
   * A whole PyTorch export (embedding, Slice of the initial states, two LSTMs with the ONNX
   * Reshape/Transpose/Squeeze around them, Concat of the final states, MatMul + Add, LogSoftmax).
   */
  @Test
  void importedModelAllocatesNothing() {
    try (OnnxFixture f = OnnxFixture.load("torch17_char_lm")) {
      OnnxModel m = OnnxModel.read(f.model, f.name);
      Map<String, Tensor> in = f.inputs();
      Map<String, Tensor> out = new java.util.LinkedHashMap<>();
      try (Weights w = m.weights();
          Session session = Session.open(m.graph(), w, Options.backend("java").threads(1))) {
        try (Result r = session.run(in)) {
          for (String name : r.names()) {
            out.put(name, r.get(name).copy());
          }
        }
        long perRun = bytesPerCall(() -> session.run(in, out));
        assertEquals(0, perRun, "the imported char LM allocated " + perRun + " bytes per call");
      } finally {
        out.values().forEach(Tensor::close);
      }
    }
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
}
