package dev.jrnn.backend.java;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.ir.Const;
import dev.jrnn.ir.Inference;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.IrValue;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.TensorType;
import dev.jrnn.ir.WeightSpec;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.Backends;
import dev.jrnn.spi.ExecContext;
import dev.jrnn.spi.TrainableNode;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * A java training step — every node's training forward, then every backward in reverse, as the
 * training executor runs them — allocates nothing on the Java heap once warm: with dropout nodes,
 * dropout between recurrent layers and recurrent dropout, and without; on one thread and on two
 * (the workers counted too); each step with a new seed, so new masks, as a trainer's steps have.
 *
 * <p>First every cell variant trains a few steps, so that the kernels' profiles hold both sides of
 * every configuration branch, as in a JVM that has run the whole suite. That is the state in which
 * a vector assigned inside such a branch in a vector loop is boxed on every iteration (C2 keeps it
 * as an object where the paths merge): lstmBackward's peephole terms did this, 6.4 KB per step in
 * the suite, 0 in a fresh JVM. The measurement so does not depend on which tests ran before.
 */
class TrainingAllocationTest {

  private static final com.sun.management.ThreadMXBean MX =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  /** Steps per measurement, and measurements in a row that must read zero after the first. */
  static final int STEPS = 50;

  static final int CHECKS = 3;

  /** How long a configuration may take to stop allocating (C2's queue on a small, busy machine). */
  static final long WARM_UP_NANOS = 60_000_000_000L;

  /** A context that allocates nothing itself: a seed per step, caches by identity, no scratch. */
  static final class Ctx implements ExecContext {
    final int threads;
    final IdentityHashMap<Object, Object> cache = new IdentityHashMap<>();
    long seed;

    Ctx(int threads) {
      this.threads = threads;
    }

    @Override
    public int threads() {
      return threads;
    }

    @Override
    public long seed() {
      return seed;
    }

    @Override
    public MemorySegment scratch(long bytes) {
      throw new UnsupportedOperationException("no java training node asks for scratch");
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T cache(Object key, Function<Object, T> create) {
      Object v = cache.get(key);
      if (v == null) {
        v = create.apply(key);
        cache.put(key, v);
      }
      return (T) v;
    }
  }

  /**
   * Every node of a chain-shaped graph (each value read by at most one node) compiled for training
   * on java, with every tensor made once: a step is what the training executor does per node,
   * without the executor's own per-pass bookkeeping.
   */
  static final class Chain implements AutoCloseable {
    final Backend.Context ctx;
    final Ctx ec;
    final List<TrainableNode> nodes = new ArrayList<>();
    final List<Tensor[]> ins = new ArrayList<>();
    final List<Tensor[]> outs = new ArrayList<>();
    final List<Tensor[]> gradOuts = new ArrayList<>();
    final List<Tensor[]> gradIns = new ArrayList<>();
    final List<Map<String, Tensor>> gradWeights = new ArrayList<>();
    final TrainableNode.Saved[] saved;
    final List<Tensor> owned = new ArrayList<>();

    Chain(Graph g, Weights w, Map<String, Tensor> inputs, Tensor upstream, int threads) {
      IrGraph ir = IrGraph.of(g);
      ctx = Backends.byName("java").open(Options.backend("java").threads(threads));
      ec = new Ctx(threads);
      Map<IrValue, Tensor> values = new IdentityHashMap<>();
      Map<IrValue, Tensor> grads = new IdentityHashMap<>();
      ir.inputValues().forEach((k, v) -> values.put(v, inputs.get(k)));
      List<Node> order = new ArrayList<>();
      for (Node n : ir.nodes()) {
        if (n.op() instanceof Op.Input) {
          continue;
        }
        Tensor[] in = new Tensor[n.inputCount()];
        Tensor[] gin = new Tensor[in.length];
        TensorType[] types = new TensorType[in.length];
        for (int i = 0; i < in.length; i++) {
          IrValue v = n.input(i);
          if (v != null) {
            in[i] = values.get(v);
            types[i] = TensorType.fixed(in[i].dtype(), in[i].shape());
            if (in[i].dtype() == DType.F32) {
              gin[i] = own(Tensor.allocate(DType.F32, in[i].shape()));
              assertTrue(grads.put(v, gin[i]) == null, "a value read twice: not a chain");
            }
          }
        }
        TensorType[] outTypes =
            Inference.of(n.name(), n.op(), types, new Const[in.length], false).types();
        Tensor[] out = new Tensor[outTypes.length];
        for (int i = 0; i < out.length; i++) {
          out[i] = own(Tensor.allocate(outTypes[i].dtype(), outTypes[i].shape()));
          values.put(n.output(i), out[i]);
        }
        Map<String, Tensor> nw = new LinkedHashMap<>();
        Map<String, Tensor> gw = new LinkedHashMap<>();
        for (WeightSpec s : n.weights()) {
          nw.put(s.name(), w.get(s.name()));
          gw.put(s.name(), own(Tensor.allocate(DType.F32, s.shape())));
        }
        order.add(n);
        nodes.add(ctx.compileForTraining(n, nw));
        ins.add(in);
        outs.add(out);
        gradIns.add(gin);
        gradWeights.add(gw);
      }
      for (Node n : order) {
        Tensor[] go = new Tensor[n.outputs().size()];
        for (int i = 0; i < go.length; i++) {
          go[i] = grads.get(n.output(i));
        }
        gradOuts.add(go);
      }
      gradOuts.getLast()[0] = upstream;
      saved = new TrainableNode.Saved[nodes.size()];
    }

    Tensor own(Tensor t) {
      owned.add(t);
      return t;
    }

    void step() {
      ec.seed++;
      for (int k = 0; k < nodes.size(); k++) {
        saved[k] = nodes.get(k).forward(ins.get(k), outs.get(k), ec);
      }
      for (int k = nodes.size() - 1; k >= 0; k--) {
        nodes
            .get(k)
            .backward(
                saved[k],
                ins.get(k),
                outs.get(k),
                gradOuts.get(k),
                gradIns.get(k),
                gradWeights.get(k),
                ec);
        if (saved[k] != null) {
          saved[k].close();
          saved[k] = null;
        }
      }
    }

    @Override
    public void close() {
      ctx.close();
      owned.forEach(Tensor::close);
    }
  }

  static final int T = 6, N = 3, I = 8, OUT = 5;

  /** x [T, N, I] → dropout → recurrent (lengths) → dropout → tanh → linear: per-step outputs. */
  static Graph sequenceModel(Recurrent spec, double dropout) {
    return Graph.build(
        b -> {
          Value x = b.input("x", DType.F32, Dim.dyn("T"), Dim.dyn("N"), Dim.of(I));
          Value len = b.input("len", DType.I32, Dim.dyn("N"));
          if (dropout > 0) {
            x = b.dropout(x, dropout);
          }
          Value y = b.recurrent(x, spec, len, null, null);
          if (dropout > 0) {
            y = b.dropout(y, dropout);
          }
          b.output("out", b.linear(b.tanh(y), OUT));
        });
  }

  /** ids [T, N] → embedding → dropout → recurrent → last step → linear → log-softmax. */
  static Graph classifier(Recurrent spec, double dropout) {
    return Graph.build(
        b -> {
          Value ids = b.input("ids", DType.I32, Dim.dyn("T"), Dim.dyn("N"));
          Value len = b.input("len", DType.I32, Dim.dyn("N"));
          Value y = b.recurrent(b.dropout(b.embedding(ids, 11, I), dropout), spec, len, null, null);
          b.output("out", b.logSoftmax(b.linear(b.lastStep(y, len, false), OUT)));
        });
  }

  /** A chain over fixed inputs and upstream gradient for one of the two models. */
  static Chain chain(Graph g, Weights w, boolean classifier, int threads, List<Tensor> keep) {
    Tensor len = keep(keep, Tensor.of(new int[] {T, 2, 5}, N));
    Tensor up = keep(keep, Tensor.allocate(DType.F32, classifier ? new int[] {N, OUT} : dims()));
    for (long i = 0; i < up.size(); i++) {
      up.setFloat(i, (float) Math.cos(i));
    }
    Tensor data;
    if (classifier) {
      data = keep(keep, Tensor.allocate(DType.I32, T, N));
      for (long i = 0; i < data.size(); i++) {
        data.setInt(i, (int) (i * 7 % 11));
      }
    } else {
      data = keep(keep, Tensor.allocate(DType.F32, T, N, I));
      for (long i = 0; i < data.size(); i++) {
        data.setFloat(i, (float) Math.sin(i));
      }
    }
    return new Chain(g, w, Map.of(classifier ? "ids" : "x", data, "len", len), up, threads);
  }

  private static int[] dims() {
    return new int[] {T, N, OUT};
  }

  private static Tensor keep(List<Tensor> keep, Tensor t) {
    keep.add(t);
    return t;
  }

  static long bytes(long[] threads) {
    long s = 0;
    for (long id : threads) {
      s += MX.getThreadAllocatedBytes(id);
    }
    return s;
  }

  /** This thread (read last before and first after the steps) and the pool's workers. */
  static long allocated(Chain c, int steps) {
    long self = Thread.currentThread().threadId();
    long[] workers =
        Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().startsWith("jrnn-worker-"))
            .mapToLong(Thread::threadId)
            .toArray();
    long others = -bytes(workers);
    long mine = -MX.getThreadAllocatedBytes(self);
    for (int i = 0; i < steps; i++) {
      c.step();
    }
    mine += MX.getThreadAllocatedBytes(self);
    others += bytes(workers);
    return mine + others;
  }

  /** Trains a few steps of every cell variant, with and without dropout, on 1 and 2 threads. */
  static void trainEveryVariant() {
    Activation hs = Activation.of(Activation.Kind.HARD_SIGMOID);
    List<Recurrent> all =
        List.of(
            Recurrent.lstm(16),
            Recurrent.lstm(16).peepholes().projection(8),
            Recurrent.lstm(16).clip(0.5f).coupledInputForget(),
            Recurrent.lstm(16).peepholes().coupledInputForget(),
            Recurrent.lstm(16).activations(List.of(hs, Activation.TANH, Activation.TANH)),
            Recurrent.lstm(7).bidirectional().layers(2).dropout(0.3).recurrentDropout(0.2),
            Recurrent.gru(16).clip(0.5f),
            Recurrent.gru(16).linearBeforeReset(false).clip(0.5f).bidirectional(),
            Recurrent.gru(9).recurrentDropout(0.3).layers(2).dropout(0.2),
            Recurrent.rnn(16).relu().clip(0.5f),
            Recurrent.rnn(16).bidirectional().recurrentDropout(0.3));
    int k = 0;
    for (Recurrent s : all) {
      for (int threads = 1; threads <= 2; threads++) {
        boolean classifier = k++ % 3 == 0;
        Graph g = classifier ? classifier(s, 0.2) : sequenceModel(s, k % 2 * 0.2);
        List<Tensor> keep = new ArrayList<>();
        try (Weights w = Weights.random(g, k);
            Chain c = chain(g, w, classifier, threads, keep)) {
          for (int i = 0; i < 60; i++) {
            c.step();
          }
        } finally {
          keep.forEach(Tensor::close);
        }
      }
    }
  }

  /**
   * Steps in rounds of {@link #STEPS} until {@link #CHECKS} rounds in a row allocate nothing after
   * one that did not either (C2 has compiled what the step runs, and a late recompilation, which
   * runs slower code for a while, has passed); returns 0 then, else the bytes per step of the last
   * round that allocated when time is up.
   */
  static long bytesPerStepOnceWarm(String what, Graph g, boolean classifier, int threads) {
    List<Tensor> keep = new ArrayList<>();
    try (Weights w = Weights.random(g, 7);
        Chain c = chain(g, w, classifier, threads, keep)) {
      long deadline = System.nanoTime() + WARM_UP_NANOS;
      int steps = 0;
      int quiet = 0; // rounds in a row without allocation
      int since = 0; // steps until the last round that allocated
      long last = 0;
      while (quiet <= CHECKS && System.nanoTime() < deadline) {
        long b = allocated(c, STEPS);
        steps += STEPS;
        if (b == 0) {
          quiet++;
        } else {
          quiet = 0;
          last = b / STEPS;
          since = steps;
        }
      }
      boolean warm = quiet > CHECKS;
      System.out.printf(
          "training step, %-66s %d threads: %s%n",
          what,
          threads,
          warm
              ? "0 B per step over "
                  + (quiet - 1) * STEPS
                  + " steps, after "
                  + (steps - quiet * STEPS)
                  + " to warm up"
              : "still " + last + " B per step at step " + since);
      return warm ? 0 : last;
    } finally {
      keep.forEach(Tensor::close);
    }
  }

  @Test
  void aTrainingStepAllocatesNothingOnceWarm() {
    long t0 = System.nanoTime();
    trainEveryVariant();
    System.out.printf("every cell variant trained in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    Map<String, Long> allocating = new LinkedHashMap<>();
    for (int threads = 1; threads <= 2; threads++) {
      Map<String, Graph> sequence = new LinkedHashMap<>();
      sequence.put("lstm 2 layers, no dropout", sequenceModel(Recurrent.lstm(16).layers(2), 0));
      sequence.put(
          "lstm 2 layers, dropout nodes, between layers, recurrent",
          sequenceModel(Recurrent.lstm(16).layers(2).dropout(0.3).recurrentDropout(0.25), 0.2));
      sequence.put(
          "gru reset-first bidirectional, dropout nodes, recurrent",
          sequenceModel(
              Recurrent.gru(12).linearBeforeReset(false).bidirectional().recurrentDropout(0.3),
              0.2));
      for (Map.Entry<String, Graph> e : sequence.entrySet()) {
        long b = bytesPerStepOnceWarm(e.getKey(), e.getValue(), false, threads);
        if (b != 0) {
          allocating.put(e.getKey() + ", " + threads + " threads", b);
        }
      }
      String what = "embedding, dropout, gru recurrent dropout, last step, log-softmax";
      Graph g = classifier(Recurrent.gru(12).recurrentDropout(0.3), 0.2);
      long b = bytesPerStepOnceWarm(what, g, true, threads);
      if (b != 0) {
        allocating.put(what + ", " + threads + " threads", b);
      }
    }
    assertEquals(Map.of(), allocating, "bytes per step once warm");
  }
}
