package dev.jrnn.ir;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/** One operation in an {@link IrGraph}: an {@link Op}, its inputs and its outputs. Immutable. */
public final class Node {

  private final int id;
  private final String name;
  private final Op op;
  private final IrValue[] inputs; // null entries: absent optional inputs
  private final List<IrValue> outputs;
  private final List<WeightSpec> weights;

  Node(int id, String name, Op op, IrValue[] inputs, TensorType[] outputTypes) {
    this.id = id;
    this.name = name;
    this.op = op;
    this.inputs = inputs.clone();
    List<IrValue> outs = new ArrayList<>(outputTypes.length);
    for (int i = 0; i < outputTypes.length; i++) {
      outs.add(new IrValue(this, i, outputTypes[i]));
    }
    this.outputs = Collections.unmodifiableList(outs);
    this.weights = List.copyOf(op.weights(name, inputTypes(inputs)));
  }

  static TensorType[] inputTypes(IrValue[] inputs) {
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

  /** Unique within the graph; the prefix of the node's weight names. */
  public String name() {
    return name;
  }

  /** What the node computes. */
  public Op op() {
    return op;
  }

  /** Number of input slots, absent optional ones included. */
  public int inputCount() {
    return inputs.length;
  }

  /** Input {@code i}, or null when an optional input is absent. */
  public IrValue input(int i) {
    return i < inputs.length ? inputs[i] : null;
  }

  /** Inputs in order; absent optional inputs are null. */
  public List<IrValue> inputs() {
    return Collections.unmodifiableList(Arrays.asList(inputs));
  }

  /** Outputs in order. */
  public List<IrValue> outputs() {
    return outputs;
  }

  /** Output {@code i}. */
  public IrValue output(int i) {
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
