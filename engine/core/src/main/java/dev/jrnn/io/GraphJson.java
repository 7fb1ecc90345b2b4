package dev.jrnn.io;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Graph;
import dev.jrnn.ModelFormatException;
import dev.jrnn.Recurrent;
import dev.jrnn.ir.Const;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.IrValue;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.Arith;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A graph as JSON: inputs, nodes in order (op, attributes, input references {@code node} or {@code
 * node:i}), outputs. Constants are not inlined: they are named {@code const.<node>} and stored
 * beside the JSON (in a jrnn model file, as safetensors tensors).
 */
public final class GraphJson {

  /** Format version written into every graph. */
  public static final int VERSION = 1;

  private GraphJson() {}

  /** The graph as a JSON object; constants go into {@code constants} by name. */
  public static String write(Graph graph, Map<String, Const> constants) {
    IrGraph g = IrGraph.of(graph);
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("jrnn_graph", VERSION);
    List<Object> inputs = new ArrayList<>();
    List<Object> nodes = new ArrayList<>();
    for (Node n : g.nodes()) {
      if (n.op() instanceof Op.Input in) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", in.name());
        m.put("dtype", in.dtype().name());
        List<Object> dims = new ArrayList<>();
        for (Dim d : in.dims()) {
          dims.add(d.isFixed() ? (Object) (long) d.size() : d.name());
        }
        m.put("dims", dims);
        inputs.add(m);
        continue;
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", n.name());
      m.put("op", opName(n.op()));
      m.put("attrs", attrs(n, constants));
      List<Object> refs = new ArrayList<>();
      for (IrValue v : n.inputs()) {
        refs.add(v == null ? null : ref(v));
      }
      m.put("inputs", refs);
      nodes.add(m);
    }
    root.put("inputs", inputs);
    root.put("nodes", nodes);
    Map<String, Object> outs = new LinkedHashMap<>();
    g.outputValues().forEach((k, v) -> outs.put(k, ref(v)));
    root.put("outputs", outs);
    return Json.write(root);
  }

  /**
   * The op's name in the file: fixed here, not taken from Java class names, so renaming a class
   * cannot break saved models; {@link #op} maps it back.
   */
  private static String opName(Op op) {
    return switch (op) {
      case Op.Input i -> "Input";
      case Op.Constant c -> "Constant";
      case Op.Embedding e -> "Embedding";
      case Op.Linear l -> "Linear";
      case Op.Unary u -> "Unary";
      case Op.Softmax s -> "Softmax";
      case Op.Binary b -> "Binary";
      case Op.Concat c -> "Concat";
      case Op.LastStep l -> "LastStep";
      case Op.Dropout d -> "Dropout";
      case Op.RecurrentLayer r -> "RecurrentLayer";
      case DataOp.Shape s -> "Shape";
      case DataOp.Gather g -> "Gather";
      case DataOp.Transpose t -> "Transpose";
      case DataOp.Reshape r -> "Reshape";
      case DataOp.Squeeze s -> "Squeeze";
      case DataOp.Unsqueeze u -> "Unsqueeze";
      case DataOp.Slice s -> "Slice";
      case DataOp.ConstantOfShape c -> "ConstantOfShape";
      case DataOp.Expand e -> "Expand";
      case DataOp.Cast c -> "Cast";
      case DataOp.Identity i -> "Identity";
      case DataOp.Flatten f -> "Flatten";
      case DataOp.MatMul m -> "MatMul";
    };
  }

  private static String ref(IrValue v) {
    return v.node().op() instanceof Op.Input in
        ? in.name()
        : v.index() == 0 ? v.node().name() : v.node().name() + ":" + v.index();
  }

  private static Map<String, Object> attrs(Node n, Map<String, Const> constants) {
    Map<String, Object> a = new LinkedHashMap<>();
    switch (n.op()) {
      case Op.Embedding e -> {
        a.put("vocab", e.vocab());
        a.put("dim", e.dim());
      }
      case Op.Linear l -> {
        a.put("in", l.in());
        a.put("out", l.out());
        a.put("bias", l.bias());
      }
      case Op.Unary u -> {
        a.put("fn", u.fn().kind().name());
        a.put("alpha", (double) u.fn().alpha());
        a.put("beta", (double) u.fn().beta());
      }
      case Op.Softmax s -> {
        a.put("axis", s.axis());
        a.put("log", s.log());
      }
      case Op.Binary b -> a.put("fn", b.fn().name());
      case Op.Concat c -> a.put("axis", c.axis());
      case Op.LastStep l -> a.put("batchFirst", l.batchFirst());
      case Op.Dropout d -> a.put("p", (double) d.p());
      case Op.RecurrentLayer r -> {
        a.put("inputSize", r.inputSize());
        a.put("spec", spec(r.spec()));
      }
      case Op.Constant c -> a.put("value", constant(n, c.value(), constants));
      case DataOp.Shape s -> {
        a.put("start", s.start());
        a.put("end", s.end());
      }
      case DataOp.Gather g -> a.put("axis", g.axis());
      case DataOp.Transpose t -> a.put("perm", t.perm());
      case DataOp.Reshape r -> a.put("allowZero", r.allowZero());
      case DataOp.Squeeze s -> a.put("axes", s.axes());
      case DataOp.Unsqueeze u -> a.put("axes", u.axes());
      case DataOp.ConstantOfShape c -> a.put("value", constant(n, c.value(), constants));
      case DataOp.Cast c -> a.put("to", c.to().name());
      case DataOp.Flatten f -> a.put("axis", f.axis());
      case DataOp.Slice s -> {}
      case DataOp.Expand e -> {}
      case DataOp.Identity i -> {}
      case DataOp.MatMul m -> {}
      case Op.Input i -> throw new IllegalStateException("inputs are listed separately");
    }
    return a;
  }

  /**
   * Integer constants (shape arithmetic, int64 in ONNX) are written inline so values such as
   * INT64_MAX survive; float constants go to {@code constants} under {@code const.<node>}.
   */
  private static Map<String, Object> constant(Node n, Const c, Map<String, Const> constants) {
    Map<String, Object> m = new LinkedHashMap<>();
    List<Object> shape = new ArrayList<>();
    for (int d : c.shape()) {
      shape.add((long) d);
    }
    m.put("shape", shape);
    if (c.dtype() == DType.I32) {
      List<Object> values = new ArrayList<>();
      for (long v : c.longs()) {
        values.add(v);
      }
      m.put("longs", values);
    } else {
      String name = "const." + n.name();
      constants.put(name, c);
      m.put("tensor", name);
    }
    return m;
  }

  /** A recurrent spec as JSON. */
  public static Map<String, Object> spec(Recurrent s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cell", s.cell().name());
    m.put("hidden", s.hidden());
    m.put("layers", s.layers());
    m.put("direction", s.direction().name());
    m.put("merge", s.merge().name());
    m.put("batchFirst", s.isBatchFirst());
    if (s.name() != null) {
      m.put("name", s.name());
    }
    if (s.activations() != null) {
      List<Object> acts = new ArrayList<>();
      for (Activation a : s.activations()) {
        acts.add(List.of(a.kind().name(), (double) a.alpha(), (double) a.beta()));
      }
      m.put("activations", acts);
    }
    if (s.hasClip()) {
      m.put("clip", (double) s.clip());
    }
    m.put("peepholes", s.hasPeepholes());
    m.put("projection", s.projection());
    m.put("coupledInputForget", s.isCoupledInputForget());
    m.put("linearBeforeReset", s.isLinearBeforeReset());
    if (s.dropout() > 0) {
      m.put("dropout", (double) s.dropout());
    }
    if (s.recurrentDropout() > 0) {
      m.put("recurrentDropout", (double) s.recurrentDropout());
    }
    return m;
  }

  /** A recurrent spec from JSON. */
  public static Recurrent spec(Map<String, Object> m, String where) {
    Recurrent.Cell cell = enumOf(Recurrent.Cell.class, str(m, "cell", where), where);
    int hidden = integer(m, "hidden", where);
    Recurrent s =
        switch (cell) {
          case LSTM -> Recurrent.lstm(hidden);
          case GRU -> Recurrent.gru(hidden);
          case RNN -> Recurrent.rnn(hidden);
        };
    if (m.get("name") instanceof String n) {
      s = s.name(n);
    }
    s = s.layers(m.containsKey("layers") ? integer(m, "layers", where) : 1);
    if (m.containsKey("direction")) {
      Recurrent.Direction d = enumOf(Recurrent.Direction.class, str(m, "direction", where), where);
      s =
          d == Recurrent.Direction.BIDIRECTIONAL
              ? s.bidirectional(
                  m.containsKey("merge")
                      ? enumOf(Recurrent.Merge.class, str(m, "merge", where), where)
                      : Recurrent.Merge.CONCAT)
              : s.direction(d);
    }
    s = s.batchFirst(Boolean.TRUE.equals(m.get("batchFirst")));
    if (m.get("activations") instanceof List<?> acts) {
      List<Activation> list = new ArrayList<>();
      for (Object o : acts) {
        if (!(o instanceof List<?> a) || a.size() != 3) {
          throw new ModelFormatException(where + ": each activation is [kind, alpha, beta]");
        }
        list.add(
            Activation.of(
                enumOf(Activation.Kind.class, String.valueOf(a.get(0)), where),
                number(a.get(1), where).floatValue(),
                number(a.get(2), where).floatValue()));
      }
      s = s.activations(list);
    }
    if (m.get("clip") != null) {
      s = s.clip(number(m.get("clip"), where).floatValue());
    }
    if (Boolean.TRUE.equals(m.get("peepholes"))) {
      s = s.peepholes();
    }
    if (m.get("projection") instanceof Number p && p.intValue() > 0) {
      s = s.projection(p.intValue());
    }
    if (Boolean.TRUE.equals(m.get("coupledInputForget"))) {
      s = s.coupledInputForget();
    }
    if (cell == Recurrent.Cell.GRU && m.containsKey("linearBeforeReset")) {
      s = s.linearBeforeReset(Boolean.TRUE.equals(m.get("linearBeforeReset")));
    }
    try {
      if (m.get("dropout") != null) {
        s = s.dropout(number(m.get("dropout"), where).doubleValue());
      }
      if (m.get("recurrentDropout") != null) {
        s = s.recurrentDropout(number(m.get("recurrentDropout"), where).doubleValue());
      }
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(where + ": " + e.getMessage(), e);
    }
    return s;
  }

  /** Rebuilds a graph; {@code constants} gives the tensors named in the JSON. */
  @SuppressWarnings("unchecked")
  public static IrGraph read(String json, Map<String, Const> constants, String where) {
    Map<String, Object> root = Json.parseObject(json, where + ": graph JSON");
    if (!(root.get("jrnn_graph") instanceof Long version) || version != VERSION) {
      throw new ModelFormatException(
          where + ": not a jrnn graph (version " + root.get("jrnn_graph") + ")");
    }
    IrGraph.Builder b = IrGraph.builder();
    Map<String, IrValue> values = new HashMap<>();
    try {
      for (Object o : list(root, "inputs", where)) {
        Map<String, Object> in = object(o, where);
        String name = str(in, "name", where);
        List<Object> dl = list(in, "dims", where);
        Dim[] dims = new Dim[dl.size()];
        for (int i = 0; i < dims.length; i++) {
          Object d = dl.get(i);
          dims[i] = d instanceof Long l ? Dim.of(Math.toIntExact(l)) : dim(String.valueOf(d));
        }
        values.put(name, b.input(name, enumOf(DType.class, str(in, "dtype", where), where), dims));
      }
      for (Object o : list(root, "nodes", where)) {
        Map<String, Object> n = object(o, where);
        String name = str(n, "name", where);
        Map<String, Object> a = object(n.getOrDefault("attrs", Map.of()), where);
        List<Object> refs = list(n, "inputs", where);
        IrValue[] ins = new IrValue[refs.size()];
        for (int i = 0; i < ins.length; i++) {
          if (refs.get(i) != null) {
            ins[i] = values.get(String.valueOf(refs.get(i)));
            if (ins[i] == null) {
              throw new ModelFormatException(
                  where + ": node '" + name + "' reads unknown value '" + refs.get(i) + "'");
            }
          }
        }
        String at = where + ": node '" + name + "'";
        Op op = op(str(n, "op", where), a, constants, at);
        IrValue[] outs = b.node(name, op, ins);
        for (int i = 0; i < outs.length; i++) {
          values.put(i == 0 ? name : name + ":" + i, outs[i]);
        }
      }
      Map<String, Object> outs = object(root.get("outputs"), where);
      for (Map.Entry<String, Object> e : outs.entrySet()) {
        IrValue v = values.get(String.valueOf(e.getValue()));
        if (v == null) {
          throw new ModelFormatException(
              where + ": output '" + e.getKey() + "' refers to unknown value " + e.getValue());
        }
        b.output(e.getKey(), v);
      }
      return b.build();
    } catch (IllegalArgumentException | ArithmeticException | ClassCastException e) {
      if (e instanceof ModelFormatException m) {
        throw m;
      }
      throw new ModelFormatException(where + ": invalid graph: " + e.getMessage(), e);
    }
  }

  private static Op op(
      String kind, Map<String, Object> a, Map<String, Const> constants, String at) {
    return switch (kind) {
      case "Embedding" -> new Op.Embedding(integer(a, "vocab", at), integer(a, "dim", at));
      case "Dropout" -> new Op.Dropout(number(a.get("p"), at).floatValue());
      case "Linear" ->
          new Op.Linear(
              integer(a, "in", at), integer(a, "out", at), Boolean.TRUE.equals(a.get("bias")));
      case "Unary" ->
          new Op.Unary(
              Activation.of(
                  enumOf(Activation.Kind.class, str(a, "fn", at), at),
                  a.containsKey("alpha") ? number(a.get("alpha"), at).floatValue() : 0f,
                  a.containsKey("beta") ? number(a.get("beta"), at).floatValue() : 0f));
      case "Softmax" -> new Op.Softmax(integer(a, "axis", at), Boolean.TRUE.equals(a.get("log")));
      case "Binary" -> new Op.Binary(enumOf(Arith.class, str(a, "fn", at), at));
      case "Concat" -> new Op.Concat(integer(a, "axis", at));
      case "LastStep" -> new Op.LastStep(Boolean.TRUE.equals(a.get("batchFirst")));
      case "RecurrentLayer" ->
          new Op.RecurrentLayer(spec(object(a.get("spec"), at), at), integer(a, "inputSize", at));
      case "Constant" -> new Op.Constant(constant(a, constants, at));
      case "Shape" -> new DataOp.Shape(integer(a, "start", at), integer(a, "end", at));
      case "Gather" -> new DataOp.Gather(integer(a, "axis", at));
      case "Transpose" -> new DataOp.Transpose(ints(a.get("perm"), at));
      case "Reshape" -> new DataOp.Reshape(Boolean.TRUE.equals(a.get("allowZero")));
      case "Squeeze" -> new DataOp.Squeeze(ints(a.get("axes"), at));
      case "Unsqueeze" -> new DataOp.Unsqueeze(ints(a.get("axes"), at));
      case "Slice" -> new DataOp.Slice();
      case "ConstantOfShape" -> new DataOp.ConstantOfShape(constant(a, constants, at));
      case "Expand" -> new DataOp.Expand();
      case "Cast" -> new DataOp.Cast(enumOf(DType.class, str(a, "to", at), at));
      case "Identity" -> new DataOp.Identity();
      case "Flatten" -> new DataOp.Flatten(integer(a, "axis", at));
      case "MatMul" -> new DataOp.MatMul();
      default -> throw new ModelFormatException(at + ": unknown op '" + kind + "'");
    };
  }

  /** A dynamic dimension by name; {@code ?} is a derived one. */
  static Dim dim(String name) {
    return name.equals("?") ? Dim.derived() : Dim.dyn(name);
  }

  private static Const constant(Map<String, Object> a, Map<String, Const> constants, String at) {
    Map<String, Object> m = object(a.get("value"), at);
    int[] shape = ints(m.get("shape"), at);
    if (shape == null) {
      throw new ModelFormatException(at + ": constant without a shape");
    }
    if (m.get("longs") instanceof List<?> l) {
      long[] v = new long[l.size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = number(l.get(i), at).longValue();
      }
      return Const.longs(v, shape);
    }
    String name = str(m, "tensor", at);
    Const c = constants.get(name);
    if (c == null) {
      throw new ModelFormatException(at + ": constant tensor '" + name + "' is missing");
    }
    if (!java.util.Arrays.equals(c.shape(), shape)) {
      throw new ModelFormatException(
          at
              + ": constant tensor '"
              + name
              + "' has shape "
              + java.util.Arrays.toString(c.shape())
              + ", the graph says "
              + java.util.Arrays.toString(shape));
    }
    return c;
  }

  private static int[] ints(Object o, String at) {
    if (o == null) {
      return null;
    }
    if (!(o instanceof List<?> l)) {
      throw new ModelFormatException(at + ": expected a list of integers");
    }
    int[] v = new int[l.size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = Math.toIntExact(number(l.get(i), at).longValue());
    }
    return v;
  }

  private static <E extends Enum<E>> E enumOf(Class<E> c, String v, String at) {
    try {
      return Enum.valueOf(c, v.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(at + ": '" + v + "' is not a " + c.getSimpleName());
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> object(Object o, String at) {
    if (!(o instanceof Map)) {
      throw new ModelFormatException(at + ": expected a JSON object");
    }
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Map<String, Object> m, String key, String at) {
    if (!(m.get(key) instanceof List)) {
      throw new ModelFormatException(at + ": '" + key + "' must be a list");
    }
    return (List<Object>) m.get(key);
  }

  static String str(Map<String, Object> m, String key, String at) {
    if (!(m.get(key) instanceof String s)) {
      throw new ModelFormatException(at + ": '" + key + "' must be a string");
    }
    return s;
  }

  static int integer(Map<String, Object> m, String key, String at) {
    if (!(m.get(key) instanceof Long l) || l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
      throw new ModelFormatException(at + ": '" + key + "' must be an integer");
    }
    return (int) (long) l;
  }

  static Number number(Object o, String at) {
    if (!(o instanceof Number n)) {
      throw new ModelFormatException(at + ": expected a number, got " + o);
    }
    return n;
  }
}
