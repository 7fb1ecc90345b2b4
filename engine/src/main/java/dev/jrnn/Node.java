package dev.jrnn;

import dev.jrnn.spi.Op;
import dev.jrnn.spi.TensorType;
import dev.jrnn.spi.WeightSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/** One operation in a {@link Graph}: an {@link Op}, its inputs and its outputs. Immutable. */
public final class Node {

  private final int id;
  private final String name;
  private final Op op;
  private final Value[] inputs; // null entries: absent optional inputs
  private final List<Value> outputs;
  private final List<WeightSpec> weights;

  Node(int id, String name, Op op, Value[] inputs, TensorType[] outputTypes) {
    this.id = id;
    this.name = name;
    this.op = op;
    this.inputs = inputs.clone();
    List<Value> outs = new ArrayList<>(outputTypes.length);
    for (int i = 0; i < outputTypes.length; i++) {
      outs.add(new Value(this, i, outputTypes[i]));
    }
    this.outputs = Collections.unmodifiableList(outs);
    this.weights = List.copyOf(op.weights(name, inputTypes(inputs)));
  }

  static TensorType[] inputTypes(Value[] inputs) {
    TensorType[] t = new TensorType[inputs.length];
    for (int i = 0; i < inputs.length; i++) {
      t[i] = inputs[i] == null ? null : inputs[i].type();
    }
    return t;
  }

  /** Position in the graph's topological order. */
  public int id() {
    return id;
  }

  public String name() {
    return name;
  }

  public Op op() {
    return op;
  }

  public int inputCount() {
    return inputs.length;
  }

  /** Input {@code i}, or null when an optional input is absent. */
  public Value input(int i) {
    return i < inputs.length ? inputs[i] : null;
  }

  /** Inputs in order; absent optional inputs are null. */
  public List<Value> inputs() {
    return Collections.unmodifiableList(Arrays.asList(inputs));
  }

  public List<Value> outputs() {
    return outputs;
  }

  public Value output(int i) {
    if (i < 0 || i >= outputs.size()) {
      throw new IndexOutOfBoundsException(
          "node '" + name + "' has " + outputs.size() + " outputs, asked for " + i);
    }
    return outputs.get(i);
  }

  /** The weights this node reads, with their shapes. */
  public List<WeightSpec> weights() {
    return weights;
  }

  @Override
  public String toString() {
    return name + " (" + op.kind() + ")";
  }
}
