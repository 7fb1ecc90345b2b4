package dev.jrnn;

import dev.jrnn.spi.Backend;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.ExecContext;
import dev.jrnn.spi.Op;
import dev.jrnn.spi.TensorType;
import dev.jrnn.spi.WeightSpec;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A graph compiled for execution: the nodes the outputs need, in order, each placed on a backend
 * and compiled, and a slot for every value. {@link #run} binds and checks inputs, infers concrete
 * shapes node by node, and runs the compiled nodes over per-call workspace memory.
 */
final class Program implements AutoCloseable {

  private final Graph graph;
  private final Node[] order; // nodes to run, topological, inputs excluded
  private final CompiledNode[] kernels;
  private final String[] placement;
  private final Map<Value, Integer> slots = new IdentityHashMap<>();
  private final int[][] inSlots;
  private final int[][] outSlots; // -1: nobody reads this output
  private final Set<String> stateOnlyInputs = new HashSet<>();
  private final List<Backend.Context> contexts;
  private final int threads;
  private final ConcurrentLinkedQueue<Workspace> pool = new ConcurrentLinkedQueue<>();
  private final List<Workspace> allWorkspaces = new ArrayList<>();

  Program(
      Graph graph,
      Map<Node, Backend> where,
      Map<Backend, Backend.Context> ctx,
      Weights weights,
      int threads) {
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
        for (Value v : n.outputs()) {
          slots.put(v, slots.size());
        }
      }
    }
    Map<Value, Integer> readers = new IdentityHashMap<>();
    for (Node n : order) {
      for (Value v : n.inputs()) {
        if (v != null) {
          readers.merge(v, 1, Integer::sum);
        }
      }
    }
    graph.outputs().values().forEach(v -> readers.merge(v, 1, Integer::sum));
    inSlots = new int[order.length][];
    outSlots = new int[order.length][];
    kernels = new CompiledNode[order.length];
    placement = new String[order.length];
    for (int k = 0; k < order.length; k++) {
      Node n = order[k];
      inSlots[k] = new int[n.inputCount()];
      for (int i = 0; i < n.inputCount(); i++) {
        inSlots[k][i] = n.input(i) == null ? -1 : slots.get(n.input(i));
      }
      outSlots[k] = new int[n.outputs().size()];
      for (int i = 0; i < n.outputs().size(); i++) {
        Value v = n.output(i);
        outSlots[k][i] = readers.containsKey(v) ? slots.get(v) : -1;
      }
      Backend b = where.get(n);
      placement[k] = b.name();
      Map<String, Tensor> w = new LinkedHashMap<>();
      for (WeightSpec s : n.weights()) {
        w.put(s.name(), weights.get(s.name()));
      }
      kernels[k] = ctx.get(b).compile(n, w);
    }
    // Inputs read only as initial states: in step mode the State supplies those.
    for (Map.Entry<String, Value> e : graph.inputs().entrySet()) {
      boolean onlyState = true;
      boolean any = false;
      for (Node n : order) {
        for (int i = 0; i < n.inputCount(); i++) {
          if (n.input(i) == e.getValue()) {
            any = true;
            boolean state =
                n.op() instanceof Op.RecurrentLayer
                    && (i == Op.RecurrentLayer.H0 || i == Op.RecurrentLayer.C0);
            onlyState &= state;
          }
        }
      }
      if (graph.outputs().containsValue(e.getValue())) {
        onlyState = false;
      }
      if (any && onlyState) {
        stateOnlyInputs.add(e.getKey());
      }
    }
  }

  private static Set<Node> neededNodes(Graph g) {
    Set<Node> needed = new HashSet<>();
    List<Node> stack = new ArrayList<>();
    g.outputs().values().forEach(v -> stack.add(v.node()));
    while (!stack.isEmpty()) {
      Node n = stack.removeLast();
      if (needed.add(n)) {
        for (Value v : n.inputs()) {
          if (v != null) {
            stack.add(v.node());
          }
        }
      }
    }
    return needed;
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
   * otherwise outputs are allocated and owned by the returned map's caller. {@code state}
   * (nullable) makes this a streaming step.
   */
  Map<String, Tensor> run(Map<String, Tensor> inputs, Map<String, Tensor> provided, State state) {
    Tensor[] vals = new Tensor[slots.size()];
    bindInputs(inputs, vals, state != null);
    if (provided != null) {
      checkProvided(provided);
    }
    Workspace ws = pool.poll();
    if (ws == null) {
      ws = new Workspace();
      synchronized (allWorkspaces) {
        allWorkspaces.add(ws);
      }
    }
    Map<Value, Tensor> owned = new IdentityHashMap<>();
    List<Tensor> copies = new ArrayList<>();
    Context ctx = new Context(ws, threads);
    boolean ok = false;
    try {
      for (int k = 0; k < order.length; k++) {
        runNode(k, vals, ctx, provided, owned, state);
      }
      Map<String, Tensor> out = collectOutputs(vals, provided, owned, copies);
      ok = true;
      return out;
    } finally {
      if (!ok) {
        owned.values().forEach(Tensor::close);
        copies.forEach(Tensor::close);
      }
      ws.reset();
      pool.add(ws);
    }
  }

  private void runNode(
      int k,
      Tensor[] vals,
      Context ctx,
      Map<String, Tensor> provided,
      Map<Value, Tensor> owned,
      State state) {
    Node n = order[k];
    Tensor[] ins = new Tensor[n.inputCount()];
    for (int i = 0; i < ins.length; i++) {
      ins[i] = inSlots[k][i] < 0 ? null : vals[inSlots[k][i]];
    }
    boolean stepping = state != null && n.op() instanceof Op.RecurrentLayer;
    if (stepping) {
      Tensor x = ins[Op.RecurrentLayer.X];
      Op.RecurrentLayer r = (Op.RecurrentLayer) n.op();
      int batch = x.dim(r.spec().isBatchFirst() ? 0 : 1);
      Tensor[] hc = state.tensorsFor(n, batch);
      ins[Op.RecurrentLayer.H0] = hc[0];
      if (hc.length > 1) {
        ins[Op.RecurrentLayer.C0] = hc[1];
      }
    }
    TensorType[] inTypes = new TensorType[ins.length];
    for (int i = 0; i < ins.length; i++) {
      inTypes[i] = ins[i] == null ? null : TensorType.fixed(ins[i].dtype(), ins[i].shape());
    }
    TensorType[] outTypes;
    try {
      outTypes = n.op().infer(inTypes);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "node '" + n.name() + "' (" + n.op().kind() + "): " + e.getMessage(), e);
    }
    checkLengths(n, ins);
    Tensor[] outs = new Tensor[outTypes.length];
    for (int i = 0; i < outs.length; i++) {
      int slot = outSlots[k][i];
      boolean stateOut = stepping && i > 0;
      if (slot < 0 && !stateOut) {
        continue;
      }
      Value v = n.output(i);
      int[] shape = outTypes[i].shape();
      String outName = outputName(v);
      Tensor t;
      if (outName != null && provided != null) {
        t = provided.get(outName);
        if (!Arrays.equals(t.shape(), shape) || t.dtype() != outTypes[i].dtype()) {
          throw new IllegalArgumentException(
              "output '"
                  + outName
                  + "' is "
                  + outTypes[i]
                  + " for these inputs, the tensor given"
                  + " for it is "
                  + t.describe());
        }
      } else if (outName != null) {
        t = Tensor.allocate(outTypes[i].dtype(), shape);
        owned.put(v, t);
      } else {
        t = ctx.tensor(outTypes[i].dtype(), shape);
      }
      outs[i] = t;
      if (slot >= 0) {
        vals[slot] = t;
      }
    }
    kernels[k].run(ins, outs, ctx);
    if (stepping) {
      Tensor[] hc = state.tensorsFor(n, -1);
      hc[0].copyFrom(outs[Op.RecurrentLayer.HN]);
      if (hc.length > 1) {
        hc[1].copyFrom(outs[Op.RecurrentLayer.CN]);
      }
    }
  }

  /** Sequence lengths must lie in [1, T]; checked once here for every backend. */
  private void checkLengths(Node n, Tensor[] ins) {
    int lenSlot;
    int t;
    if (n.op() instanceof Op.RecurrentLayer r) {
      lenSlot = Op.RecurrentLayer.LENGTHS;
      t = ins[Op.RecurrentLayer.X].dim(r.spec().isBatchFirst() ? 1 : 0);
    } else if (n.op() instanceof Op.LastStep ls) {
      lenSlot = 1;
      t = ins[0].dim(ls.batchFirst() ? 1 : 0);
    } else {
      return;
    }
    if (ins.length <= lenSlot || ins[lenSlot] == null) {
      return;
    }
    Tensor len = ins[lenSlot];
    MemorySegment s = len.segment();
    for (int i = 0; i < len.size(); i++) {
      int v = s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, i);
      if (v < 1 || v > t) {
        throw new IllegalArgumentException(
            "sequence length "
                + v
                + " at batch row "
                + i
                + " of '"
                + n.input(lenSlot).name()
                + "' (node '"
                + n.name()
                + "'): lengths must be in [1, T="
                + t
                + "]");
      }
    }
  }

  private String outputName(Value v) {
    for (Map.Entry<String, Value> e : graph.outputs().entrySet()) {
      if (e.getValue() == v) {
        return e.getKey();
      }
    }
    return null;
  }

  private Map<String, Tensor> collectOutputs(
      Tensor[] vals, Map<String, Tensor> provided, Map<Value, Tensor> owned, List<Tensor> copies) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    Set<Tensor> used = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    for (Map.Entry<String, Value> e : graph.outputs().entrySet()) {
      Tensor t = vals[slots.get(e.getValue())];
      Tensor dest = provided != null ? provided.get(e.getKey()) : null;
      boolean isOwnedHere = owned.get(e.getValue()) == t && !used.contains(t);
      if (dest != null) {
        if (dest != t) {
          checkSame(e.getKey(), dest, t);
          dest.copyFrom(t);
        }
        out.put(e.getKey(), dest);
      } else if (isOwnedHere) {
        out.put(e.getKey(), t);
      } else {
        // An input passed straight through, or one value under two output names.
        Tensor c = t.copy();
        copies.add(c);
        out.put(e.getKey(), c);
      }
      used.add(out.get(e.getKey()));
    }
    return out;
  }

  private static void checkSame(String name, Tensor dest, Tensor src) {
    if (!Arrays.equals(dest.shape(), src.shape()) || dest.dtype() != src.dtype()) {
      throw new IllegalArgumentException(
          "output '"
              + name
              + "' is "
              + src.describe()
              + ", the tensor given for it is "
              + dest.describe());
    }
  }

  private void checkProvided(Map<String, Tensor> provided) {
    for (String k : provided.keySet()) {
      if (!graph.outputs().containsKey(k)) {
        throw new IllegalArgumentException(
            "unknown output '" + k + "'; outputs: " + String.join(", ", graph.outputs().keySet()));
      }
    }
    for (String k : graph.outputs().keySet()) {
      Tensor t = provided.get(k);
      if (t == null) {
        throw new IllegalArgumentException(
            "no tensor given for output '"
                + k
                + "'; outputs: "
                + String.join(", ", graph.outputs().keySet()));
      }
      if (t.isClosed()) {
        throw new IllegalStateException("the tensor given for output '" + k + "' is closed");
      }
    }
  }

  private void bindInputs(Map<String, Tensor> inputs, Tensor[] vals, boolean stepping) {
    for (String k : inputs.keySet()) {
      if (!graph.inputs().containsKey(k)) {
        throw new IllegalArgumentException(
            "unknown input '" + k + "'; inputs: " + String.join(", ", graph.inputs().keySet()));
      }
    }
    Map<String, int[]> bound = new HashMap<>(); // dim name -> {size}
    Map<String, String> boundBy = new HashMap<>();
    for (Map.Entry<String, Value> e : graph.inputs().entrySet()) {
      String name = e.getKey();
      Tensor t = inputs.get(name);
      Integer slot = slots.get(e.getValue());
      if (stepping && stateOnlyInputs.contains(name)) {
        if (t != null) {
          throw new IllegalArgumentException(
              "input '" + name + "' is an initial state; in step mode the State supplies it");
        }
        continue;
      }
      if (slot == null) {
        continue; // no output depends on it
      }
      TensorType decl = e.getValue().type();
      if (t == null) {
        throw new IllegalArgumentException(
            "missing input '"
                + name
                + "' "
                + decl
                + "; inputs: "
                + String.join(", ", graph.inputs().keySet()));
      }
      if (t.isClosed()) {
        throw new IllegalStateException("input '" + name + "' is used after close");
      }
      if (t.dtype() != decl.dtype()) {
        throw new IllegalArgumentException(
            "input '" + name + "' must be " + decl.dtype() + ", got " + t.describe());
      }
      if (t.rank() != decl.rank()) {
        throw new IllegalArgumentException(
            "input '"
                + name
                + "' must have rank "
                + decl.rank()
                + " "
                + decl
                + ", got shape "
                + Tensor.shapeString(t.shape()));
      }
      for (int i = 0; i < decl.rank(); i++) {
        Dim d = decl.dim(i);
        int actual = t.dim(i);
        if (d.isFixed()) {
          if (d.size() != actual) {
            throw new IllegalArgumentException(
                "input '"
                    + name
                    + "' must have shape "
                    + decl.dims()
                    + ", got "
                    + Tensor.shapeString(t.shape())
                    + " (dimension "
                    + i
                    + " must be "
                    + d.size()
                    + ")");
          }
        } else if (!d.name().equals("?")) {
          int[] b = bound.get(d.name());
          if (b == null) {
            bound.put(d.name(), new int[] {actual});
            boundBy.put(d.name(), name);
          } else if (b[0] != actual) {
            throw new IllegalArgumentException(
                "dimension '"
                    + d.name()
                    + "' is "
                    + b[0]
                    + " in input '"
                    + boundBy.get(d.name())
                    + "' but "
                    + actual
                    + " in input '"
                    + name
                    + "' (shape "
                    + Tensor.shapeString(t.shape())
                    + ")");
          }
        }
      }
      vals[slot] = t;
    }
  }

  @Override
  public void close() {
    for (Backend.Context c : contexts) {
      c.close();
    }
    synchronized (allWorkspaces) {
      allWorkspaces.forEach(Workspace::close);
      allWorkspaces.clear();
    }
  }

  /** The per-call context handed to compiled nodes. */
  private static final class Context implements ExecContext {
    private final Workspace ws;
    private final int threads;

    Context(Workspace ws, int threads) {
      this.ws = ws;
      this.threads = threads;
    }

    @Override
    public int threads() {
      return threads;
    }

    @Override
    public MemorySegment scratch(long bytes) {
      return ws.allocate(bytes);
    }

    Tensor tensor(DType dtype, int[] shape) {
      long bytes = Tensor.elementCount(shape) * dtype.byteSize();
      return Tensor.wrap(ws.allocate(bytes), dtype, shape);
    }
  }
}
