package dev.jrnn.exec;

import dev.jrnn.Dim;
import dev.jrnn.Tensor;
import dev.jrnn.ir.IrGraph;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.TensorType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/** The checks of a call's tensors that every backend relies on, each naming what is wrong. */
final class Checks {

  private Checks() {}

  /** Sizes bound to named dynamic dimensions so far, and the input that bound each. */
  static final class Dims {
    private final Map<String, Integer> bound = new HashMap<>();
    private final Map<String, String> boundBy = new HashMap<>();
  }

  static void noUnknownInputs(Map<String, Tensor> inputs, IrGraph graph, String[] names) {
    for (String k : inputs.keySet()) {
      if (!graph.inputValues().containsKey(k)) {
        throw new IllegalArgumentException(
            "unknown input '" + k + "'; inputs: " + String.join(", ", names));
      }
    }
  }

  /** Input {@code name} against its declaration {@code decl}: present, open, type, rank, dims. */
  static void input(String name, TensorType decl, Tensor t, String[] names, Dims dims) {
    if (t == null) {
      throw new IllegalArgumentException(
          "missing input '" + name + "' " + decl + "; inputs: " + String.join(", ", names));
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
      } else if (!d.isDerived()) {
        Integer b = dims.bound.putIfAbsent(d.name(), actual);
        if (b == null) {
          dims.boundBy.put(d.name(), name);
        } else if (b != actual) {
          throw new IllegalArgumentException(
              "dimension '"
                  + d.name()
                  + "' is "
                  + b
                  + " in input '"
                  + dims.boundBy.get(d.name())
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
  }

  /** Sequence lengths must lie in [1, T]; checked here once for every backend. */
  static void lengths(Node n, Tensor[] ins) {
    int lenSlot;
    int t;
    if (n.op() instanceof Op.RecurrentLayer r) {
      lenSlot = Op.RecurrentLayer.LENGTHS;
      t = ins[Op.RecurrentLayer.X].dim(r.spec().isBatchFirst() ? 1 : 0);
    } else if (n.op() instanceof Op.LastStep ls) {
      lenSlot = Op.LastStep.LENGTHS;
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
      int v = s.getAtIndex(ValueLayout.JAVA_INT, i);
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
}
