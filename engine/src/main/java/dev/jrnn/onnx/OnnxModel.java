package dev.jrnn.onnx;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Recurrent;
import dev.jrnn.Tensor;
import dev.jrnn.Value;
import dev.jrnn.Weights;
import dev.jrnn.spi.Const;
import dev.jrnn.spi.Op;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * An ONNX model imported as a jrnn {@link Graph} and its {@link Weights}.
 *
 * <p>Recurrent operators ({@code LSTM}, {@code GRU}, {@code RNN}, opsets 7–22, every attribute and
 * optional input) become jrnn recurrent layers with canonical weights (gate orders converted);
 * layout, Y/Y_h/Y_c shapes and optional outputs follow the ONNX operator. The operators exports put
 * around them map onto jrnn ops; constants and shape-only subgraphs fold while importing (and, when
 * they depend on dynamic dimensions, when a session plans a call). An unsupported operator or
 * attribute is an error naming the node.
 *
 * <p>ONNX graph inputs that feed a recurrent node's W, R, B or P (as ONNX's own backend tests do)
 * are weight inputs: give their values to {@link #weights(Map)}.
 */
public final class OnnxModel {

  private final Graph graph;
  private final Map<String, Const> initial; // canonical weight name -> value
  private final List<WeightInput> weightInputs;
  private final long opset;

  /** An ONNX graph input whose value becomes canonical weights. */
  private record WeightInput(String input, Importer.Conversion conversion) {}

  private OnnxModel(
      Graph graph, Map<String, Const> initial, List<WeightInput> weightInputs, long opset) {
    this.graph = graph;
    this.initial = initial;
    this.weightInputs = weightInputs;
    this.opset = opset;
  }

  /** Reads and imports an ONNX file. */
  public static OnnxModel load(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    return read(bytes, file.toString());
  }

  /** Imports ONNX model bytes; {@code where} names the source in errors. */
  public static OnnxModel read(byte[] bytes, String where) {
    OnnxProto.Model m = OnnxProto.parseModel(bytes, where);
    try {
      return new Importer(m, where).run();
    } catch (IllegalArgumentException | IllegalStateException | ArithmeticException e) {
      // what the graph builder rejects (an output without a value, shapes that do not agree…)
      throw new ModelFormatException(where + ": " + e.getMessage(), e);
    }
  }

  /** The imported graph. */
  public Graph graph() {
    return graph;
  }

  /** The default-domain opset the model imports. */
  public long opset() {
    return opset;
  }

  /** ONNX inputs that carry weights and must be given to {@link #weights(Map)}. */
  public List<String> weightInputs() {
    return weightInputs.stream().map(WeightInput::input).distinct().toList();
  }

  /** The weights, when the model has no weight inputs. */
  public Weights weights() {
    return weights(Map.of());
  }

  /**
   * The canonical weights: from initializers, and from {@code values} for every weight input (extra
   * entries are ignored, so all of a test's inputs may be passed).
   */
  public Weights weights(Map<String, Tensor> values) {
    Weights w = Weights.empty();
    try {
      initial.forEach((k, v) -> w.put(k, v.toTensor()));
      for (WeightInput in : weightInputs) {
        Tensor t = values.get(in.input());
        if (t == null) {
          throw new IllegalArgumentException(
              "missing weight input '"
                  + in.input()
                  + "'; this model's weight inputs: "
                  + String.join(", ", weightInputs()));
        }
        in.conversion().apply(Const.of(t), w);
      }
      return w;
    } catch (RuntimeException e) {
      w.close();
      throw e;
    }
  }

  /** Translates ONNX nodes into a jrnn graph. */
  private static final class Importer {
    private final OnnxProto.Model model;
    private final String where;
    private final Graph.Builder b = Graph.builder();
    private final Map<String, Value> values = new HashMap<>(); // ONNX value name -> jrnn value
    private final Map<String, OnnxProto.TensorData> initializers = new LinkedHashMap<>();
    private final Map<String, Const> weights = new LinkedHashMap<>();
    private final List<WeightInput> weightInputs = new ArrayList<>();
    private final Map<String, OnnxProto.ValueInfo> declaredInputs = new LinkedHashMap<>();
    private final Set<String> usedNames = new HashSet<>();
    private final Map<String, List<OnnxProto.Node>> readers = new HashMap<>(); // null: graph output
    private final Map<OnnxProto.Node, Value> fused = new java.util.IdentityHashMap<>();

    /** Writes canonical weights from a weight input's value. */
    @FunctionalInterface
    interface Conversion {
      void apply(Const value, Weights into);
    }

    Importer(OnnxProto.Model model, String where) {
      this.model = model;
      this.where = where;
    }

    OnnxModel run() {
      OnnxProto.Graph g = model.graph();
      for (OnnxProto.TensorData t : g.initializers()) {
        initializers.put(t.name(), t);
      }
      List<OnnxProto.Node> nodes = topological(g);
      for (OnnxProto.Node n : nodes) {
        for (String in : n.inputs()) {
          readers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
        }
      }
      g.outputs().forEach(o -> readers.computeIfAbsent(o.name(), k -> new ArrayList<>()).add(null));
      Set<String> weightOnly = weightOnlyInputs(g, nodes);
      for (OnnxProto.ValueInfo in : g.inputs()) {
        if (initializers.containsKey(in.name())) {
          continue; // old-style models list initializers as inputs too
        }
        declaredInputs.put(in.name(), in);
        usedNames.add(in.name());
        if (!weightOnly.contains(in.name())) {
          values.put(
              in.name(),
              b.input(in.name(), dtype(in.elemType(), "input '" + in.name() + "'"), dims(in)));
        }
      }
      for (OnnxProto.Node n : nodes) {
        try {
          translate(n);
        } catch (ModelFormatException e) {
          throw e;
        } catch (IllegalArgumentException | IllegalStateException e) {
          throw new ModelFormatException(
              where + ": node '" + display(n) + "' (" + n.opType() + "): " + e.getMessage(), e);
        }
      }
      for (OnnxProto.ValueInfo out : g.outputs()) {
        b.output(out.name(), value(out.name(), "graph output"));
      }
      return new OnnxModel(b.build(), weights, weightInputs, model.opset());
    }

    private static String display(OnnxProto.Node n) {
      return n.name().isEmpty() ? String.join(",", n.outputs()) : n.name();
    }

    /** Nodes in dependency order; a cycle or a missing producer is an error naming the node. */
    private List<OnnxProto.Node> topological(OnnxProto.Graph g) {
      Set<String> available = new HashSet<>(initializers.keySet());
      g.inputs().forEach(i -> available.add(i.name()));
      available.add("");
      Map<String, Integer> producer = new HashMap<>();
      List<OnnxProto.Node> nodes = g.nodes();
      for (int i = 0; i < nodes.size(); i++) {
        for (String o : nodes.get(i).outputs()) {
          if (!o.isEmpty() && producer.put(o, i) != null) {
            throw new ModelFormatException(where + ": value '" + o + "' is produced twice");
          }
        }
      }
      int[] pending = new int[nodes.size()];
      Map<String, List<Integer>> consumers = new HashMap<>();
      ArrayDeque<Integer> ready = new ArrayDeque<>();
      for (int i = 0; i < nodes.size(); i++) {
        Set<String> needs = new LinkedHashSet<>();
        for (String in : nodes.get(i).inputs()) {
          if (!available.contains(in)) {
            if (!producer.containsKey(in)) {
              throw new ModelFormatException(
                  where
                      + ": input '"
                      + in
                      + "' of node '"
                      + display(nodes.get(i))
                      + "' is produced by no node, initializer or graph input");
            }
            needs.add(in);
          }
        }
        pending[i] = needs.size();
        for (String in : needs) {
          consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
        }
        if (pending[i] == 0) {
          ready.add(i);
        }
      }
      List<OnnxProto.Node> order = new ArrayList<>();
      while (!ready.isEmpty()) {
        int i = ready.poll();
        order.add(nodes.get(i));
        for (String o : nodes.get(i).outputs()) {
          for (int c : consumers.getOrDefault(o, List.of())) {
            if (--pending[c] == 0) {
              ready.add(c);
            }
          }
        }
      }
      if (order.size() != nodes.size()) {
        for (int i = 0; i < nodes.size(); i++) {
          if (pending[i] > 0) {
            throw new ModelFormatException(
                where + ": the graph has a cycle through node '" + display(nodes.get(i)) + "'");
          }
        }
      }
      return order;
    }

    /** Graph inputs read only as W, R, B or P of recurrent nodes. */
    private Set<String> weightOnlyInputs(OnnxProto.Graph g, List<OnnxProto.Node> nodes) {
      Set<String> inputs = new HashSet<>();
      g.inputs().forEach(i -> inputs.add(i.name()));
      Set<String> asWeight = new HashSet<>();
      Set<String> otherwise = new HashSet<>();
      for (OnnxProto.Node n : nodes) {
        boolean recurrent = Set.of("LSTM", "GRU", "RNN").contains(n.opType());
        for (int i = 0; i < n.inputs().size(); i++) {
          String in = n.inputs().get(i);
          if (inputs.contains(in)) {
            boolean weight =
                recurrent && (i == 1 || i == 2 || i == 3 || (i == 7 && n.opType().equals("LSTM")));
            (weight ? asWeight : otherwise).add(in);
          }
        }
      }
      g.outputs().forEach(o -> otherwise.add(o.name()));
      asWeight.removeAll(otherwise);
      return asWeight;
    }

    private static DType dtype(int onnx, String what) {
      return switch (onnx) {
        case OnnxProto.FLOAT, OnnxProto.DOUBLE, OnnxProto.FLOAT16 -> DType.F32;
        case OnnxProto.INT32, OnnxProto.INT64, OnnxProto.INT8, OnnxProto.UINT8, OnnxProto.BOOL ->
            DType.I32;
        default ->
            throw new ModelFormatException(
                what + " has ONNX element type " + onnx + ", which jrnn does not support");
      };
    }

    private Dim[] dims(OnnxProto.ValueInfo in) {
      Dim[] d = new Dim[in.dims().size()];
      for (int i = 0; i < d.length; i++) {
        Object o = in.dims().get(i);
        if (o instanceof Long l) {
          if (l < 0 || l > Integer.MAX_VALUE) {
            throw new ModelFormatException(
                where + ": input '" + in.name() + "' declares dimension " + l);
          }
          d[i] = Dim.of((int) (long) l);
        } else {
          String name = (String) o;
          d[i] = name.isEmpty() || name.equals("?") ? Dim.dyn("?") : Dim.dyn(name);
        }
      }
      return d;
    }

    /** The jrnn value of an ONNX value name (constants for initializers). */
    private Value value(String name, String what) {
      Value v = values.get(name);
      if (v != null) {
        return v;
      }
      OnnxProto.TensorData t = initializers.get(name);
      if (t != null) {
        v = b.constant(fresh("const_" + name), constant(t));
        values.put(name, v);
        return v;
      }
      throw new IllegalArgumentException(what + " '" + name + "' has no value");
    }

    private Value optional(OnnxProto.Node n, int i) {
      return i < n.inputs().size() && !n.inputs().get(i).isEmpty()
          ? value(n.inputs().get(i), "input")
          : null;
    }

    private Const constant(OnnxProto.TensorData t) {
      int[] shape = new int[t.dims().length];
      for (int i = 0; i < shape.length; i++) {
        if (t.dims()[i] > Integer.MAX_VALUE) {
          throw new ModelFormatException(where + ": tensor '" + t.name() + "' is too large");
        }
        shape[i] = (int) t.dims()[i];
      }
      return t.floats() != null ? Const.floats(t.floats(), shape) : Const.longs(t.longs(), shape);
    }

    /** A unique jrnn node name derived from {@code base}. */
    private String fresh(String base) {
      String clean = base.replaceAll("[^A-Za-z0-9_]", "_");
      if (clean.isEmpty()) {
        clean = "node";
      }
      String n = clean;
      for (int k = 1; usedNames.contains(n); k++) {
        n = clean + "_" + k;
      }
      usedNames.add(n);
      return n;
    }

    private void define(OnnxProto.Node n, int output, Value v) {
      if (output < n.outputs().size() && !n.outputs().get(output).isEmpty()) {
        values.put(n.outputs().get(output), v);
      }
    }

    private Map<String, OnnxProto.Attribute> attrs(OnnxProto.Node n) {
      return n.attributes();
    }

    private static final String[] ATTR_TYPES = {
      "UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS", "STRINGS"
    };

    /**
     * Attribute {@code name} of {@code n}, or null; throws when it is of another type than {@code
     * type} (ONNX AttributeType) or lacks its value.
     */
    private OnnxProto.Attribute attr(OnnxProto.Node n, String name, int type) {
      OnnxProto.Attribute a = attrs(n).get(name);
      if (a == null) {
        return null;
      }
      boolean missing =
          (type == OnnxProto.ATTR_TENSOR && a.t() == null)
              || (type == OnnxProto.ATTR_STRING && a.s() == null);
      if ((a.type() != 0 && a.type() != type) || missing) {
        throw new IllegalArgumentException(
            "attribute '"
                + name
                + "' must be "
                + ATTR_TYPES[type]
                + ", got "
                + (a.type() >= 0 && a.type() < ATTR_TYPES.length
                    ? ATTR_TYPES[a.type()]
                    : "type " + a.type())
                + (missing ? " without a value" : ""));
      }
      return a;
    }

    private long intAttr(OnnxProto.Node n, String name, long def) {
      OnnxProto.Attribute a = attr(n, name, OnnxProto.ATTR_INT);
      return a == null ? def : a.i();
    }

    private float floatAttr(OnnxProto.Node n, String name, float def) {
      OnnxProto.Attribute a = attr(n, name, OnnxProto.ATTR_FLOAT);
      return a == null ? def : a.f();
    }

    private int[] intsAttr(OnnxProto.Node n, String name) {
      OnnxProto.Attribute a = attr(n, name, OnnxProto.ATTR_INTS);
      if (a == null) {
        return null;
      }
      int[] v = new int[a.ints().size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = Math.toIntExact(a.ints().get(i));
      }
      return v;
    }

    private void translate(OnnxProto.Node n) {
      if (!n.domain().isEmpty() && !n.domain().equals("ai.onnx")) {
        throw new IllegalArgumentException("domain '" + n.domain() + "' is not supported");
      }
      Value fusedInto = fused.remove(n);
      if (fusedInto != null) { // an Add already folded into the Linear before it
        define(n, 0, fusedInto);
        return;
      }
      int need =
          switch (n.opType()) {
            case "LSTM", "GRU", "RNN" -> 3;
            case "Slice" -> model.opset() >= 10 ? 3 : 1;
            case "Add", "Sub", "Mul", "Div", "MatMul", "Gemm", "Gather", "Reshape", "Expand" -> 2;
            case "Constant" -> 0;
            default -> 1;
          };
      if (n.inputs().size() < need) {
        throw new IllegalArgumentException(
            "has " + n.inputs().size() + " inputs; " + n.opType() + " needs at least " + need);
      }
      if (n.outputs().isEmpty()) {
        throw new IllegalArgumentException("has no outputs");
      }
      String name = fresh(n.name().isEmpty() ? n.opType().toLowerCase(Locale.ROOT) : n.name());
      switch (n.opType()) {
        case "LSTM", "GRU", "RNN" -> recurrent(n, name);
        case "Constant" -> define(n, 0, b.constant(name, constantAttr(n)));
        case "Identity" -> define(n, 0, b.add(name, new Op.Identity(), in(n, 0))[0]);
        case "Add" -> binary(n, name, Op.BinaryKind.ADD);
        case "Sub" -> binary(n, name, Op.BinaryKind.SUB);
        case "Mul" -> binary(n, name, Op.BinaryKind.MUL);
        case "Div" -> binary(n, name, Op.BinaryKind.DIV);
        case "Sigmoid" ->
            define(n, 0, b.add(name, new Op.Unary(Op.UnaryKind.SIGMOID), in(n, 0))[0]);
        case "Tanh" -> define(n, 0, b.add(name, new Op.Unary(Op.UnaryKind.TANH), in(n, 0))[0]);
        case "Relu" -> define(n, 0, b.add(name, new Op.Unary(Op.UnaryKind.RELU), in(n, 0))[0]);
        case "Softmax", "LogSoftmax" -> softmax(n, name);
        case "Transpose" ->
            define(n, 0, b.add(name, new Op.Transpose(intsAttr(n, "perm")), in(n, 0))[0]);
        case "Reshape" ->
            define(
                n,
                0,
                b.add(name, new Op.Reshape(intAttr(n, "allowzero", 0) == 1), in(n, 0), in(n, 1))[
                    0]);
        case "Squeeze" ->
            define(
                n,
                0,
                b.add(name, new Op.Squeeze(intsAttr(n, "axes")), in(n, 0), optional(n, 1))[0]);
        case "Unsqueeze" ->
            define(
                n,
                0,
                b.add(name, new Op.Unsqueeze(intsAttr(n, "axes")), in(n, 0), optional(n, 1))[0]);
        case "Concat" -> {
          Value[] ins = new Value[n.inputs().size()];
          for (int i = 0; i < ins.length; i++) {
            ins[i] = in(n, i);
          }
          define(n, 0, b.add(name, new Op.Concat((int) intAttr(n, "axis", 0)), ins)[0]);
        }
        case "Slice" -> slice(n, name);
        case "Shape" ->
            define(
                n,
                0,
                b.add(
                        name,
                        new Op.Shape(
                            (int) intAttr(n, "start", 0), (int) intAttr(n, "end", Op.Shape.ALL)),
                        in(n, 0))[0]);
        case "ConstantOfShape" -> {
          OnnxProto.Attribute a = attr(n, "value", OnnxProto.ATTR_TENSOR);
          Const v = a == null ? Const.floats(new float[] {0f}, 1) : constant(a.t());
          define(n, 0, b.add(name, new Op.ConstantOfShape(v), in(n, 0))[0]);
        }
        case "Expand" -> define(n, 0, b.add(name, new Op.Expand(), in(n, 0), in(n, 1))[0]);
        case "Cast" ->
            define(
                n,
                0,
                b.add(name, new Op.Cast(dtype((int) intAttr(n, "to", 1), "Cast 'to'")), in(n, 0))[
                    0]);
        case "Flatten" ->
            define(n, 0, b.add(name, new Op.Flatten((int) intAttr(n, "axis", 1)), in(n, 0))[0]);
        case "Gather" -> gather(n, name);
        case "MatMul" -> matmul(n, name);
        case "Gemm" -> gemm(n, name);
        default ->
            throw new IllegalArgumentException(
                "operator "
                    + n.opType()
                    + " is not supported; supported: LSTM, GRU, RNN, Gather,"
                    + " Gemm, MatMul, Add, Mul, Sub, Div, Transpose, Reshape, Squeeze, Unsqueeze,"
                    + " Concat, Slice, Shape, ConstantOfShape, Constant, Expand, Cast, Identity,"
                    + " Softmax, LogSoftmax, Sigmoid, Tanh, Relu, Flatten");
      }
    }

    private Value in(OnnxProto.Node n, int i) {
      if (i >= n.inputs().size() || n.inputs().get(i).isEmpty()) {
        throw new IllegalArgumentException("input " + i + " is required");
      }
      return value(n.inputs().get(i), "input " + i);
    }

    private Const constantAttr(OnnxProto.Node n) {
      if (attrs(n).size() != 1) {
        throw new IllegalArgumentException("Constant needs exactly one value attribute");
      }
      OnnxProto.Attribute a = attrs(n).values().iterator().next();
      int type =
          switch (a.name()) {
            case "value" -> OnnxProto.ATTR_TENSOR;
            case "value_float" -> OnnxProto.ATTR_FLOAT;
            case "value_int" -> OnnxProto.ATTR_INT;
            case "value_floats" -> OnnxProto.ATTR_FLOATS;
            case "value_ints" -> OnnxProto.ATTR_INTS;
            default -> OnnxProto.ATTR_UNDEFINED;
          };
      if (type != OnnxProto.ATTR_UNDEFINED) {
        attr(n, a.name(), type);
      }
      return switch (a.name()) {
        case "value" -> constant(a.t());
        case "value_float" -> Const.floats(new float[] {a.f()});
        case "value_int" -> Const.longs(new long[] {a.i()});
        case "value_floats" -> {
          float[] v = new float[a.floats().size()];
          for (int i = 0; i < v.length; i++) {
            v[i] = a.floats().get(i);
          }
          yield Const.floats(v, v.length);
        }
        case "value_ints" -> Const.vector(a.ints().stream().mapToLong(Long::longValue).toArray());
        default ->
            throw new IllegalArgumentException(
                "Constant attribute '" + a.name() + "' is not supported");
      };
    }

    private void binary(OnnxProto.Node n, String name, Op.BinaryKind k) {
      define(n, 0, b.add(name, new Op.Binary(k), in(n, 0), in(n, 1))[0]);
    }

    private void softmax(OnnxProto.Node n, String name) {
      boolean log = n.opType().equals("LogSoftmax");
      Value x = in(n, 0);
      int rank = x.dims().size();
      long def = model.opset() >= 13 ? -1 : 1;
      int axis = (int) intAttr(n, "axis", def);
      int ax = axis < 0 ? axis + rank : axis;
      if (model.opset() < 13 && ax != rank - 1) {
        // Before opset 13 the op flattens from axis on; equal to ours only over the last axis.
        throw new IllegalArgumentException(
            n.opType()
                + " with opset "
                + model.opset()
                + " over axis "
                + axis
                + " of rank "
                + rank
                + " (coerced to 2-D) is not supported; only the last axis");
      }
      define(n, 0, b.add(name, new Op.Softmax(axis, log), x)[0]);
    }

    private void slice(OnnxProto.Node n, String name) {
      Value data = in(n, 0);
      if (model.opset() < 10) { // starts, ends, axes as attributes
        int[] starts = intsAttr(n, "starts");
        int[] ends = intsAttr(n, "ends");
        int[] axes = intsAttr(n, "axes");
        if (starts == null || ends == null) {
          throw new IllegalArgumentException("Slice-1 needs starts and ends");
        }
        Value s = b.constant(fresh(name + "_starts"), Const.vector(toLongs(starts)));
        Value e = b.constant(fresh(name + "_ends"), Const.vector(toLongs(ends)));
        Value a =
            axes == null ? null : b.constant(fresh(name + "_axes"), Const.vector(toLongs(axes)));
        define(n, 0, b.add(name, new Op.Slice(), data, s, e, a, null)[0]);
        return;
      }
      define(
          n,
          0,
          b.add(name, new Op.Slice(), data, in(n, 1), in(n, 2), optional(n, 3), optional(n, 4))[0]);
    }

    private static long[] toLongs(int[] v) {
      long[] l = new long[v.length];
      for (int i = 0; i < v.length; i++) {
        l[i] = v[i];
      }
      return l;
    }

    private void gather(OnnxProto.Node n, String name) {
      int axis = (int) intAttr(n, "axis", 0);
      String dataName = n.inputs().get(0);
      OnnxProto.TensorData table = initializers.get(dataName);
      Value indices = in(n, 1);
      if (table != null
          && table.dims().length == 2
          && axis == 0
          && table.floats() != null
          && indices.constant() == null) {
        // An embedding lookup: the table becomes a weight.
        Const t = constant(table);
        String node = fresh(name);
        weights.put(node + ".weight", t);
        define(n, 0, b.embedding(node, indices, t.shape()[0], t.shape()[1]));
        return;
      }
      define(n, 0, b.add(name, new Op.Gather(axis), in(n, 0), indices)[0]);
    }

    private void matmul(OnnxProto.Node n, String name) {
      OnnxProto.TensorData w = initializers.get(n.inputs().get(1));
      Value a = in(n, 0);
      if (w != null && w.dims().length == 2 && w.floats() != null && !a.dims().isEmpty()) {
        Const bc = constant(w); // [in, out]: the Linear weight is its transpose
        requireFeatures(a, bc.shape()[0], "B");
        int out = bc.shape()[1];
        weights.put(name + ".weight", transpose2(bc));
        OnnxProto.Node add = biasAdd(n, out, a.dims().size());
        if (add != null) { // PyTorch's nn.Linear on 3-D input exports MatMul + Add(bias)
          weights.put(name + ".bias", Const.floats(biasOf(add, n).floats(), out));
          Value y = b.linear(name, a, out, true);
          fused.put(add, y);
          define(n, 0, y);
          return;
        }
        define(n, 0, b.linear(name, a, out, false));
        return;
      }
      define(n, 0, b.add(name, new Op.MatMul(), a, in(n, 1))[0]);
    }

    /**
     * The Add that is the only reader of MatMul {@code mm}'s output and adds a constant bias of
     * {@code out} floats along the last axis (shape {@code [out]} or {@code [1, …, 1, out]}, rank
     * at most {@code rank}), or null.
     */
    private OnnxProto.Node biasAdd(OnnxProto.Node mm, int out, int rank) {
      List<OnnxProto.Node> r = readers.getOrDefault(mm.outputs().get(0), List.of());
      if (r.size() != 1 || r.get(0) == null || !r.get(0).opType().equals("Add")) {
        return null;
      }
      OnnxProto.Node add = r.get(0);
      if (add.inputs().size() != 2 || add.inputs().get(0).equals(add.inputs().get(1))) {
        return null;
      }
      Const c = biasOf(add, mm);
      if (c == null || c.dtype() != DType.F32 || c.size() != out || c.rank() > rank) {
        return null;
      }
      for (int i = 0; i + 1 < c.rank(); i++) {
        if (c.shape()[i] != 1) {
          return null;
        }
      }
      return c.rank() == 0 && out != 1 ? null : add;
    }

    /** The constant operand of {@code add} that is not {@code mm}'s output, or null. */
    private Const biasOf(OnnxProto.Node add, OnnxProto.Node mm) {
      String other = add.inputs().get(add.inputs().get(0).equals(mm.outputs().get(0)) ? 1 : 0);
      OnnxProto.TensorData t = initializers.get(other);
      if (t != null) {
        return t.floats() != null ? constant(t) : null;
      }
      Value v = values.get(other);
      return v == null ? null : v.constant();
    }

    /** A's last axis must hold the {@code in} features the constant weight expects. */
    private static void requireFeatures(Value a, int in, String weight) {
      Dim f = a.dims().isEmpty() ? null : a.dims().getLast();
      if (f == null || (f.isFixed() && f.size() != in)) {
        throw new IllegalArgumentException(
            "A is "
                + a.type()
                + " but "
                + weight
                + " expects "
                + in
                + " features on its last axis");
      }
    }

    private void gemm(OnnxProto.Node n, String name) {
      float alpha = floatAttr(n, "alpha", 1f);
      float beta = floatAttr(n, "beta", 1f);
      boolean transA = intAttr(n, "transA", 0) == 1;
      boolean transB = intAttr(n, "transB", 0) == 1;
      Value a = in(n, 0);
      OnnxProto.TensorData bt = initializers.get(n.inputs().get(1));
      Value c = optional(n, 2);
      if (bt != null
          && bt.floats() != null
          && bt.dims().length == 2
          && !transA
          && (c == null || c.constant() != null)) {
        Const bc = constant(bt);
        Const weight = transB ? bc : transpose2(bc); // Linear wants [out, in]
        requireFeatures(a, weight.shape()[1], "B");
        int out = weight.shape()[0];
        float[] wv = weight.floats().clone();
        for (int i = 0; i < wv.length; i++) {
          wv[i] *= alpha;
        }
        weights.put(name + ".weight", Const.floats(wv, weight.shape()));
        if (c != null) {
          Const cv = c.constant();
          if (cv.size() != out && cv.size() != 1) {
            throw new IllegalArgumentException(
                "Gemm bias C of shape "
                    + java.util.Arrays.toString(cv.shape())
                    + " is not supported with a constant B; expected ["
                    + out
                    + "] or a scalar");
          }
          float[] bias = new float[out];
          for (int i = 0; i < out; i++) {
            bias[i] = beta * (float) cv.doubleAt(cv.size() == 1 ? 0 : i);
          }
          weights.put(name + ".bias", Const.floats(bias, out));
        }
        define(n, 0, b.linear(name, a, out, c != null));
        return;
      }
      // General form: alpha·A'·B' + beta·C from MatMul, Mul and Add.
      Value av = transA ? b.add(fresh(name + "_ta"), new Op.Transpose(new int[] {1, 0}), a)[0] : a;
      Value bv = in(n, 1);
      if (transB) {
        bv = b.add(fresh(name + "_tb"), new Op.Transpose(new int[] {1, 0}), bv)[0];
      }
      Value y = b.add(fresh(name + "_mm"), new Op.MatMul(), av, bv)[0];
      if (alpha != 1f) {
        y =
            b.add(
                    fresh(name + "_alpha"),
                    new Op.Binary(Op.BinaryKind.MUL),
                    y,
                    b.constant(fresh(name + "_a"), Const.floats(new float[] {alpha})))[0];
      }
      if (c != null) {
        Value cc = c;
        if (beta != 1f) {
          cc =
              b.add(
                      fresh(name + "_beta"),
                      new Op.Binary(Op.BinaryKind.MUL),
                      c,
                      b.constant(fresh(name + "_b"), Const.floats(new float[] {beta})))[0];
        }
        y = b.add(name, new Op.Binary(Op.BinaryKind.ADD), y, cc)[0];
      }
      define(n, 0, y);
    }

    private static Const transpose2(Const m) {
      int r = m.shape()[0];
      int c = m.shape()[1];
      float[] t = new float[r * c];
      for (int i = 0; i < r; i++) {
        for (int j = 0; j < c; j++) {
          t[j * r + i] = m.floats()[i * c + j];
        }
      }
      return Const.floats(t, c, r);
    }

    // ------------------------------------------------------------------------------ recurrent ops

    private void recurrent(OnnxProto.Node n, String name) {
      String op = n.opType();
      Recurrent.Cell cell =
          switch (op) {
            case "LSTM" -> Recurrent.Cell.LSTM;
            case "GRU" -> Recurrent.Cell.GRU;
            default -> Recurrent.Cell.RNN;
          };
      int g = cell.gates();
      Set<String> known =
          new HashSet<>(
              List.of(
                  "activation_alpha",
                  "activation_beta",
                  "activations",
                  "clip",
                  "direction",
                  "hidden_size",
                  "layout"));
      if (cell == Recurrent.Cell.LSTM) {
        known.add("input_forget");
      }
      if (cell == Recurrent.Cell.GRU) {
        known.add("linear_before_reset");
      }
      for (String a : attrs(n).keySet()) {
        if (!known.contains(a)) {
          throw new IllegalArgumentException("attribute '" + a + "' is not supported");
        }
      }
      String dirName =
          attrs(n).containsKey("direction")
              ? attr(n, "direction", OnnxProto.ATTR_STRING).string()
              : "forward";
      Recurrent.Direction direction =
          switch (dirName) {
            case "forward" -> Recurrent.Direction.FORWARD;
            case "reverse" -> Recurrent.Direction.REVERSE;
            case "bidirectional" -> Recurrent.Direction.BIDIRECTIONAL;
            default ->
                throw new IllegalArgumentException(
                    "direction '" + dirName + "' is not one of forward, reverse, bidirectional");
          };
      int dirs = direction.count();
      long[] wDims = weightDims(n, 1, "W");
      long[] rDims = weightDims(n, 2, "R");
      int hidden = (int) intAttr(n, "hidden_size", rDims.length == 3 ? rDims[2] : -1);
      if (hidden < 1) {
        throw new IllegalArgumentException("hidden_size must be >= 1, got " + hidden);
      }
      if (wDims.length != 3 || wDims[0] != dirs || wDims[1] != (long) g * hidden) {
        throw new IllegalArgumentException(
            "W must be ["
                + dirs
                + ", "
                + g * hidden
                + ", input], got "
                + java.util.Arrays.toString(wDims));
      }
      if (rDims.length != 3
          || rDims[0] != dirs
          || rDims[1] != (long) g * hidden
          || rDims[2] != hidden) {
        throw new IllegalArgumentException(
            "R must be ["
                + dirs
                + ", "
                + g * hidden
                + ", "
                + hidden
                + "], got "
                + java.util.Arrays.toString(rDims));
      }
      int inputSize = (int) wDims[2];
      int layout = (int) intAttr(n, "layout", 0);
      if (layout != 0 && layout != 1) {
        throw new IllegalArgumentException("layout must be 0 or 1, got " + layout);
      }
      Recurrent spec =
          switch (cell) {
            case LSTM -> Recurrent.lstm(hidden);
            case GRU ->
                Recurrent.gru(hidden).linearBeforeReset(intAttr(n, "linear_before_reset", 0) != 0);
            case RNN -> Recurrent.rnn(hidden);
          };
      spec = spec.name(name).direction(direction).batchFirst(layout == 1);
      if (attrs(n).containsKey("clip")) {
        spec = spec.clip(floatAttr(n, "clip", 0f));
      }
      if (cell == Recurrent.Cell.LSTM && intAttr(n, "input_forget", 0) != 0) {
        spec = spec.coupledInputForget();
      }
      boolean peep =
          cell == Recurrent.Cell.LSTM && n.inputs().size() > 7 && !n.inputs().get(7).isEmpty();
      if (peep) {
        spec = spec.peepholes();
      }
      List<Activation> acts = activations(n, cell, dirs);
      if (acts != null) {
        spec = spec.activations(acts);
      }
      // Inputs: X, W, R, B, sequence_lens, initial_h, initial_c (LSTM), P (LSTM).
      Value x = in(n, 0);
      Dim features = x.dims().isEmpty() ? null : x.dims().getLast();
      if (x.dims().size() != 3 || (features.isFixed() && features.size() != inputSize)) {
        throw new IllegalArgumentException(
            "X is "
                + x.type()
                + " but W ["
                + dirs
                + ", "
                + g * hidden
                + ", "
                + inputSize
                + "] needs"
                + " a rank-3 X with "
                + inputSize
                + " features");
      }
      Value lengths = optional(n, 4);
      if (lengths != null && lengths.dtype() != DType.I32) {
        throw new IllegalArgumentException("sequence_lens must be int32");
      }
      Value h0 = optional(n, 5);
      Value c0 = cell == Recurrent.Cell.LSTM ? optional(n, 6) : null;
      if (layout == 1) { // ONNX [N, D, H] -> jrnn [D, N, H]
        h0 =
            h0 == null
                ? null
                : b.add(fresh(name + "_h0"), new Op.Transpose(new int[] {1, 0, 2}), h0)[0];
        c0 =
            c0 == null
                ? null
                : b.add(fresh(name + "_c0"), new Op.Transpose(new int[] {1, 0, 2}), c0)[0];
      }
      importWeights(n, name, spec, cell, hidden, inputSize, dirs, peep);
      Value y = b.recurrent(x, spec, lengths, h0, c0);
      // Y: jrnn [T, N, D·H] or [N, T, D·H] -> ONNX [T, D, N, H] or [N, T, D, H].
      if (n.outputs().size() > 0 && !n.outputs().get(0).isEmpty()) {
        Value shape = b.constant(fresh(name + "_yshape"), Const.vector(0, 0, dirs, hidden));
        Value r = b.add(fresh(name + "_y4"), new Op.Reshape(false), y, shape)[0];
        define(
            n,
            0,
            layout == 0
                ? b.add(fresh(name + "_y"), new Op.Transpose(new int[] {0, 2, 1, 3}), r)[0]
                : r);
      }
      for (int k = 1; k <= (cell == Recurrent.Cell.LSTM ? 2 : 1); k++) {
        if (n.outputs().size() > k && !n.outputs().get(k).isEmpty()) {
          Value s = k == 1 ? y.finalH() : y.finalC();
          define(
              n,
              k,
              layout == 0
                  ? s
                  : b.add(
                          fresh(name + (k == 1 ? "_yh" : "_yc")),
                          new Op.Transpose(new int[] {1, 0, 2}),
                          s)[0]);
        }
      }
    }

    /** Declared dims of W or R: from the initializer or the graph input's declaration. */
    private long[] weightDims(OnnxProto.Node n, int i, String what) {
      if (i >= n.inputs().size() || n.inputs().get(i).isEmpty()) {
        throw new IllegalArgumentException(what + " is required");
      }
      String name = n.inputs().get(i);
      OnnxProto.TensorData t = initializers.get(name);
      if (t != null) {
        return t.dims();
      }
      OnnxProto.ValueInfo in = declaredInputs.get(name);
      if (in == null) {
        throw new IllegalArgumentException(
            what
                + " '"
                + name
                + "' must be an initializer or a graph input (computed weights are not supported)");
      }
      long[] d = new long[in.dims().size()];
      for (int k = 0; k < d.length; k++) {
        if (!(in.dims().get(k) instanceof Long l)) {
          throw new IllegalArgumentException(
              what + " input '" + name + "' must have fixed dimensions");
        }
        d[k] = l;
      }
      return d;
    }

    /** Canonical weights from W, R, B, P: now for initializers, when bound for weight inputs. */
    private void importWeights(
        OnnxProto.Node n,
        String node,
        Recurrent spec,
        Recurrent.Cell cell,
        int h,
        int in,
        int dirs,
        boolean peep) {
      int g = cell.gates();
      // ONNX gate blocks in canonical order: LSTM iofc -> i, f, g(c), o; GRU and RNN as they are.
      int[] order = cell == Recurrent.Cell.LSTM ? new int[] {0, 2, 3, 1} : identity(g);
      Op.RecurrentLayer layer = new Op.RecurrentLayer(spec, in);
      Conversion w = gateMatrix(layer, node, "W", dirs, g, h, in, order);
      Conversion r = gateMatrix(layer, node, "R", dirs, g, h, h, order);
      Conversion bias =
          (v, into) -> {
            if (v == null) {
              v =
                  new Const(
                      DType.F32, new int[] {dirs, 2 * g * h}, new float[dirs * 2 * g * h], null);
            }
            checkShape(v, "B", dirs, 2 * g * h);
            for (int d = 0; d < dirs; d++) {
              Const bw = gates(v, d, order, h, 2 * g * h);
              Const br = gates(slice(v, d, g * h, 2 * g * h), 0, order, h, g * h);
              into.put(layer.weightPrefix(node, 0, d) + "bW", bw.toTensor());
              into.put(layer.weightPrefix(node, 0, d) + "bR", br.toTensor());
            }
          };
      bind(n, 1, w);
      bind(n, 2, r);
      if (n.inputs().size() > 3 && !n.inputs().get(3).isEmpty()) {
        bind(n, 3, bias);
      } else {
        Weights tmp = Weights.empty();
        try {
          bias.apply(null, tmp);
          for (String k : tmp.names()) {
            weights.put(k, Const.of(tmp.get(k)));
          }
        } finally {
          tmp.close();
        }
      }
      if (peep) { // ONNX P is i, o, f; canonical i, f, o
        bind(
            n,
            7,
            (v, into) -> {
              checkShape(v, "P", dirs, 3 * h);
              for (int d = 0; d < dirs; d++) {
                into.put(
                    layer.weightPrefix(node, 0, d) + "P",
                    gates(v, d, new int[] {0, 2, 1}, h, 3 * h).toTensor());
              }
            });
      }
    }

    /**
     * ONNX {@code W} or {@code R} {@code [dirs, G·H, cols]} to canonical per-direction matrices.
     */
    private static Conversion gateMatrix(
        Op.RecurrentLayer layer,
        String node,
        String which,
        int dirs,
        int g,
        int h,
        int cols,
        int[] order) {
      return (v, into) -> {
        checkShape(v, which, dirs, g * h, cols);
        for (int d = 0; d < dirs; d++) {
          into.put(
              layer.weightPrefix(node, 0, d) + which,
              gates(v, d, order, h * cols, g * h * cols).toTensor());
        }
      };
    }

    /** Applies {@code c} to input {@code i} now (initializer) or records it as a weight input. */
    private void bind(OnnxProto.Node n, int i, Conversion c) {
      String name = n.inputs().get(i);
      OnnxProto.TensorData t = initializers.get(name);
      if (t != null) {
        Weights tmp = Weights.empty();
        try {
          c.apply(constant(t), tmp);
          for (String k : tmp.names()) {
            weights.put(k, Const.of(tmp.get(k)));
          }
        } finally {
          tmp.close();
        }
      } else if (declaredInputs.containsKey(name)) {
        weightInputs.add(new WeightInput(name, c));
      } else {
        throw new IllegalArgumentException(
            "input '" + name + "' must be an initializer or a graph input");
      }
    }

    private static void checkShape(Const v, String what, int... dims) {
      if (!java.util.Arrays.equals(v.shape(), dims)) {
        throw new IllegalArgumentException(
            what
                + " must have shape "
                + java.util.Arrays.toString(dims)
                + ", got "
                + java.util.Arrays.toString(v.shape()));
      }
      if (v.dtype() != DType.F32) {
        throw new IllegalArgumentException(what + " must be float");
      }
    }

    /** Direction {@code d} of {@code v}, its gate blocks of {@code block} floats reordered. */
    private static Const gates(Const v, int d, int[] order, int block, int perDirection) {
      float[] out = new float[order.length * block];
      for (int i = 0; i < order.length; i++) {
        System.arraycopy(v.floats(), d * perDirection + order[i] * block, out, i * block, block);
      }
      int rows = order.length * block;
      int cols = 1;
      if (v.rank() == 3) {
        cols = v.shape()[2];
        rows /= cols;
      }
      return v.rank() == 3 ? Const.floats(out, rows, cols) : Const.floats(out, rows);
    }

    /** Elements {@code [from, from + len)} of direction {@code d}, as a one-direction value. */
    private static Const slice(Const v, int d, int from, int perDirection) {
      int len = perDirection - from;
      float[] out = new float[len];
      System.arraycopy(v.floats(), d * perDirection + from, out, 0, len);
      return Const.floats(out, len);
    }

    private static int[] identity(int n) {
      int[] a = new int[n];
      for (int i = 0; i < n; i++) {
        a[i] = i;
      }
      return a;
    }

    private List<Activation> activations(OnnxProto.Node n, Recurrent.Cell cell, int dirs) {
      OnnxProto.Attribute a = attr(n, "activations", OnnxProto.ATTR_STRINGS);
      if (a == null) {
        return null;
      }
      int per = cell.activationCount();
      if (a.strings().size() != per * dirs) {
        throw new IllegalArgumentException(
            "activations lists "
                + a.strings().size()
                + " functions; "
                + n.opType()
                + " "
                + (dirs == 2 ? "bidirectional " : "")
                + "needs "
                + per * dirs);
      }
      List<Float> alphas =
          attrs(n).containsKey("activation_alpha")
              ? attr(n, "activation_alpha", OnnxProto.ATTR_FLOATS).floats()
              : List.of();
      List<Float> betas =
          attrs(n).containsKey("activation_beta")
              ? attr(n, "activation_beta", OnnxProto.ATTR_FLOATS).floats()
              : List.of();
      int ia = 0;
      int ib = 0;
      List<Activation> out = new ArrayList<>();
      for (byte[] s : a.strings()) {
        Activation.Kind k =
            Activation.kindByName(new String(s, java.nio.charset.StandardCharsets.UTF_8));
        // Defaults as ONNX Runtime has them: LeakyRelu 0.01, ThresholdedRelu and Elu 1,
        // HardSigmoid 0.2/0.5, and 0 for Affine and ScaledTanh.
        Activation def =
            k == Activation.Kind.AFFINE || k == Activation.Kind.SCALED_TANH
                ? Activation.of(k, 0f, 0f)
                : Activation.of(k);
        boolean usesAlpha =
            switch (k) {
              case AFFINE, LEAKY_RELU, THRESHOLDED_RELU, SCALED_TANH, HARD_SIGMOID, ELU -> true;
              default -> false;
            };
        boolean usesBeta =
            switch (k) {
              case AFFINE, SCALED_TANH, HARD_SIGMOID -> true;
              default -> false;
            };
        // As ONNX Runtime reads them: each list is consumed by the functions that take one.
        float alpha = usesAlpha ? (ia < alphas.size() ? alphas.get(ia++) : def.alpha()) : 0f;
        float beta = usesBeta ? (ib < betas.size() ? betas.get(ib++) : def.beta()) : 0f;
        out.add(Activation.of(k, alpha, beta));
      }
      return Collections.unmodifiableList(out);
    }
  }
}
