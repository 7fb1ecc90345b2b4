package dev.jrnn.onnx;

import dev.jrnn.DType;
import dev.jrnn.Recurrent;
import dev.jrnn.Weights;
import dev.jrnn.ir.Const;
import dev.jrnn.ir.Op;
import java.util.Arrays;

/**
 * A recurrent node's ONNX {@code W}, {@code R}, {@code B} and {@code P} as canonical per-direction
 * weights, gate blocks reordered (ONNX LSTM i, o, f, c to i, f, g, o; P i, o, f to i, f, o) and B
 * split into {@code bW} and {@code bR}: converted now for initializers, recorded as a {@link
 * WeightInput} for graph inputs.
 */
final class RecurrentWeights {

  private final ImportContext ctx;

  RecurrentWeights(ImportContext ctx) {
    this.ctx = ctx;
  }

  /**
   * The most elements one direction of W or R may have: what a Java array holds. Weight inputs are
   * declared graph inputs, so their dims (and {@code hidden_size}) come from the model, not from
   * data it holds; the check keeps the sizes computed from them (B's, P's) in int range too.
   */
  static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

  /** Canonical weights from W, R, B, P: now for initializers, when bound for weight inputs. */
  void convert(
      OnnxProto.Node n,
      String node,
      Recurrent spec,
      Recurrent.Cell cell,
      int h,
      int in,
      int dirs,
      boolean peep) {
    int g = cell.gates();
    requireArray("W", g, h, in);
    requireArray("R", g, h, h);
    // ONNX gate blocks in canonical order: LSTM iofc -> i, f, g(c), o; GRU and RNN as they are.
    int[] order = cell == Recurrent.Cell.LSTM ? new int[] {0, 2, 3, 1} : identity(g);
    Op.RecurrentLayer layer = new Op.RecurrentLayer(spec, in);
    WeightInput.Conversion w = gateMatrix(layer, node, "W", dirs, g, h, in, order);
    WeightInput.Conversion r = gateMatrix(layer, node, "R", dirs, g, h, h, order);
    WeightInput.Conversion bias =
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
      applyNow(bias, null); // no B: zero biases
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

  /** ONNX {@code W} or {@code R} {@code [dirs, G·H, cols]} to canonical per-direction matrices. */
  private static WeightInput.Conversion gateMatrix(
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

  /** One direction of W or R, {@code [g·h, cols]}, must fit a Java array. */
  private static void requireArray(String what, int g, int h, int cols) {
    long rows = (long) g * h;
    if (cols > 0 && rows > MAX_ELEMENTS / cols) {
      throw new IllegalArgumentException(
          what
              + " of "
              + rows
              + " x "
              + cols
              + " per direction has more elements than a Java array holds ("
              + MAX_ELEMENTS
              + ")");
    }
  }

  /** Applies {@code c} to input {@code i} now (initializer) or records it as a weight input. */
  private void bind(OnnxProto.Node n, int i, WeightInput.Conversion c) {
    String name = n.inputs().get(i);
    OnnxProto.TensorData t = ctx.initializer(name);
    if (t != null) {
      applyNow(c, ctx.constant(t));
    } else if (ctx.declaredInput(name) != null) {
      ctx.addWeightInput(new WeightInput(name, c));
    } else {
      throw new IllegalArgumentException(
          "input '" + name + "' must be an initializer or a graph input");
    }
  }

  /** Runs {@code c} on a value known now and keeps the canonical weights it writes. */
  private void applyNow(WeightInput.Conversion c, Const value) {
    Weights tmp = Weights.empty();
    try {
      c.apply(value, tmp);
      for (String k : tmp.names()) {
        ctx.putWeight(k, Const.of(tmp.get(k)));
      }
    } finally {
      tmp.close();
    }
  }

  private static void checkShape(Const v, String what, int... dims) {
    if (!Arrays.equals(v.shape(), dims)) {
      throw new IllegalArgumentException(
          what
              + " must have shape "
              + Arrays.toString(dims)
              + ", got "
              + Arrays.toString(v.shape()));
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
}
