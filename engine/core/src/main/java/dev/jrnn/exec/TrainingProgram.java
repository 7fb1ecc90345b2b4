package dev.jrnn.exec;

import dev.jrnn.DType;
import dev.jrnn.Graph;
import dev.jrnn.Options;
import dev.jrnn.Tensor;
import dev.jrnn.Weights;
import dev.jrnn.ir.Const;
import dev.jrnn.ir.Inference;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.IrValue;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.TensorType;
import dev.jrnn.ir.WeightSpec;
import dev.jrnn.kernels.Arith;
import dev.jrnn.kernels.Elementwise;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.TrainableNode;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A graph compiled for training: {@link #forward} runs every node in training mode and keeps every
 * value; {@link #backward} runs each node's backward ({@link TrainableNode}) in reverse order,
 * summing the gradients of values read by several nodes, and returns the gradient of every weight
 * and of every F32 graph input. Nodes are placed like a session's, on backends that can train them;
 * a node no backend can train still runs forward, and backward fails only if a gradient must flow
 * through it. Values the graph computes from constants alone fold when the forward pass is planned
 * and get no gradient.
 *
 * <p>One call at a time; tensors from {@link #forward} stay valid until the next forward or close.
 */
public final class TrainingProgram implements AutoCloseable {

  private final IrGraph graph;
  private final List<Node> order = new ArrayList<>(); // nodes the outputs need, inputs excluded
  private final Map<Node, CompiledNode> kernels = new IdentityHashMap<>();
  private final Map<Node, Backend> placement = new LinkedHashMap<>();
  private final Map<Node, String> untrainable = new IdentityHashMap<>();
  private final Map<Backend, Backend.Context> contexts;
  private final Workspace ws;
  private final String[] inputNames;
  private final Map<String, IrValue> usedInputs = new LinkedHashMap<>(); // read by the outputs
  private final Map<IrValue, Const> constantValues = new IdentityHashMap<>();
  private final Map<IrValue, Tensor> constants = new IdentityHashMap<>(); // made once, owned
  private Pass pass; // the last forward pass
  private boolean closed;

  private TrainingProgram(
      IrGraph graph,
      Map<Node, Backend> where,
      Map<Backend, Backend.Context> ctx,
      Weights w,
      int t) {
    this.graph = graph;
    this.contexts = ctx;
    this.ws = new Workspace(t);
    this.inputNames = graph.inputValues().keySet().toArray(String[]::new);
    Set<Node> needed = Program.neededNodes(graph);
    graph
        .inputValues()
        .forEach(
            (name, v) -> {
              if (needed.contains(v.node())) {
                usedInputs.put(name, v);
              }
            });
    for (Node n : graph.nodes()) {
      if (!needed.contains(n) || n.op() instanceof Op.Input) {
        continue;
      }
      if (n.op() instanceof Op.Constant c) {
        constantValues.put(n.output(0), c.value());
        constants.put(n.output(0), c.value().saturated().toTensor());
        continue;
      }
      order.add(n);
      Backend b = where.get(n);
      placement.put(n, b);
      Map<String, Tensor> nw = Program.weightsOf(n, w);
      String why = b.untrainable(n);
      TrainableNode tn = why == null ? ctx.get(b).compileForTraining(n, nw) : null;
      if (tn != null) {
        kernels.put(n, tn);
      } else {
        untrainable.put(n, why != null ? why : b.name() + " declined to train it");
        kernels.put(n, ctx.get(b).compile(n, nw));
      }
    }
  }

  /**
   * Checks the weights, places every node on a backend that can train it (the chosen one, else a
   * fallback; one log line names what moved), compiles the nodes. Weights are copied where needed.
   */
  public static TrainingProgram open(Graph g, Weights weights, Options options) {
    IrGraph graph = IrGraph.of(g);
    Objects.requireNonNull(weights, "weights");
    Options o = LocalSession.withForcedBackend(Objects.requireNonNull(options, "options"));
    weights.checkAgainst(graph);
    Backend primary = Placement.choose(o.backendName());
    Map<Node, Backend> where = Placement.placeForTraining(graph, primary, true);
    return Placement.withContexts(
        where, o, c -> new TrainingProgram(graph, where, c, weights, o.threadCount()));
  }

  /** Node name to the backend that trains (or, where none can, runs) it. */
  public Map<String, String> placement() {
    Map<String, String> m = new LinkedHashMap<>();
    placement.forEach((n, b) -> m.put(n.name(), b.name()));
    return m;
  }

  /**
   * Runs the graph in training mode on named inputs and returns its outputs, valid until the next
   * forward or close (copy what you keep). {@code seed} drives the pass's random choices (dropout
   * masks): the same seed gives the same masks.
   */
  public Map<String, Tensor> forward(Map<String, Tensor> inputs, long seed) {
    return pass(inputs, true, seed);
  }

  /** {@link #forward} with seed 0. */
  public Map<String, Tensor> forward(Map<String, Tensor> inputs) {
    return forward(inputs, 0);
  }

  /**
   * Runs the graph as inference does (dropout off, nothing kept for backward) with the current
   * weights; outputs as for {@link #forward}.
   */
  public Map<String, Tensor> evaluate(Map<String, Tensor> inputs) {
    return pass(inputs, false, 0);
  }

  private Map<String, Tensor> pass(Map<String, Tensor> inputs, boolean training, long seed) {
    checkOpen();
    Objects.requireNonNull(inputs, "inputs");
    Checks.noUnknownInputs(inputs, graph, inputNames);
    if (pass != null) {
      pass.close();
      pass = null;
    }
    Pass p = new Pass(training);
    ws.seed(seed);
    try {
      p.run(inputs);
    } catch (RuntimeException | Error e) {
      p.close();
      throw e;
    }
    pass = p;
    Map<String, Tensor> out = new LinkedHashMap<>();
    graph.outputValues().forEach((k, v) -> out.put(k, p.values.get(v)));
    return out;
  }

  /**
   * Backward through the last {@link #forward}: {@code outputGrads} holds the gradient of the loss
   * with respect to some outputs (the others count as zero). Returns new tensors the caller owns.
   */
  public Gradients backward(Map<String, Tensor> outputGrads) {
    checkOpen();
    Objects.requireNonNull(outputGrads, "outputGrads");
    if (pass == null || !pass.training) {
      throw new IllegalStateException("backward needs a training forward pass first");
    }
    return pass.backward(outputGrads);
  }

  /**
   * Gives every node new weight values (same names and shapes), e.g. after an optimizer step: a
   * trainable node takes them in place; a node that only runs forward is compiled again.
   */
  public void updateWeights(Weights weights) {
    checkOpen();
    weights.checkAgainst(graph);
    for (Node n : order) {
      if (n.weights().isEmpty()) {
        continue;
      }
      Map<String, Tensor> nw = Program.weightsOf(n, weights);
      if (kernels.get(n) instanceof TrainableNode t) {
        t.updateWeights(nw);
      } else {
        kernels.put(n, contexts.get(placement.get(n)).compile(n, nw));
      }
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("training program is used after close");
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      List<AutoCloseable> all = new ArrayList<>();
      if (pass != null) {
        all.add(pass);
      }
      all.addAll(contexts.values());
      all.addAll(constants.values());
      all.add(ws);
      Closer.closeAll(all);
    }
  }

  /** The gradients of one backward pass; closing closes every tensor. */
  public record Gradients(Map<String, Tensor> weights, Map<String, Tensor> inputs)
      implements AutoCloseable {
    @Override
    public void close() {
      weights.values().forEach(Tensor::close);
      inputs.values().forEach(Tensor::close);
    }
  }

  /** One forward pass: every value, what each node saved, which nodes folded. */
  private final class Pass implements AutoCloseable {
    final boolean training;
    final Map<IrValue, Tensor> values = new IdentityHashMap<>();
    final Map<IrValue, Const> known = new IdentityHashMap<>();
    final Map<Node, TrainableNode.Saved> saved = new IdentityHashMap<>();
    final Set<Node> ran = new HashSet<>();
    final List<Tensor> owned = new ArrayList<>();

    Pass(boolean training) {
      this.training = training;
    }

    void run(Map<String, Tensor> inputs) {
      Checks.Dims dims = new Checks.Dims();
      for (Map.Entry<String, IrValue> e : usedInputs.entrySet()) {
        Tensor t = inputs.get(e.getKey());
        Checks.input(e.getKey(), e.getValue().type(), t, inputNames, dims);
        ws.hold(t);
        values.put(e.getValue(), t);
      }
      values.putAll(constants);
      known.putAll(constantValues);
      for (Node n : order) {
        step(n);
      }
    }

    private Tensor own(Const c) {
      Tensor t = c.saturated().toTensor();
      owned.add(t);
      return t;
    }

    private void step(Node n) {
      Tensor[] ins = new Tensor[n.inputCount()];
      TensorType[] types = new TensorType[ins.length];
      Const[] consts = new Const[ins.length];
      for (int i = 0; i < ins.length; i++) {
        IrValue v = n.input(i);
        if (v != null) {
          ins[i] = values.get(v);
          types[i] = TensorType.fixed(ins[i].dtype(), ins[i].shape());
          consts[i] = known.get(v);
        }
      }
      Inference inf = Inference.of(n.name(), n.op(), types, consts, true);
      TensorType[] outTypes = inf.types();
      Const[] folded = inf.values();
      if (folded != null) { // computed from constants: a constant, no gradient
        for (int i = 0; i < folded.length; i++) {
          known.put(n.output(i), folded[i]);
          values.put(n.output(i), own(folded[i]));
        }
        return;
      }
      Tensor[] outs = new Tensor[outTypes.length];
      for (int i = 0; i < outs.length; i++) {
        outs[i] = Tensor.allocate(outTypes[i].dtype(), outTypes[i].shape());
        owned.add(outs[i]);
        values.put(n.output(i), outs[i]);
      }
      Checks.lengths(n, ins);
      CompiledNode k = kernels.get(n);
      if (training && k instanceof TrainableNode t) {
        TrainableNode.Saved s = t.forward(ins, outs, ws);
        if (s != null) {
          saved.put(n, s);
        }
      } else {
        k.run(ins, outs, ws);
      }
      ran.add(n);
      ws.reset();
    }

    Gradients backward(Map<String, Tensor> outputGrads) {
      Map<IrValue, Tensor> grads = new IdentityHashMap<>();
      List<Tensor> scratch = new ArrayList<>();
      Map<String, Tensor> weightGrads = new LinkedHashMap<>();
      Map<String, Tensor> inputGrads = new LinkedHashMap<>();
      boolean ok = false;
      try {
        for (Node n : order) {
          for (WeightSpec s : n.weights()) {
            weightGrads.put(s.name(), Tensor.allocate(DType.F32, s.shape()));
          }
        }
        for (Map.Entry<String, Tensor> e : outputGrads.entrySet()) {
          IrValue v = graph.outputValues().get(e.getKey());
          if (v == null) {
            throw new IllegalArgumentException(
                "unknown output '"
                    + e.getKey()
                    + "'; outputs: "
                    + String.join(", ", graph.outputValues().keySet()));
          }
          Tensor y = values.get(v);
          Tensor g = e.getValue();
          if (g.dtype() != DType.F32 || !java.util.Arrays.equals(g.shape(), y.shape())) {
            throw new IllegalArgumentException(
                "the gradient of output '"
                    + e.getKey()
                    + "' must be "
                    + y.describe()
                    + ", got "
                    + g.describe());
          }
          accumulate(grads, v, g, scratch);
        }
        for (int k = order.size() - 1; k >= 0; k--) {
          Node n = order.get(k);
          if (!ran.contains(n)) {
            continue; // folded
          }
          Tensor[] gradOut = new Tensor[n.outputs().size()];
          boolean any = false;
          for (int i = 0; i < gradOut.length; i++) {
            gradOut[i] = grads.get(n.output(i));
            any |= gradOut[i] != null;
          }
          if (!any) {
            continue; // nothing flows back through it: its weight gradients stay zero
          }
          if (!(kernels.get(n) instanceof TrainableNode t)) {
            throw new IllegalStateException(
                "node '"
                    + n.name()
                    + "' ("
                    + n.op().kind()
                    + ") has no backward pass on any backend: "
                    + untrainable.get(n));
          }
          Tensor[] ins = new Tensor[n.inputCount()];
          Tensor[] gradIn = new Tensor[ins.length];
          for (int i = 0; i < ins.length; i++) {
            IrValue v = n.input(i);
            if (v == null) {
              continue;
            }
            ins[i] = values.get(v);
            if (ins[i].dtype() == DType.F32 && !known.containsKey(v)) {
              gradIn[i] = Tensor.allocate(DType.F32, ins[i].shape());
              scratch.add(gradIn[i]);
            }
          }
          Tensor[] outs = new Tensor[gradOut.length];
          for (int i = 0; i < outs.length; i++) {
            outs[i] = values.get(n.output(i));
          }
          Map<String, Tensor> dw = new LinkedHashMap<>();
          for (WeightSpec s : n.weights()) {
            dw.put(s.name(), weightGrads.get(s.name()));
          }
          t.backward(saved.get(n), ins, outs, gradOut, gradIn, dw, ws);
          ws.reset();
          for (int i = 0; i < ins.length; i++) {
            if (gradIn[i] != null) {
              accumulate(grads, n.input(i), gradIn[i], scratch);
            }
          }
        }
        for (Map.Entry<String, IrValue> e : graph.inputValues().entrySet()) {
          Tensor g = grads.get(e.getValue());
          if (g != null) {
            inputGrads.put(e.getKey(), g.copy());
          }
        }
        ok = true;
        return new Gradients(weightGrads, inputGrads);
      } finally {
        scratch.forEach(Tensor::close);
        if (!ok) {
          weightGrads.values().forEach(Tensor::close);
          inputGrads.values().forEach(Tensor::close);
        }
      }
    }

    /** Adds {@code g} into the gradient of {@code v} (a copy the first time). */
    private void accumulate(Map<IrValue, Tensor> grads, IrValue v, Tensor g, List<Tensor> own) {
      Tensor acc = grads.get(v);
      if (acc == null) {
        Tensor c = g.copy();
        own.add(c);
        grads.put(v, c);
        return;
      }
      MemorySegment a = acc.segment();
      Elementwise.binaryRun(
          Arith.ADD, a, 0, 1, g.segment(), 0, 1, a, 0, Math.toIntExact(acc.size()));
    }

    @Override
    public void close() {
      List<AutoCloseable> all = new ArrayList<>(saved.values());
      all.addAll(owned);
      try {
        Closer.closeAll(all);
      } finally {
        ws.releaseHeld();
      }
    }
  }
}
