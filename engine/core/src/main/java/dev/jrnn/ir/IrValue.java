package dev.jrnn.ir;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.Value;
import java.util.List;

/** Output {@link #index()} of a {@link Node}: the IR side of a public {@link Value}. */
public final class IrValue implements Value {

  private final Node node;
  private final int index;
  private final TensorType type;

  IrValue(Node node, int index, TensorType type) {
    this.node = node;
    this.index = index;
    this.type = type;
  }

  /** The node that produces this value. */
  public Node node() {
    return node;
  }

  /** Which output of its node this is. */
  public int index() {
    return index;
  }

  /** Element type and symbolic shape. */
  public TensorType type() {
    return type;
  }

  @Override
  public DType dtype() {
    return type.dtype();
  }

  @Override
  public List<Dim> dims() {
    return type.dims();
  }

  /** The value when this is a graph constant, else null. */
  public Const constant() {
    return node.op() instanceof Op.Constant c ? c.value() : null;
  }

  /** Another output of the same node. */
  public IrValue output(int i) {
    return node.output(i);
  }

  @Override
  public IrValue finalH() {
    requireRecurrent("finalH");
    return node.output(Op.RecurrentLayer.HN);
  }

  @Override
  public IrValue finalC() {
    requireRecurrent("finalC");
    if (node.outputs().size() <= Op.RecurrentLayer.CN) {
      throw new IllegalArgumentException(
          "finalC: node '"
              + node.name()
              + "' is "
              + node.op().kind()
              + ", only LSTM has a cell state");
    }
    return node.output(Op.RecurrentLayer.CN);
  }

  private void requireRecurrent(String what) {
    if (!(node.op() instanceof Op.RecurrentLayer)) {
      throw new IllegalArgumentException(
          what + ": node '" + node.name() + "' is " + node.op().kind() + ", not a recurrent layer");
    }
  }

  @Override
  public String name() {
    if (node.op() instanceof Op.Input in) {
      return in.name();
    }
    return index == 0 ? node.name() : node.name() + ":" + index;
  }

  @Override
  public String toString() {
    return name() + " " + type;
  }
}
