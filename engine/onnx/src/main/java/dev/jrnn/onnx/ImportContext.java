package dev.jrnn.onnx;

import dev.jrnn.ir.Const;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.IrValue;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What an import has made so far: the jrnn graph being built, the jrnn value of each ONNX value
 * name, the canonical weights and weight inputs collected, and the node names in use. The op
 * mappings read and extend it.
 */
final class ImportContext {

  final OnnxProto.Model model;
  final String where;
  final IrGraph.Builder b = IrGraph.builder();
  private final Map<String, IrValue> values = new HashMap<>(); // ONNX value name -> jrnn value
  private final Map<String, OnnxProto.TensorData> initializers = new LinkedHashMap<>();
  private final Map<String, OnnxProto.ValueInfo> declaredInputs = new LinkedHashMap<>();
  private final Map<String, Const> weights = new LinkedHashMap<>();
  private final List<WeightInput> weightInputs = new ArrayList<>();
  private final Set<String> usedNames = new HashSet<>();

  ImportContext(OnnxProto.Model model, String where) {
    this.model = model;
    this.where = where;
    for (OnnxProto.TensorData t : model.graph().initializers()) {
      initializers.put(t.name(), t);
    }
  }

  long opset() {
    return model.opset();
  }

  /** The initializer called {@code name}, or null. */
  OnnxProto.TensorData initializer(String name) {
    return initializers.get(name);
  }

  Set<String> initializerNames() {
    return initializers.keySet();
  }

  /**
   * Declares ONNX graph input {@code in}; unless it only carries weights, it becomes a jrnn input.
   */
  void declareInput(OnnxProto.ValueInfo in, boolean weightOnly) {
    declaredInputs.put(in.name(), in);
    usedNames.add(in.name());
    if (!weightOnly) {
      values.put(
          in.name(),
          b.input(
              in.name(),
              OnnxTypes.dtype(in.elemType(), "input '" + in.name() + "'"),
              OnnxTypes.dims(in, where)));
    }
  }

  /** The declaration of graph input {@code name} (not an initializer), or null. */
  OnnxProto.ValueInfo declaredInput(String name) {
    return declaredInputs.get(name);
  }

  /** The jrnn value of an ONNX value name (constants for initializers). */
  IrValue value(String name, String what) {
    IrValue v = values.get(name);
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

  /** The jrnn value already made for {@code name}, or null (initializers are not made here). */
  IrValue made(String name) {
    return values.get(name);
  }

  /** Input {@code i} of {@code n}, which must be present. */
  IrValue in(OnnxProto.Node n, int i) {
    if (i >= n.inputs().size() || n.inputs().get(i).isEmpty()) {
      throw new IllegalArgumentException("input " + i + " is required");
    }
    return value(n.inputs().get(i), "input " + i);
  }

  /** Optional input {@code i} of {@code n}, or null when absent or empty. */
  IrValue optional(OnnxProto.Node n, int i) {
    return i < n.inputs().size() && !n.inputs().get(i).isEmpty()
        ? value(n.inputs().get(i), "input")
        : null;
  }

  /** Binds output {@code output} of {@code n} (unless absent or empty) to {@code v}. */
  void define(OnnxProto.Node n, int output, IrValue v) {
    if (output < n.outputs().size() && !n.outputs().get(output).isEmpty()) {
      values.put(n.outputs().get(output), v);
    }
  }

  /** A unique jrnn node name derived from {@code base}. */
  String fresh(String base) {
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

  Const constant(OnnxProto.TensorData t) {
    return OnnxTypes.constant(t, where);
  }

  /** Records canonical weight {@code name}, known now. */
  void putWeight(String name, Const value) {
    weights.put(name, value);
  }

  /** Records a weight input, bound when the caller gives its value. */
  void addWeightInput(WeightInput in) {
    weightInputs.add(in);
  }

  /** The model, once every node is translated and the outputs declared. */
  OnnxModel finish() {
    return new OnnxModel(b.build(), weights, weightInputs, model.opset());
  }
}
