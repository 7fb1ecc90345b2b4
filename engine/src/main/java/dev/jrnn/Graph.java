package dev.jrnn;

import dev.jrnn.spi.Const;
import dev.jrnn.spi.Op;
import dev.jrnn.spi.TensorType;
import dev.jrnn.spi.WeightSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * An immutable dataflow graph of named inputs, nodes and named outputs, built once with {@link
 * #build} and run by a {@link Session}.
 *
 * <pre>{@code
 * Graph g = Graph.build(b -> {
 *   Value tokens = b.input("tokens", DType.I32, Dim.dyn("T"), Dim.dyn("N"));
 *   Value x = b.embedding(tokens, 1000, 64);
 *   Value seq = b.recurrent(x, Recurrent.lstm(128).layers(2).bidirectional());
 *   b.output("prob", b.sigmoid(b.linear(b.lastStep(seq), 1)));
 * });
 * }</pre>
 */
public final class Graph {

  private final List<Node> nodes;
  private final Map<String, Value> inputs;
  private final Map<String, Value> outputs;
  private final Map<String, Node> byName;

  private Graph(Builder b) {
    this.nodes = List.copyOf(b.nodes);
    this.inputs = Collections.unmodifiableMap(new LinkedHashMap<>(b.inputs));
    this.outputs = Collections.unmodifiableMap(new LinkedHashMap<>(b.outputs));
    this.byName = Collections.unmodifiableMap(new LinkedHashMap<>(b.byName));
  }

  /** Builds a graph: {@code fn} declares inputs, nodes and at least one output. */
  public static Graph build(Consumer<Builder> fn) {
    Builder b = new Builder();
    fn.accept(b);
    return b.build();
  }

  /** A builder for callers that assemble a graph step by step (importers). */
  public static Builder builder() {
    return new Builder();
  }

  /** All nodes, inputs included, in topological order. */
  public List<Node> nodes() {
    return nodes;
  }

  /** Graph inputs by name, in declaration order. */
  public Map<String, Value> inputs() {
    return inputs;
  }

  /** Graph outputs by name, in declaration order. */
  public Map<String, Value> outputs() {
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

  /** A multi-line description: inputs, nodes with their shapes, outputs. */
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

  /** Declares a graph. Each method checks its arguments and infers the output shape at once. */
  public static final class Builder {
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Value> inputs = new LinkedHashMap<>();
    private final Map<String, Value> outputs = new LinkedHashMap<>();
    private final Map<String, Node> byName = new LinkedHashMap<>();
    private final Map<String, Integer> counters = new HashMap<>();
    private boolean built;

    private Builder() {}

    /** Declares an input; dimensions are {@link Dim#of} fixed sizes or {@link Dim#dyn} names. */
    public Value input(String name, DType dtype, Dim... dims) {
      Objects.requireNonNull(name, "name");
      if (inputs.containsKey(name)) {
        throw new IllegalArgumentException("input '" + name + "' is declared twice");
      }
      Value v = add(name, new Op.Input(name, dtype, List.of(dims)))[0];
      inputs.put(name, v);
      return v;
    }

    /** Looks up rows of a {@code [vocab, dim]} table for I32 ids: shape {@code ids + [dim]}. */
    public Value embedding(Value ids, int vocab, int dim) {
      return embedding(null, ids, vocab, dim);
    }

    /** {@link #embedding(Value, int, int)} with a node name (the weight's prefix). */
    public Value embedding(String name, Value ids, int vocab, int dim) {
      positive(vocab, "vocab");
      positive(dim, "dim");
      return add(name, new Op.Embedding(vocab, dim), ids)[0];
    }

    /** {@code x · Wᵀ + b} over the last axis, whose size must be fixed. */
    public Value linear(Value x, int out) {
      return linear(null, x, out, true);
    }

    /** {@link #linear(Value, int)} with a node name and an optional bias. */
    public Value linear(String name, Value x, int out, boolean bias) {
      positive(out, "out");
      return add(name, new Op.Linear(featureSize(x, "linear"), out, bias), x)[0];
    }

    /** A recurrent layer stack over {@code x}; returns its output sequence. */
    public Value recurrent(Value x, Recurrent spec) {
      return recurrent(x, spec, null, null, null);
    }

    /**
     * A recurrent layer stack with optional sequence lengths {@code [N]} (I32), initial hidden
     * state {@code [L·D, N, Hout]} and initial cell state {@code [L·D, N, H]} (LSTM); any may be
     * null. Returns the output sequence; {@link Value#finalH()} and {@link Value#finalC()} give the
     * final states.
     */
    public Value recurrent(Value x, Recurrent spec, Value lengths, Value h0, Value c0) {
      spec.validate();
      Op.RecurrentLayer op = new Op.RecurrentLayer(spec, featureSize(x, spec.cell().name()));
      String base = spec.name() != null ? spec.name() : null;
      if (base == null) {
        base = autoName(spec.cell().name().toLowerCase(Locale.ROOT));
      }
      return add(base, op, x, lengths, h0, c0)[0];
    }

    public Value tanh(Value x) {
      return add(null, new Op.Unary(Op.UnaryKind.TANH), x)[0];
    }

    public Value sigmoid(Value x) {
      return add(null, new Op.Unary(Op.UnaryKind.SIGMOID), x)[0];
    }

    public Value relu(Value x) {
      return add(null, new Op.Unary(Op.UnaryKind.RELU), x)[0];
    }

    /** Softmax over the last axis. */
    public Value softmax(Value x) {
      return add(null, new Op.Softmax(-1, false), x)[0];
    }

    /** Log-softmax over the last axis. */
    public Value logSoftmax(Value x) {
      return add(null, new Op.Softmax(-1, true), x)[0];
    }

    /** A constant value stored in the graph. */
    public Value constant(String name, Const value) {
      return add(name, new Op.Constant(value))[0];
    }

    /** Element-wise sum with NumPy broadcasting. */
    public Value add(Value a, Value b) {
      return add(null, new Op.Binary(Op.BinaryKind.ADD), a, b)[0];
    }

    /** Element-wise product with NumPy broadcasting. */
    public Value mul(Value a, Value b) {
      return add(null, new Op.Binary(Op.BinaryKind.MUL), a, b)[0];
    }

    /** Joins values along {@code axis} (negative counts from the end). */
    public Value concat(int axis, Value... xs) {
      return add(null, new Op.Concat(axis), xs)[0];
    }

    /**
     * Each batch row's output at its last valid step, {@code [N, C]}. For the output of a recurrent
     * layer, its sequence lengths and layout are used.
     */
    public Value lastStep(Value seq) {
      if (seq.node().op() instanceof Op.RecurrentLayer r && seq.index() == 0) {
        return lastStep(seq, seq.node().input(Op.RecurrentLayer.LENGTHS), r.spec().isBatchFirst());
      }
      return lastStep(seq, null, false);
    }

    /** Last valid step of {@code seq} per row given {@code lengths [N]} (may be null). */
    public Value lastStep(Value seq, Value lengths, boolean batchFirst) {
      return add(null, new Op.LastStep(batchFirst), seq, lengths)[0];
    }

    /** Declares a graph output. */
    public void output(String name, Value v) {
      Objects.requireNonNull(name, "name");
      own(v, "output '" + name + "'");
      if (outputs.containsKey(name)) {
        throw new IllegalArgumentException("output '" + name + "' is declared twice");
      }
      outputs.put(name, v);
    }

    /**
     * Adds a node running {@code op} on {@code inputs} (null for an absent optional input) and
     * returns its outputs. A null {@code name} gets one derived from the op kind.
     */
    public Value[] add(String name, Op op, Value... inputs) {
      if (built) {
        throw new IllegalStateException("this builder has already built its graph");
      }
      Objects.requireNonNull(op, "op");
      String n = name != null ? name : autoName(op.kind().toLowerCase(Locale.ROOT));
      if (byName.containsKey(n)) {
        throw new IllegalArgumentException("a node named '" + n + "' already exists");
      }
      Value[] ins = inputs == null ? new Value[0] : inputs.clone();
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
      TensorType[] types;
      Const[] folded = null;
      try {
        types = op.infer(inTypes, known);
        if (!(op instanceof Op.Input) && !(op instanceof Op.Constant)) {
          folded = op.fold(inTypes, known);
        }
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "node '" + n + "' (" + op.kind() + "): " + e.getMessage(), e);
      }
      if (folded != null) { // known now: the node becomes constants
        Value[] out = new Value[folded.length];
        for (int i = 0; i < folded.length; i++) {
          out[i] = add(folded.length == 1 ? n : n + "_" + i, new Op.Constant(folded[i]))[0];
        }
        return out;
      }
      Node node = new Node(nodes.size(), n, op, ins, types);
      nodes.add(node);
      byName.put(n, node);
      return node.outputs().toArray(Value[]::new);
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

    private void own(Value v, String what) {
      Objects.requireNonNull(v, what);
      if (v.node().id() >= nodes.size() || nodes.get(v.node().id()) != v.node()) {
        throw new IllegalArgumentException(what + " belongs to another graph");
      }
    }

    private static int featureSize(Value x, String what) {
      Objects.requireNonNull(x, "x");
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

    /** The graph; at least one output must be declared. */
    public Graph build() {
      if (outputs.isEmpty()) {
        throw new IllegalArgumentException("a graph needs at least one output");
      }
      built = true;
      return new Graph(this);
    }
  }
}
