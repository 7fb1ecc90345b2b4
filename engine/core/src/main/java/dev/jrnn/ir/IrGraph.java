package dev.jrnn.ir;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.kernels.Arith;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The graph behind the public {@link Graph}: nodes in topological order, each an {@link Op} on
 * {@link IrValue}s. Immutable. {@link Builder} implements the public builder's typed methods on top
 * of {@link Builder#node}, which importers use to add any op.
 */
public final class IrGraph implements Graph {

  private final List<Node> nodes;
  private final Map<String, IrValue> inputs;
  private final Map<String, IrValue> outputs;
  private final Map<String, Node> byName;

  private IrGraph(Builder b) {
    this.nodes = List.copyOf(b.nodes);
    this.inputs = Collections.unmodifiableMap(new LinkedHashMap<>(b.inputs));
    this.outputs = Collections.unmodifiableMap(new LinkedHashMap<>(b.outputs));
    this.byName = Collections.unmodifiableMap(new LinkedHashMap<>(b.byName));
  }

  /** A new builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** The IR of a graph from the public API; throws if jrnn's builder did not make it. */
  public static IrGraph of(Graph g) {
    Objects.requireNonNull(g, "graph");
    if (g instanceof IrGraph ir) {
      return ir;
    }
    throw new IllegalArgumentException(
        "graph " + g.getClass().getName() + " was not built with Graph.build or Graph.builder");
  }

  /** All nodes, inputs included, in topological order. */
  public List<Node> nodes() {
    return nodes;
  }

  @Override
  @SuppressWarnings("unchecked")
  public Map<String, Value> inputs() {
    return (Map<String, Value>) (Map<String, ? extends Value>) inputs;
  }

  @Override
  @SuppressWarnings("unchecked")
  public Map<String, Value> outputs() {
    return (Map<String, Value>) (Map<String, ? extends Value>) outputs;
  }

  /** Graph inputs by name, in declaration order. */
  public Map<String, IrValue> inputValues() {
    return inputs;
  }

  /** Graph outputs by name, in declaration order. */
  public Map<String, IrValue> outputValues() {
    return outputs;
  }

  /** The node called {@code name}; throws listing the known names if there is none. */
  public Node node(String name) {
    Node n = byName.get(name);
    if (n == null) {
      throw new IllegalArgumentException(
          "no node named '" + name + "'; nodes: " + String.join(", ", byName.keySet()));
    }
    return n;
  }

  /** Every weight the graph's nodes read, in node order. */
  public List<WeightSpec> weights() {
    List<WeightSpec> w = new ArrayList<>();
    for (Node n : nodes) {
      w.addAll(n.weights());
    }
    return w;
  }

  @Override
  public Map<String, int[]> weightShapes() {
    Map<String, int[]> m = new LinkedHashMap<>();
    for (WeightSpec s : weights()) {
      m.put(s.name(), s.shape());
    }
    return m;
  }

  @Override
  public String describe() {
    StringBuilder s = new StringBuilder();
    for (Node n : nodes) {
      s.append(n.op() instanceof Op.Input ? "input  " : "node   ").append(n.name());
      if (n.op() instanceof Op.RecurrentLayer r) {
        s.append(" = ").append(r.spec());
      } else if (!(n.op() instanceof Op.Input)) {
        s.append(" = ").append(n.op().kind());
      }
      s.append(" -> ");
      for (int i = 0; i < n.outputs().size(); i++) {
        s.append(i == 0 ? "" : ", ").append(n.outputs().get(i).type());
      }
      s.append('\n');
    }
    outputs.forEach((k, v) -> s.append("output ").append(k).append(" = ").append(v).append('\n'));
    return s.toString();
  }

  @Override
  public String toString() {
    return "Graph(inputs="
        + inputs.keySet()
        + ", outputs="
        + outputs.keySet()
        + ", "
        + nodes.size()
        + " nodes)";
  }

  /**
   * Builds an {@link IrGraph}: the public typed methods, and {@link #node} for any op. Each call
   * checks its arguments and infers the output types at once; ops whose inputs are all constants
   * fold into constants, within the graph's {@link Folding.Budget} (a fold that would make more is
   * an error naming the node and the size).
   */
  public static final class Builder implements Graph.Builder {
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, IrValue> inputs = new LinkedHashMap<>();
    private final Map<String, IrValue> outputs = new LinkedHashMap<>();
    private final Map<String, Node> byName = new LinkedHashMap<>();
    private final Map<String, Integer> counters = new HashMap<>();
    private final Folding.Budget foldBudget = new Folding.Budget();
    private boolean built;

    private Builder() {}

    @Override
    public IrValue input(String name, DType dtype, Dim... dims) {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(dtype, "dtype");
      if (inputs.containsKey(name)) {
        throw new IllegalArgumentException("input '" + name + "' is declared twice");
      }
      IrValue v = node(name, new Op.Input(name, dtype, List.of(dims)))[0];
      inputs.put(name, v);
      return v;
    }

    @Override
    public IrValue embedding(Value ids, int vocab, int dim) {
      return embedding(null, ids, vocab, dim);
    }

    @Override
    public IrValue embedding(String name, Value ids, int vocab, int dim) {
      positive(vocab, "vocab");
      positive(dim, "dim");
      return node(name, new Op.Embedding(vocab, dim), own(ids, "ids"))[0];
    }

    @Override
    public IrValue linear(Value x, int out) {
      return linear(null, x, out, true);
    }

    @Override
    public IrValue linear(String name, Value x, int out, boolean bias) {
      positive(out, "out");
      IrValue in = own(x, "x");
      return node(name, new Op.Linear(featureSize(in, "linear"), out, bias), in)[0];
    }

    @Override
    public IrValue recurrent(Value x, Recurrent spec) {
      return recurrent(x, spec, null, null, null);
    }

    @Override
    public IrValue recurrent(Value x, Recurrent spec, Value lengths, Value h0, Value c0) {
      Objects.requireNonNull(spec, "spec");
      spec.validate();
      IrValue in = own(x, "x");
      Op.RecurrentLayer op = new Op.RecurrentLayer(spec, featureSize(in, spec.cell().name()));
      String base = spec.name();
      if (base == null) {
        base = autoName(spec.cell().name().toLowerCase(Locale.ROOT));
      }
      return node(
          base, op, in, ownOrNull(lengths, "lengths"), ownOrNull(h0, "h0"), ownOrNull(c0, "c0"))[0];
    }

    @Override
    public IrValue tanh(Value x) {
      return activation(x, Activation.TANH);
    }

    @Override
    public IrValue sigmoid(Value x) {
      return activation(x, Activation.SIGMOID);
    }

    @Override
    public IrValue relu(Value x) {
      return activation(x, Activation.RELU);
    }

    @Override
    public IrValue activation(Value x, Activation fn) {
      Objects.requireNonNull(fn, "fn");
      return node(null, new Op.Unary(fn), own(x, "x"))[0];
    }

    @Override
    public IrValue softmax(Value x) {
      return node(null, new Op.Softmax(-1, false), own(x, "x"))[0];
    }

    @Override
    public IrValue logSoftmax(Value x) {
      return node(null, new Op.Softmax(-1, true), own(x, "x"))[0];
    }

    @Override
    public IrValue add(Value a, Value b) {
      return binary(Arith.ADD, a, b);
    }

    @Override
    public IrValue sub(Value a, Value b) {
      return binary(Arith.SUB, a, b);
    }

    @Override
    public IrValue mul(Value a, Value b) {
      return binary(Arith.MUL, a, b);
    }

    @Override
    public IrValue div(Value a, Value b) {
      return binary(Arith.DIV, a, b);
    }

    private IrValue binary(Arith fn, Value a, Value b) {
      return node(null, new Op.Binary(fn), own(a, "a"), own(b, "b"))[0];
    }

    @Override
    public IrValue concat(int axis, Value... xs) {
      Objects.requireNonNull(xs, "xs");
      IrValue[] in = new IrValue[xs.length];
      for (int i = 0; i < xs.length; i++) {
        in[i] = own(xs[i], "input " + i);
      }
      return node(null, new Op.Concat(axis), in)[0];
    }

    @Override
    public IrValue lastStep(Value seq) {
      IrValue s = own(seq, "seq");
      if (s.node().op() instanceof Op.RecurrentLayer r && s.index() == Op.RecurrentLayer.Y) {
        return lastStep(s, s.node().input(Op.RecurrentLayer.LENGTHS), r.spec().isBatchFirst());
      }
      return lastStep(s, null, false);
    }

    @Override
    public IrValue dropout(Value x, double p) {
      return node(null, new Op.Dropout((float) p), own(x, "x"))[0];
    }

    @Override
    public IrValue lastStep(Value seq, Value lengths, boolean batchFirst) {
      return node(
          null, new Op.LastStep(batchFirst), own(seq, "seq"), ownOrNull(lengths, "lengths"))[0];
    }

    @Override
    public IrValue constant(String name, Tensor value) {
      Objects.requireNonNull(value, "value");
      return constant(name, Const.of(value));
    }

    /** A constant value stored in the graph. */
    public IrValue constant(String name, Const value) {
      return node(name, new Op.Constant(value))[0];
    }

    @Override
    public void output(String name, Value v) {
      checkNotBuilt();
      Objects.requireNonNull(name, "name");
      IrValue value = own(v, "output '" + name + "'");
      if (outputs.containsKey(name)) {
        throw new IllegalArgumentException("output '" + name + "' is declared twice");
      }
      outputs.put(name, value);
    }

    /**
     * Adds a node running {@code op} on {@code inputs} (null for an absent optional input) and
     * returns its outputs. A null {@code name} gets one derived from the op kind. When every input
     * the op needs is a constant, the node folds into constants.
     */
    public IrValue[] node(String name, Op op, IrValue... inputs) {
      checkNotBuilt();
      Objects.requireNonNull(op, "op");
      String n = name != null ? name : autoName(op.kind().toLowerCase(Locale.ROOT));
      if (byName.containsKey(n)) {
        throw new IllegalArgumentException("a node named '" + n + "' already exists");
      }
      IrValue[] ins = inputs == null ? new IrValue[0] : inputs.clone();
      for (int i = 0; i < op.requiredInputs(); i++) {
        if (i >= ins.length || ins[i] == null) {
          throw new IllegalArgumentException(
              "node '"
                  + n
                  + "' ("
                  + op.kind()
                  + ") needs "
                  + op.requiredInputs()
                  + " inputs, '"
                  + op.inputName(i)
                  + "' is missing");
        }
      }
      for (int i = 0; i < ins.length; i++) {
        if (ins[i] != null) {
          own(ins[i], "input " + i + " of node '" + n + "'");
        }
      }
      TensorType[] inTypes = Node.inputTypes(ins);
      Const[] known = new Const[ins.length];
      for (int i = 0; i < ins.length; i++) {
        known[i] = ins[i] == null ? null : ins[i].constant();
      }
      boolean foldable = !(op instanceof Op.Input) && !(op instanceof Op.Constant);
      Inference inf =
          foldable
              ? Folding.within(foldBudget, () -> Inference.of(n, op, inTypes, known, true))
              : Inference.of(n, op, inTypes, known, false);
      TensorType[] types = inf.types();
      Const[] folded = inf.values();
      if (folded != null) { // known now: the node becomes constants
        IrValue[] out = new IrValue[folded.length];
        for (int i = 0; i < folded.length; i++) {
          out[i] = node(folded.length == 1 ? n : n + "_" + i, new Op.Constant(folded[i]))[0];
        }
        return out;
      }
      Node node = new Node(nodes.size(), n, op, ins, types);
      nodes.add(node);
      byName.put(n, node);
      return node.outputs().toArray(IrValue[]::new);
    }

    private String autoName(String base) {
      int k = counters.getOrDefault(base, -1) + 1;
      String n = k == 0 ? base : base + "_" + k;
      while (byName.containsKey(n)) {
        k++;
        n = base + "_" + k;
      }
      counters.put(base, k);
      return n;
    }

    /** {@code v} as a value of this builder's graph; throws naming {@code what} otherwise. */
    private IrValue own(Value v, String what) {
      Objects.requireNonNull(v, what);
      if (v instanceof IrValue iv
          && iv.node().id() < nodes.size()
          && nodes.get(iv.node().id()) == iv.node()) {
        return iv;
      }
      throw new IllegalArgumentException(what + " belongs to another graph");
    }

    private IrValue ownOrNull(Value v, String what) {
      return v == null ? null : own(v, what);
    }

    private static int featureSize(IrValue x, String what) {
      if (x.dims().isEmpty()) {
        throw new IllegalArgumentException(what + ": input " + x + " has no feature dimension");
      }
      Dim last = x.dims().get(x.dims().size() - 1);
      if (!last.isFixed()) {
        throw new IllegalArgumentException(
            what + ": the feature (last) dimension of " + x + " must be fixed, it is " + last);
      }
      return last.size();
    }

    private static void positive(int v, String what) {
      if (v < 1) {
        throw new IllegalArgumentException(what + " must be >= 1, got " + v);
      }
    }

    private void checkNotBuilt() {
      if (built) {
        throw new IllegalStateException("this builder has already built its graph");
      }
    }

    @Override
    public IrGraph build() {
      checkNotBuilt();
      if (outputs.isEmpty()) {
        throw new IllegalArgumentException("a graph needs at least one output");
      }
      built = true;
      return new IrGraph(this);
    }
  }
}
