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
import java.util.Arrays;
import java.util.Collections;
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
  private final Map<IrValue, Integer> slotOf = new IdentityHashMap<>(); // every value's index
  private final int[][] inSlots; // per node in order: the slot of each input, -1 for none
  private final int[][] outSlots; // per node in order
  private final String[] usedNames; // the inputs the outputs read, their declared types, slots
  private final TensorType[] usedTypes;
  private final int[] usedSlots;
  private final String[] outputNames;
  private final int[] outputSlots;
  private final String[] inputGradNames; // every graph input, and its slot
  private final int[] inputGradSlots;
  private final String[] weightNames; // every weight the nodes read, in node order, and shapes
  private final int[][] weightShapes;
  private final String[][] nodeWeightNames; // per node in order
  private final List<Map<String, Tensor>> nodeGrads = new ArrayList<>(); // per node: dW by name
  private final List<Map<String, Tensor>> nodeWeights = new ArrayList<>(); // per node, last given
  private Weights lastWeights; // what nodeWeights were taken from
  private final TrainableNode.Saved[] saved; // per node, of the last training pass
  private final Plan[] plans = new Plan[PLANS];
  private long uses; // plan lookups so far, for least-recently-used eviction
  private Plan current; // the plan of the last pass, null when there is none
  private boolean trainingPass;
  private boolean closed;

  /** Input shapes whose tensors are kept at once (truncated BPTT's chunks, a short last batch). */
  static final int PLANS = 4;

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
    for (Node n : graph.nodes()) {
      for (IrValue v : n.outputs()) {
        slotOf.put(v, slotOf.size());
      }
    }
    inSlots = new int[order.size()][];
    outSlots = new int[order.size()][];
    nodeWeightNames = new String[order.size()][];
    Map<String, int[]> shapes = new LinkedHashMap<>();
    for (int k = 0; k < order.size(); k++) {
      Node n = order.get(k);
      inSlots[k] = new int[n.inputCount()];
      for (int i = 0; i < inSlots[k].length; i++) {
        inSlots[k][i] = n.input(i) == null ? -1 : slotOf.get(n.input(i));
      }
      outSlots[k] = new int[n.outputs().size()];
      for (int i = 0; i < outSlots[k].length; i++) {
        outSlots[k][i] = slotOf.get(n.output(i));
      }
      Map<String, Tensor> dw = new LinkedHashMap<>();
      for (WeightSpec s : n.weights()) {
        shapes.put(s.name(), s.shape());
        dw.put(s.name(), null);
      }
      nodeGrads.add(dw);
      nodeWeights.add(null);
      nodeWeightNames[k] = dw.keySet().toArray(String[]::new);
    }
    weightNames = shapes.keySet().toArray(String[]::new);
    weightShapes = shapes.values().toArray(int[][]::new);
    usedNames = usedInputs.keySet().toArray(String[]::new);
    usedTypes = new TensorType[usedNames.length];
    usedSlots = new int[usedNames.length];
    for (int i = 0; i < usedNames.length; i++) {
      IrValue v = usedInputs.get(usedNames[i]);
      usedTypes[i] = v.type();
      usedSlots[i] = slotOf.get(v);
    }
    outputNames = graph.outputValues().keySet().toArray(String[]::new);
    outputSlots = new int[outputNames.length];
    for (int i = 0; i < outputNames.length; i++) {
      outputSlots[i] = slotOf.get(graph.outputValues().get(outputNames[i]));
    }
    inputGradNames = inputNames;
    inputGradSlots = new int[inputNames.length];
    for (int i = 0; i < inputNames.length; i++) {
      inputGradSlots[i] = slotOf.get(graph.inputValues().get(inputNames[i]));
    }
    saved = new TrainableNode.Saved[order.size()];
  }

  /**
   * Checks the weights, places every node on a backend that can train it (the chosen one, else a
   * fallback; one log line names what moved), compiles the nodes. Weights are copied where needed.
   */
  public static TrainingProgram open(Graph g, Weights weights, Options options) {
    IrGraph graph = IrGraph.of(g);
    Objects.requireNonNull(weights, "weights");
    Options o = LocalSession.withForcedBackend(Objects.requireNonNull(options, "options"));
    NodeWeights.requireF32(graph, weights);
    weights.checkAgainst(graph);
    o.requestedPrecision()
        .filter(p -> p != dev.jrnn.Precision.F32)
        .ifPresent(
            p -> {
              throw new IllegalArgumentException(
                  "training runs in f32; precision "
                      + p
                      + " applies to sessions (quantize the trained weights for inference)");
            });
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
    noUnknownInputs(inputs);
    endPass();
    Plan p = plan(inputs);
    ws.seed(seed);
    boolean ok = false;
    try {
      p.run(inputs, training);
      ok = true;
    } finally {
      if (!ok) {
        endPass();
      }
    }
    current = p;
    trainingPass = training;
    for (int i = 0; i < outputNames.length; i++) {
      p.outputs.put(outputNames[i], p.vals[outputSlots[i]]);
    }
    return p.outputView;
  }

  /** The inputs' names are all the graph's: counted without an iterator, searched on a mismatch. */
  private void noUnknownInputs(Map<String, Tensor> inputs) {
    int known = 0;
    for (String name : inputNames) {
      if (inputs.containsKey(name)) {
        known++;
      }
    }
    if (known != inputs.size()) {
      Checks.noUnknownInputs(inputs, graph, inputNames);
    }
  }

  /** Closes what the last pass's nodes saved and lets go of its inputs. */
  private void endPass() {
    current = null;
    try {
      List<AutoCloseable> all = null;
      for (int k = 0; k < saved.length; k++) {
        if (saved[k] != null) {
          if (all == null) {
            all = new ArrayList<>();
          }
          all.add(saved[k]);
          saved[k] = null;
        }
      }
      if (all != null) {
        Closer.closeAll(all);
      }
    } finally {
      ws.releaseHeld();
    }
  }

  /**
   * The plan for these input shapes: a cached one, else one made after the full input check (the
   * least recently used goes when {@link #PLANS} are cached).
   */
  private Plan plan(Map<String, Tensor> inputs) {
    Plan lru = null;
    int free = -1;
    for (int i = 0; i < plans.length; i++) {
      Plan p = plans[i];
      if (p == null) {
        free = i;
      } else if (p.matches(inputs)) {
        p.used = ++uses;
        return p;
      } else if (lru == null || p.used < lru.used) {
        lru = p;
      }
    }
    Checks.Dims dims = new Checks.Dims();
    for (int i = 0; i < usedNames.length; i++) {
      Checks.input(usedNames[i], usedTypes[i], inputs.get(usedNames[i]), inputNames, dims);
    }
    if (free < 0) {
      for (int i = 0; i < plans.length; i++) {
        if (plans[i] == lru) {
          plans[i] = null;
          free = i;
        }
      }
      lru.close();
    }
    Plan p = new Plan(inputs);
    p.used = ++uses;
    plans[free] = p;
    return p;
  }

  /**
   * Backward through the last {@link #forward}: {@code outputGrads} holds the gradient of the loss
   * with respect to some outputs (the others count as zero). Returns new tensors the caller owns.
   */
  public Gradients backward(Map<String, Tensor> outputGrads) {
    checkOpen();
    Objects.requireNonNull(outputGrads, "outputGrads");
    if (current == null || !trainingPass) {
      throw new IllegalStateException("backward needs a training forward pass first");
    }
    Map<String, Tensor> weightGrads = newWeightGradients();
    Map<String, Tensor> inputGrads = new LinkedHashMap<>();
    boolean ok = false;
    try {
      Map<String, Tensor> in = backward(outputGrads, weightGrads);
      for (Map.Entry<String, Tensor> e : in.entrySet()) {
        inputGrads.put(e.getKey(), e.getValue().copy());
      }
      ok = true;
      return new Gradients(weightGrads, inputGrads);
    } finally {
      if (!ok) {
        weightGrads.values().forEach(Tensor::close);
        inputGrads.values().forEach(Tensor::close);
      }
    }
  }

  /** A new zero tensor for the gradient of every weight, in the order backward gives them. */
  Map<String, Tensor> newWeightGradients() {
    Map<String, Tensor> m = new LinkedHashMap<>();
    boolean ok = false;
    try {
      for (int i = 0; i < weightNames.length; i++) {
        m.put(weightNames[i], Tensor.allocate(DType.F32, weightShapes[i]));
      }
      ok = true;
      return m;
    } finally {
      if (!ok) {
        m.values().forEach(Tensor::close);
      }
    }
  }

  /**
   * {@link #backward(Map)} into the caller's weight gradients ({@code weightGrads}: every weight by
   * name, F32 of its shape, zeroed here first) without allocating once the pass's shapes have been
   * seen. Returns the gradient of every F32 graph input that gets one: the program's tensors, valid
   * until the next pass.
   */
  Map<String, Tensor> backward(Map<String, Tensor> outputGrads, Map<String, Tensor> weightGrads) {
    checkOpen();
    Objects.requireNonNull(outputGrads, "outputGrads");
    if (current == null || !trainingPass) {
      throw new IllegalStateException("backward needs a training forward pass first");
    }
    return current.backward(outputGrads, weightGrads);
  }

  /**
   * Gives every node new weight values (same names and shapes), e.g. after an optimizer step: a
   * trainable node takes them in place; a node that only runs forward is compiled again.
   */
  public void updateWeights(Weights weights) {
    checkOpen();
    boolean same = weights == lastWeights;
    for (int k = 0; same && k < order.size(); k++) {
      Map<String, Tensor> nw = nodeWeights.get(k);
      for (String w : nodeWeightNames[k]) {
        same &= weights.get(w) == nw.get(w);
      }
    }
    if (!same) { // the same tensors as last time were checked then, and their maps are kept
      weights.checkAgainst(graph);
      NodeWeights.requireF32(graph, weights);
      for (int k = 0; k < order.size(); k++) {
        nodeWeights.set(k, Program.weightsOf(order.get(k), weights));
      }
      lastWeights = weights;
    }
    for (int k = 0; k < order.size(); k++) {
      Node n = order.get(k);
      if (nodeWeightNames[k].length == 0) {
        continue;
      }
      Map<String, Tensor> nw = nodeWeights.get(k);
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
      all.add(this::endPass);
      for (Plan p : plans) {
        if (p != null) {
          all.add(p);
        }
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

  /**
   * Everything about a pass that depends only on the input shapes: every value's tensor (the
   * intermediates, and the values folded from constants), each node's argument arrays and, from the
   * first backward on, each node's input gradients. Every pass with these shapes reuses it.
   */
  private final class Plan implements AutoCloseable {
    final int[][] inputShapes; // per used input
    final Tensor[] vals; // per slot; the graph inputs bound per pass
    final boolean[] known; // per slot: a constant, or folded from constants (no gradient)
    final boolean[] folded; // per node
    final Tensor[][] ins; // per node, bound per pass
    final Tensor[][] outs; // per node
    final Map<String, Tensor> outputs = new LinkedHashMap<>();
    final Map<String, Tensor> outputView = Collections.unmodifiableMap(outputs);
    final List<Tensor> owned = new ArrayList<>();
    long used; // the lookup that last chose it
    Tensor[][] gradIns; // per node: a tensor per F32 input that is not known; made at 1st backward
    Tensor[][] gradOuts; // per node, the argument array
    Tensor[] grads; // per slot: the gradient summed so far in this backward, null for none yet
    Tensor[] outGrads; // per slot: a copy of an output's given gradient
    final Map<String, Tensor> inputGrads = new LinkedHashMap<>();
    final Map<String, Tensor> inputGradView = Collections.unmodifiableMap(inputGrads);

    /** Infers every shape from these (checked) inputs, folds, and makes the tensors. */
    Plan(Map<String, Tensor> inputs) {
      inputShapes = new int[usedNames.length][];
      vals = new Tensor[slotOf.size()];
      known = new boolean[vals.length];
      folded = new boolean[order.size()];
      ins = new Tensor[order.size()][];
      outs = new Tensor[order.size()][];
      boolean ok = false;
      try {
        for (int i = 0; i < usedNames.length; i++) {
          Tensor t = inputs.get(usedNames[i]);
          inputShapes[i] = t.shape();
          vals[usedSlots[i]] = t; // for the shapes only
        }
        Map<IrValue, Const> consts = new IdentityHashMap<>(constantValues);
        for (Map.Entry<IrValue, Tensor> e : constants.entrySet()) {
          int s = slotOf.get(e.getKey());
          vals[s] = e.getValue();
          known[s] = true;
        }
        for (int k = 0; k < order.size(); k++) {
          Node n = order.get(k);
          ins[k] = new Tensor[n.inputCount()];
          TensorType[] types = new TensorType[ins[k].length];
          Const[] cs = new Const[ins[k].length];
          for (int i = 0; i < types.length; i++) {
            if (inSlots[k][i] >= 0) {
              Tensor x = vals[inSlots[k][i]];
              types[i] = TensorType.fixed(x.dtype(), x.shape());
              cs[i] = consts.get(n.input(i));
            }
          }
          Inference inf = Inference.of(n.name(), n.op(), types, cs, true);
          TensorType[] outTypes = inf.types();
          Const[] f = inf.values();
          outs[k] = new Tensor[outTypes.length];
          for (int i = 0; i < outTypes.length; i++) {
            Tensor t;
            if (f != null) { // computed from constants: a constant, no gradient
              consts.put(n.output(i), f[i]);
              t = f[i].saturated().toTensor();
              known[outSlots[k][i]] = true;
            } else {
              t = Tensor.allocate(outTypes[i].dtype(), outTypes[i].shape());
            }
            owned.add(t);
            outs[k][i] = t;
            vals[outSlots[k][i]] = t;
          }
          folded[k] = f != null;
        }
        ok = true;
      } finally {
        for (int s : usedSlots) {
          vals[s] = null;
        }
        if (!ok) {
          close();
        }
      }
    }

    /** Whether these inputs are open and have the shapes this plan was made for. */
    boolean matches(Map<String, Tensor> inputs) {
      for (int i = 0; i < usedNames.length; i++) {
        Tensor t = inputs.get(usedNames[i]);
        int[] shape = inputShapes[i];
        if (t == null
            || t.isClosed()
            || t.dtype() != usedTypes[i].dtype()
            || t.rank() != shape.length) {
          return false;
        }
        for (int d = 0; d < shape.length; d++) {
          if (t.dim(d) != shape[d]) {
            return false;
          }
        }
      }
      return true;
    }

    void run(Map<String, Tensor> inputs, boolean training) {
      for (int i = 0; i < usedNames.length; i++) {
        Tensor t = inputs.get(usedNames[i]);
        ws.hold(t);
        vals[usedSlots[i]] = t;
      }
      for (int k = 0; k < ins.length; k++) {
        if (folded[k]) {
          continue;
        }
        Tensor[] in = ins[k];
        int[] from = inSlots[k];
        for (int i = 0; i < in.length; i++) {
          in[i] = from[i] < 0 ? null : vals[from[i]];
        }
        Node n = order.get(k);
        Checks.lengths(n, in);
        CompiledNode c = kernels.get(n);
        if (training && c instanceof TrainableNode t) {
          saved[k] = t.forward(in, outs[k], ws);
        } else {
          c.run(in, outs[k], ws);
        }
        ws.reset();
      }
    }

    /** The tensors backward writes, made once: every node's input gradients and arrays. */
    private void prepareBackward() {
      Tensor[][] gi = new Tensor[ins.length][];
      Tensor[][] go = new Tensor[ins.length][];
      for (int k = 0; k < ins.length; k++) {
        gi[k] = new Tensor[ins[k].length];
        go[k] = new Tensor[outs[k].length];
        for (int i = 0; i < gi[k].length; i++) {
          Tensor x = ins[k][i];
          if (!folded[k] && x != null && x.dtype() == DType.F32 && !known[inSlots[k][i]]) {
            gi[k][i] = Tensor.allocate(DType.F32, x.shape());
            owned.add(gi[k][i]);
          }
        }
      }
      gradIns = gi;
      gradOuts = go;
      grads = new Tensor[vals.length];
      outGrads = new Tensor[vals.length];
    }

    Map<String, Tensor> backward(Map<String, Tensor> outputGrads, Map<String, Tensor> weightGrads) {
      int given = 0;
      for (int i = 0; i < outputNames.length; i++) {
        Tensor g = outputGrads.get(outputNames[i]);
        if (g == null) {
          continue;
        }
        given++;
        Tensor y = vals[outputSlots[i]];
        if (g.dtype() != DType.F32 || !sameShape(g, y)) {
          throw new IllegalArgumentException(
              "the gradient of output '"
                  + outputNames[i]
                  + "' must be "
                  + y.describe()
                  + ", got "
                  + g.describe());
        }
      }
      if (given != outputGrads.size()) {
        for (String k : outputGrads.keySet()) {
          if (!graph.outputValues().containsKey(k)) {
            throw new IllegalArgumentException(
                "unknown output '"
                    + k
                    + "'; outputs: "
                    + String.join(", ", graph.outputValues().keySet()));
          }
        }
      }
      if (gradIns == null) {
        prepareBackward();
      }
      Arrays.fill(grads, null);
      for (String w : weightNames) {
        weightGrads.get(w).zero();
      }
      for (int i = 0; i < outputNames.length; i++) {
        Tensor g = outputGrads.get(outputNames[i]);
        if (g != null) {
          accumulate(outputSlots[i], g, true);
        }
      }
      for (int k = order.size() - 1; k >= 0; k--) {
        if (folded[k]) {
          continue;
        }
        Tensor[] gradOut = gradOuts[k];
        boolean any = false;
        for (int i = 0; i < gradOut.length; i++) {
          gradOut[i] = grads[outSlots[k][i]];
          any |= gradOut[i] != null;
        }
        if (!any) {
          continue; // nothing flows back through it: its weight gradients stay zero
        }
        Node n = order.get(k);
        if (!(kernels.get(n) instanceof TrainableNode t)) {
          throw new IllegalStateException(
              "node '"
                  + n.name()
                  + "' ("
                  + n.op().kind()
                  + ") has no backward pass on any backend: "
                  + untrainable.get(n));
        }
        Tensor[] gradIn = gradIns[k];
        for (Tensor g : gradIn) {
          if (g != null) {
            g.zero();
          }
        }
        Map<String, Tensor> dw = nodeGrads.get(k);
        for (String w : nodeWeightNames[k]) {
          dw.put(w, weightGrads.get(w));
        }
        t.backward(saved[k], ins[k], outs[k], gradOut, gradIn, dw, ws);
        ws.reset();
        for (int i = 0; i < gradIn.length; i++) {
          if (gradIn[i] != null) {
            accumulate(inSlots[k][i], gradIn[i], false);
          }
        }
      }
      for (int i = 0; i < inputGradNames.length; i++) {
        Tensor g = grads[inputGradSlots[i]];
        if (g != null) {
          inputGrads.put(inputGradNames[i], g);
        } else {
          inputGrads.remove(inputGradNames[i]);
        }
      }
      return inputGradView;
    }

    /**
     * Adds {@code g} into the gradient of slot {@code s}. The first gradient of a value becomes its
     * sum: a node's input gradient as it is (nothing reads it after), a caller's copied.
     */
    private void accumulate(int s, Tensor g, boolean callers) {
      Tensor acc = grads[s];
      if (acc == null) {
        if (callers) {
          if (outGrads[s] == null) {
            outGrads[s] = Tensor.allocate(DType.F32, g.shape());
            owned.add(outGrads[s]);
          }
          outGrads[s].copyFrom(g);
          grads[s] = outGrads[s];
        } else {
          grads[s] = g;
        }
        return;
      }
      MemorySegment a = acc.segment();
      Elementwise.binaryRun(
          Arith.ADD, a, 0, 1, g.segment(), 0, 1, a, 0, Math.toIntExact(acc.size()));
    }

    @Override
    public void close() {
      Closer.closeAll(owned);
    }
  }

  private static boolean sameShape(Tensor a, Tensor b) {
    if (a.rank() != b.rank()) {
      return false;
    }
    for (int i = 0; i < a.rank(); i++) {
      if (a.dim(i) != b.dim(i)) {
        return false;
      }
    }
    return true;
  }
}
