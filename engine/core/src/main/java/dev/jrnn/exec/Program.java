package dev.jrnn.exec;

import dev.jrnn.DType;
import dev.jrnn.Precision;
import dev.jrnn.Recurrent;
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
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.FoldKernel;
import java.lang.foreign.Arena;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A graph compiled for execution: the nodes the outputs need, in order, each placed on a backend
 * and compiled, and a slot for every value.
 *
 * <p>A call runs on a {@link Workspace} taken from a pool. The first call with a given set of input
 * shapes checks everything, infers every shape and builds a {@link Plan}: intermediate tensors and
 * the argument arrays of every node. Later calls with the same shapes compare the shapes, bind the
 * new tensors into those arrays and run, allocating nothing (when outputs are provided by the
 * caller).
 */
final class Program implements AutoCloseable {

  private final IrGraph graph;
  private final Node[] order; // nodes to run, topological, inputs excluded
  private final CompiledNode[] kernels;
  private final String[] placement;
  private final Map<String, Precision> weightPrecisions = new LinkedHashMap<>();
  private final Map<IrValue, Integer> slots = new IdentityHashMap<>();
  private final int[][] inSlots;
  private final int[][] outSlots; // -1: nobody reads this output
  private final String[] inputNames; // graph inputs, in order
  private final int[] inputSlots; // -1 when no output depends on the input
  private final boolean[] stateOnly; // input feeds only initial states of recurrent nodes
  private final String[] outputNames;
  private final int[] outputSlots;
  private final List<Backend.Context> contexts;
  private final int threads;
  private final ArrayDeque<Workspace> pool = new ArrayDeque<>();
  private final List<Workspace> allWorkspaces = new ArrayList<>();

  Program(
      IrGraph graph,
      Map<Node, Backend> where,
      Map<Backend, Backend.Context> ctx,
      Weights weights,
      int threads,
      Precision precision) {
    this.graph = graph;
    this.threads = threads;
    this.contexts = List.copyOf(ctx.values());
    Set<Node> needed = neededNodes(graph);
    List<Node> run = new ArrayList<>();
    for (Node n : graph.nodes()) {
      if (needed.contains(n) && !(n.op() instanceof Op.Input)) {
        run.add(n);
      }
    }
    order = run.toArray(Node[]::new);
    for (Node n : graph.nodes()) {
      if (needed.contains(n)) {
        for (IrValue v : n.outputs()) {
          slots.put(v, slots.size());
        }
      }
    }
    Map<IrValue, Integer> readers = new IdentityHashMap<>();
    for (Node n : order) {
      for (IrValue v : n.inputs()) {
        if (v != null) {
          readers.merge(v, 1, Integer::sum);
        }
      }
    }
    graph.outputValues().values().forEach(v -> readers.merge(v, 1, Integer::sum));
    inSlots = new int[order.length][];
    outSlots = new int[order.length][];
    kernels = new CompiledNode[order.length];
    placement = new String[order.length];
    Set<String> widened = new HashSet<>();
    for (int k = 0; k < order.length; k++) {
      Node n = order[k];
      inSlots[k] = new int[n.inputCount()];
      for (int i = 0; i < n.inputCount(); i++) {
        inSlots[k][i] = n.input(i) == null ? -1 : slots.get(n.input(i));
      }
      outSlots[k] = new int[n.outputs().size()];
      for (int i = 0; i < n.outputs().size(); i++) {
        IrValue v = n.output(i);
        outSlots[k][i] = readers.containsKey(v) ? slots.get(v) : -1;
      }
      Backend b = where.get(n);
      placement[k] = b.name();
      List<Tensor> owned = new ArrayList<>();
      try {
        kernels[k] =
            ctx.get(b)
                .compile(
                    n, NodeWeights.of(n, weights, precision, b, owned, widened, weightPrecisions));
      } finally {
        owned.forEach(Tensor::close);
      }
    }
    inputNames = graph.inputValues().keySet().toArray(String[]::new);
    inputSlots = new int[inputNames.length];
    stateOnly = new boolean[inputNames.length];
    for (int i = 0; i < inputNames.length; i++) {
      IrValue v = graph.inputValues().get(inputNames[i]);
      Integer s = slots.get(v);
      inputSlots[i] = s == null ? -1 : s;
      stateOnly[i] = feedsOnlyInitialStates(v);
    }
    outputNames = graph.outputValues().keySet().toArray(String[]::new);
    outputSlots = new int[outputNames.length];
    for (int i = 0; i < outputNames.length; i++) {
      outputSlots[i] = slots.get(graph.outputValues().get(outputNames[i]));
    }
  }

  private boolean feedsOnlyInitialStates(IrValue v) {
    if (graph.outputValues().containsValue(v)) {
      return false;
    }
    boolean any = false;
    for (Node n : order) {
      for (int i = 0; i < n.inputCount(); i++) {
        if (n.input(i) == v) {
          any = true;
          boolean state =
              n.op() instanceof Op.RecurrentLayer
                  && (i == Op.RecurrentLayer.H0 || i == Op.RecurrentLayer.C0);
          if (!state) {
            return false;
          }
        }
      }
    }
    return any;
  }

  /** The weights node {@code n} reads, by canonical name (views of {@code weights}' tensors). */
  static Map<String, Tensor> weightsOf(Node n, Weights weights) {
    Map<String, Tensor> w = new LinkedHashMap<>();
    for (WeightSpec s : n.weights()) {
      w.put(s.name(), weights.get(s.name()));
    }
    return w;
  }

  /** The nodes the graph's outputs depend on, inputs included. */
  static Set<Node> neededNodes(IrGraph g) {
    Set<Node> needed = new HashSet<>();
    List<Node> stack = new ArrayList<>();
    g.outputValues().values().forEach(v -> stack.add(v.node()));
    while (!stack.isEmpty()) {
      Node n = stack.removeLast();
      if (needed.add(n)) {
        for (IrValue v : n.inputs()) {
          if (v != null) {
            stack.add(v.node());
          }
        }
      }
    }
    return needed;
  }

  /** Weight matrix name to the precision its node's kernels read it in, in node order. */
  Map<String, Precision> weightPrecisions() {
    return Collections.unmodifiableMap(weightPrecisions);
  }

  /** Backend name per node that runs, in order. */
  Map<String, String> placement() {
    Map<String, String> m = new LinkedHashMap<>();
    for (int k = 0; k < order.length; k++) {
      m.put(order[k].name(), placement[k]);
    }
    return m;
  }

  /** Recurrent nodes that run, in order: what a State holds. */
  List<Node> recurrentNodes() {
    List<Node> r = new ArrayList<>();
    for (Node n : order) {
      if (n.op() instanceof Op.RecurrentLayer) {
        r.add(n);
      }
    }
    return r;
  }

  /**
   * Runs the graph. {@code provided} (nullable) holds caller-owned output tensors to write into;
   * otherwise outputs are allocated and handed to the caller in the returned map (null when
   * provided). {@code state} (nullable) makes this a streaming step.
   */
  Map<String, Tensor> run(
      Map<String, Tensor> inputs, Map<String, Tensor> provided, LocalState state) {
    Workspace ws;
    synchronized (pool) {
      ws = pool.pollLast();
    }
    if (ws == null) {
      ws = new Workspace(threads);
      synchronized (allWorkspaces) {
        allWorkspaces.add(ws);
      }
    }
    try {
      Plan plan = ws.plan;
      boolean stepping = state != null;
      if (plan == null || plan.stepping != stepping || !plan.matches(inputs)) {
        checkInputs(inputs, stepping); // throws with the precise problem
        if (plan != null) {
          ws.plan = null; // a failed re-plan leaves no closed plan behind
          plan.close();
        }
        Arena arena = Arena.ofShared();
        try {
          plan = new Plan(inputs, stepping, arena);
        } catch (RuntimeException | Error e) {
          arena.close();
          throw e;
        }
        ws.plan = plan;
      }
      return execute(plan, ws, inputs, provided, state);
    } finally {
      ws.releaseHeld();
      ws.reset();
      synchronized (pool) {
        pool.addLast(ws);
      }
    }
  }

  private Map<String, Tensor> execute(
      Plan plan,
      Workspace ws,
      Map<String, Tensor> inputs,
      Map<String, Tensor> provided,
      LocalState state) {
    Tensor[] vals = plan.vals;
    for (int i = 0; i < inputNames.length; i++) {
      if (inputSlots[i] >= 0 && !(plan.stepping && stateOnly[i])) {
        Tensor t = inputs.get(inputNames[i]);
        ws.hold(t);
        bind(plan, inputSlots[i], t);
      }
    }
    Map<String, Tensor> allocated = null;
    if (provided != null) {
      checkProvided(plan, provided);
      for (int i = 0; i < outputNames.length; i++) {
        Tensor t = provided.get(outputNames[i]);
        ws.hold(t);
        if (plan.outputOwner[i]) {
          bind(plan, outputSlots[i], t);
        }
      }
    } else {
      allocated = new LinkedHashMap<>();
      for (int i = 0; i < outputNames.length; i++) {
        if (plan.outputOwner[i]) {
          TensorType t = plan.types[outputSlots[i]];
          Tensor out = Tensor.allocate(t.dtype(), t.shape());
          allocated.put(outputNames[i], out);
          bind(plan, outputSlots[i], out);
        }
      }
    }
    boolean ok = false;
    try {
      for (int k = 0; k < order.length; k++) {
        if (plan.folded[k]) {
          continue;
        }
        Node n = order[k];
        Tensor[] ins = plan.ins[k];
        Tensor[] outs = plan.outs[k];
        boolean stepping = state != null && n.op() instanceof Op.RecurrentLayer;
        if (stepping) {
          Op.RecurrentLayer r = (Op.RecurrentLayer) n.op();
          int batch = ins[Op.RecurrentLayer.X].dim(r.spec().isBatchFirst() ? 0 : 1);
          Tensor[] hc = state.tensorsFor(n, batch);
          for (Tensor t : hc) {
            ws.hold(t);
          }
          ins[Op.RecurrentLayer.H0] = hc[0];
          if (hc.length > 1) {
            ins[Op.RecurrentLayer.C0] = hc[1];
          }
        }
        Checks.lengths(n, ins);
        kernels[k].run(ins, outs, ws);
        if (stepping) {
          Tensor[] hc = state.tensorsFor(n, -1);
          hc[0].copyFrom(outs[Op.RecurrentLayer.HN]);
          if (hc.length > 1) {
            hc[1].copyFrom(outs[Op.RecurrentLayer.CN]);
          }
        }
      }
      // An output that is a graph input, or one value under two names, is copied.
      for (int i = 0; i < outputNames.length; i++) {
        if (!plan.outputOwner[i]) {
          Tensor src = vals[outputSlots[i]];
          if (provided != null) {
            provided.get(outputNames[i]).copyFrom(src);
          } else {
            allocated.put(outputNames[i], src.copy());
          }
        }
      }
      ok = true;
    } finally {
      if (!ok && allocated != null) {
        allocated.values().forEach(Tensor::close);
      }
      plan.unbind();
    }
    if (allocated == null) {
      return null;
    }
    Map<String, Tensor> ordered = new LinkedHashMap<>();
    for (String name : outputNames) {
      ordered.put(name, allocated.get(name));
    }
    return ordered;
  }

  /** Puts {@code t} into slot {@code slot} and every argument array that reads it. */
  private static void bind(Plan plan, int slot, Tensor t) {
    plan.vals[slot] = t;
    int[] sites = plan.readSites[slot];
    for (int s = 0; s < sites.length; s += 2) {
      plan.ins[sites[s]][sites[s + 1]] = t;
    }
    int[] w = plan.writeSite[slot];
    if (w != null) {
      plan.outs[w[0]][w[1]] = t;
    }
  }

  private void checkProvided(Plan plan, Map<String, Tensor> provided) {
    int found = 0;
    for (int i = 0; i < outputNames.length; i++) {
      Tensor t = provided.get(outputNames[i]);
      if (t == null) {
        throw new IllegalArgumentException(
            "no tensor given for output '"
                + outputNames[i]
                + "'; outputs: "
                + String.join(", ", outputNames));
      }
      found++;
      if (t.isClosed()) {
        throw new IllegalStateException(
            "the tensor given for output '" + outputNames[i] + "' is used after close");
      }
      TensorType want = plan.types[outputSlots[i]];
      if (t.dtype() != want.dtype() || !sameShape(t, plan.shapes[outputSlots[i]])) {
        throw new IllegalArgumentException(
            "output '"
                + outputNames[i]
                + "' is "
                + want
                + " for these inputs, the tensor given"
                + " for it is "
                + t.describe());
      }
    }
    if (found != provided.size()) {
      for (String k : provided.keySet()) {
        if (!graph.outputValues().containsKey(k)) {
          throw new IllegalArgumentException(
              "unknown output '" + k + "'; outputs: " + String.join(", ", outputNames));
        }
      }
    }
  }

  private static boolean sameShape(Tensor t, int[] shape) {
    if (t.rank() != shape.length) {
      return false;
    }
    for (int i = 0; i < shape.length; i++) {
      if (t.dim(i) != shape[i]) {
        return false;
      }
    }
    return true;
  }

  /** Full input check with precise messages: names, types, ranks, fixed and named dimensions. */
  private void checkInputs(Map<String, Tensor> inputs, boolean stepping) {
    Checks.noUnknownInputs(inputs, graph, inputNames);
    Checks.Dims dims = new Checks.Dims();
    for (int k = 0; k < inputNames.length; k++) {
      String name = inputNames[k];
      Tensor t = inputs.get(name);
      if (stepping && stateOnly[k]) {
        if (t != null) {
          throw new IllegalArgumentException(
              "input '" + name + "' is an initial state; in step mode the State supplies it");
        }
        continue;
      }
      if (inputSlots[k] >= 0) { // else no output depends on it
        Checks.input(name, graph.inputValues().get(name).type(), t, inputNames, dims);
      }
    }
  }

  @Override
  public void close() {
    List<AutoCloseable> all = new ArrayList<>(contexts);
    synchronized (allWorkspaces) {
      all.addAll(allWorkspaces);
      allWorkspaces.clear();
    }
    Closer.closeAll(all);
  }

  /**
   * Everything about a call that depends only on the input shapes: every value's type and shape,
   * the intermediate tensors and the argument arrays of every node. Owned by one workspace.
   */
  final class Plan implements AutoCloseable {
    final boolean stepping;
    final int[][] inputShapes; // per graph input, null when unused
    final TensorType[] types; // per slot
    final int[][] shapes; // per slot
    final Tensor[] vals; // per slot; inputs and outputs bound per call
    final Tensor[][] ins; // per node
    final Tensor[][] outs; // per node
    final int[][] readSites; // per slot: (node, input index) pairs
    final int[][] writeSite; // per slot: (node, output index) or null
    final boolean[] outputOwner; // per graph output: the slot is written straight into it
    final boolean[] folded; // per node: its outputs were computed when planning; it never runs
    final Const[] known; // per slot: the value, when known while planning
    final Arena arena; // intermediates
    private boolean closed;

    Plan(Map<String, Tensor> inputs, boolean stepping, Arena arena) {
      this.stepping = stepping;
      this.arena = arena;
      int n = slots.size();
      types = new TensorType[n];
      shapes = new int[n][];
      vals = new Tensor[n];
      known = new Const[n];
      folded = new boolean[order.length];
      inputShapes = new int[inputNames.length][];
      for (int i = 0; i < inputNames.length; i++) {
        if (inputSlots[i] >= 0 && !(stepping && stateOnly[i])) {
          Tensor t = inputs.get(inputNames[i]);
          inputShapes[i] = t.shape();
          types[inputSlots[i]] = TensorType.fixed(t.dtype(), t.shape());
          shapes[inputSlots[i]] = t.shape();
        }
      }
      outputOwner = new boolean[outputNames.length];
      Set<Integer> owned = new HashSet<>();
      for (int i = 0; i < outputNames.length; i++) {
        boolean isInput = graph.outputValues().get(outputNames[i]).node().op() instanceof Op.Input;
        outputOwner[i] = !isInput && owned.add(outputSlots[i]);
      }
      ins = new Tensor[order.length][];
      outs = new Tensor[order.length][];
      List<List<Integer>> reads = new ArrayList<>();
      for (int s = 0; s < n; s++) {
        reads.add(new ArrayList<>());
      }
      writeSite = new int[n][];
      for (int k = 0; k < order.length; k++) {
        Node node = order[k];
        ins[k] = new Tensor[node.inputCount()];
        TensorType[] inTypes = new TensorType[node.inputCount()];
        boolean recurrentStep = stepping && node.op() instanceof Op.RecurrentLayer;
        for (int i = 0; i < inTypes.length; i++) {
          int s = inSlots[k][i];
          if (s < 0) {
            continue;
          }
          if (recurrentStep && (i == Op.RecurrentLayer.H0 || i == Op.RecurrentLayer.C0)) {
            continue; // the State supplies it each call
          }
          inTypes[i] = types[s];
          reads.get(s).add(k);
          reads.get(s).add(i);
        }
        if (recurrentStep) { // the state's shapes, as they will be at run time
          Op.RecurrentLayer r = (Op.RecurrentLayer) node.op();
          var spec = r.spec();
          int batch = types[inSlots[k][Op.RecurrentLayer.X]].shape()[spec.isBatchFirst() ? 0 : 1];
          int ld = spec.layers() * spec.directions();
          inTypes[Op.RecurrentLayer.H0] =
              TensorType.fixed(DType.F32, ld, batch, spec.outputHidden());
          if (spec.cell() == Recurrent.Cell.LSTM) {
            inTypes[Op.RecurrentLayer.C0] = TensorType.fixed(DType.F32, ld, batch, spec.hidden());
          }
        }
        Const[] inValues = new Const[inTypes.length];
        for (int i = 0; i < inTypes.length; i++) {
          int s = inSlots[k][i];
          inValues[i] = s < 0 || inTypes[i] == null ? null : known[s];
        }
        // shape computations and constants fold; a streaming step's recurrent node must run
        Inference inf = Inference.of(node.name(), node.op(), inTypes, inValues, !recurrentStep);
        TensorType[] outTypes = inf.types();
        Const[] values = inf.values();
        if (values != null) {
          folded[k] = true;
          outs[k] = new Tensor[outTypes.length];
          for (int i = 0; i < values.length; i++) {
            int s = outSlots[k][i];
            if (s >= 0) {
              known[s] = values[i];
              types[s] = values[i].type();
              shapes[s] = values[i].shape();
              Tensor t =
                  Tensor.wrap(
                      arena.allocate(Math.max(1, values[i].size() * 4), Tensor.ALIGNMENT),
                      values[i].dtype(),
                      values[i].shape());
              FoldKernel.write(values[i].saturated(), t); // kept exact in known[]
              vals[s] = t;
            }
          }
          continue;
        }
        outs[k] = new Tensor[outTypes.length];
        for (int i = 0; i < outTypes.length; i++) {
          int s = outSlots[k][i];
          boolean stateOut = recurrentStep && i > 0;
          if (s < 0 && !stateOut) {
            continue;
          }
          int[] shape = outTypes[i].shape();
          Tensor t = null;
          if (s < 0 || !isOwnedOutput(s)) {
            long bytes = Tensor.elementCount(shape) * outTypes[i].dtype().byteSize();
            t =
                Tensor.wrap(
                    arena.allocate(Math.max(1, bytes), Tensor.ALIGNMENT),
                    outTypes[i].dtype(),
                    shape);
          }
          outs[k][i] = t;
          if (s >= 0) {
            types[s] = outTypes[i];
            shapes[s] = shape;
            vals[s] = t;
            writeSite[s] = new int[] {k, i};
          }
        }
      }
      for (int i = 0; i < outputNames.length; i++) {
        if (known[outputSlots[i]] != null) {
          outputOwner[i] = false; // computed while planning: copied out on every call
        }
      }
      readSites = new int[n][];
      for (int s = 0; s < n; s++) {
        readSites[s] = reads.get(s).stream().mapToInt(Integer::intValue).toArray();
      }
      for (int s = 0; s < n; s++) { // intermediates are bound once and for all
        if (vals[s] != null) {
          for (int q = 0; q < readSites[s].length; q += 2) {
            ins[readSites[s][q]][readSites[s][q + 1]] = vals[s];
          }
        }
      }
    }

    private boolean isOwnedOutput(int slot) {
      for (int i = 0; i < outputNames.length; i++) {
        if (outputSlots[i] == slot && outputOwner[i]) {
          return true;
        }
      }
      return false;
    }

    /** Whether the inputs have exactly the shapes this plan was built for (allocation-free). */
    boolean matches(Map<String, Tensor> inputs) {
      int found = 0;
      for (int i = 0; i < inputNames.length; i++) {
        Tensor t = inputs.get(inputNames[i]);
        if (t == null) {
          if (inputShapes[i] != null) {
            return false;
          }
          continue;
        }
        found++;
        int[] s = inputShapes[i];
        if (s == null) {
          if (inputSlots[i] >= 0) {
            return false; // a state input given in step mode: checkInputs says why
          }
          continue; // no output reads it
        }
        if (t.isClosed() || t.dtype() != types[inputSlots[i]].dtype()) {
          return false;
        }
        if (!sameShape(t, s)) {
          return false;
        }
      }
      return found == inputs.size();
    }

    /** Drops references to caller tensors so a plan never keeps them alive. */
    void unbind() {
      for (int i = 0; i < inputNames.length; i++) {
        if (inputSlots[i] >= 0 && !(stepping && stateOnly[i])) {
          bind(this, inputSlots[i], null);
        }
      }
      for (int i = 0; i < outputNames.length; i++) {
        if (outputOwner[i]) {
          bind(this, outputSlots[i], null);
        }
      }
      if (stepping) {
        for (int k = 0; k < order.length; k++) {
          if (order[k].op() instanceof Op.RecurrentLayer) {
            ins[k][Op.RecurrentLayer.H0] = null;
            if (ins[k].length > Op.RecurrentLayer.C0) {
              ins[k][Op.RecurrentLayer.C0] = null;
            }
          }
        }
      }
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        arena.close();
      }
    }
  }
}
