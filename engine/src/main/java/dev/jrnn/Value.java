package dev.jrnn;

import dev.jrnn.spi.Const;
import dev.jrnn.spi.Op;
import dev.jrnn.spi.TensorType;
import java.util.List;

/**
 * A symbolic tensor in a {@link Graph}: output {@link #index()} of a {@link Node}. Returned by the
 * builder's methods and passed to later ones.
 */
public final class Value {

  private final Node node;
  private final int index;
  private final TensorType type;

  Value(Node node, int index, TensorType type) {
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

  public DType dtype() {
    return type.dtype();
  }

  public List<Dim> dims() {
    return type.dims();
  }

  /** The value when this is a graph constant, else null. */
  public Const constant() {
    return node.op() instanceof Op.Constant c ? c.value() : null;
  }

  /** Another output of the same node. */
  public Value output(int i) {
    return node.output(i);
  }

  /** The final hidden state {@code [L·D, N, Hout]} of the recurrent layer that made this value. */
  public Value finalH() {
    requireRecurrent("finalH");
    return node.output(Op.RecurrentLayer.HN);
  }

  /** The final cell state {@code [L·D, N, H]} of the LSTM that made this value. */
  public Value finalC() {
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

  /** {@code node} or {@code node:i}, as used in messages. */
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
