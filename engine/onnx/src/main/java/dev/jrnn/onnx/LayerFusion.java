package dev.jrnn.onnx;

import dev.jrnn.DType;
import dev.jrnn.Dim;
import dev.jrnn.ir.Const;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.IrValue;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.Arith;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Ops on a constant weight become jrnn layers with canonical weights: MatMul (with the Add of a
 * bias after it, as PyTorch exports {@code nn.Linear} on 3-D input) and Gemm into Linear, Gather
 * from a 2-D float table into Embedding. Otherwise they stay general ops (MatMul, Mul, Add,
 * Gather).
 */
final class LayerFusion {

  private final ImportContext ctx;
  private final Map<String, List<OnnxProto.Node>> readers; // value -> its readers (null: output)
  private final Map<OnnxProto.Node, IrValue> fused = new IdentityHashMap<>();

  LayerFusion(ImportContext ctx, Map<String, List<OnnxProto.Node>> readers) {
    this.ctx = ctx;
    this.readers = readers;
  }

  /** The Linear that already includes {@code n} (a bias Add), or null; each is taken once. */
  IrValue takeFused(OnnxProto.Node n) {
    return fused.remove(n);
  }

  void gather(OnnxProto.Node n, String name) {
    int axis = Attributes.int32Value(n, "axis", 0);
    String dataName = n.inputs().get(0);
    OnnxProto.TensorData table = ctx.initializer(dataName);
    IrValue indices = ctx.in(n, 1);
    if (table != null
        && table.dims().length == 2
        && axis == 0
        && table.floats() != null
        && indices.constant() == null) {
      // An embedding lookup: the table becomes a weight.
      Const t = ctx.constant(table);
      String node = ctx.fresh(name);
      ctx.putWeight(node + ".weight", t);
      ctx.define(n, 0, ctx.b.embedding(node, indices, t.shape()[0], t.shape()[1]));
      return;
    }
    ctx.define(n, 0, ctx.b.node(name, new DataOp.Gather(axis), ctx.in(n, 0), indices)[0]);
  }

  void matmul(OnnxProto.Node n, String name) {
    OnnxProto.TensorData w = ctx.initializer(n.inputs().get(1));
    IrValue a = ctx.in(n, 0);
    if (w != null && w.dims().length == 2 && w.floats() != null && !a.dims().isEmpty()) {
      Const bc = ctx.constant(w); // [in, out]: the Linear weight is its transpose
      requireFeatures(a, bc.shape()[0], "B");
      int out = bc.shape()[1];
      ctx.putWeight(name + ".weight", OnnxTypes.transpose2(bc));
      OnnxProto.Node add = biasAdd(n, out, a.dims().size());
      if (add != null) { // PyTorch's nn.Linear on 3-D input exports MatMul + Add(bias)
        ctx.putWeight(name + ".bias", Const.floats(biasOf(add, n).floats(), out));
        IrValue y = ctx.b.linear(name, a, out, true);
        fused.put(add, y);
        ctx.define(n, 0, y);
        return;
      }
      ctx.define(n, 0, ctx.b.linear(name, a, out, false));
      return;
    }
    ctx.define(n, 0, ctx.b.node(name, new DataOp.MatMul(), a, ctx.in(n, 1))[0]);
  }

  /**
   * The Add that is the only reader of MatMul {@code mm}'s output and adds a constant bias of
   * {@code out} floats along the last axis (shape {@code [out]} or {@code [1, …, 1, out]}, rank at
   * most {@code rank}), or null.
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
    OnnxProto.TensorData t = ctx.initializer(other);
    if (t != null) {
      return t.floats() != null ? ctx.constant(t) : null;
    }
    IrValue v = ctx.made(other);
    return v == null ? null : v.constant();
  }

  /** A's last axis must hold the {@code in} features the constant weight expects. */
  private static void requireFeatures(IrValue a, int in, String weight) {
    Dim f = a.dims().isEmpty() ? null : a.dims().getLast();
    if (f == null || (f.isFixed() && f.size() != in)) {
      throw new IllegalArgumentException(
          "A is " + a.type() + " but " + weight + " expects " + in + " features on its last axis");
    }
  }

  void gemm(OnnxProto.Node n, String name) {
    float alpha = Attributes.floatValue(n, "alpha", 1f);
    float beta = Attributes.floatValue(n, "beta", 1f);
    boolean transA = Attributes.intValue(n, "transA", 0) == 1;
    boolean transB = Attributes.intValue(n, "transB", 0) == 1;
    IrValue a = ctx.in(n, 0);
    OnnxProto.TensorData bt = ctx.initializer(n.inputs().get(1));
    IrValue c = ctx.optional(n, 2);
    if (bt != null
        && bt.floats() != null
        && bt.dims().length == 2
        && !transA
        && (c == null || c.constant() != null)) {
      Const bc = ctx.constant(bt);
      if (bc.size() == 0) { // (the bias below is as long as B's rows, which may be huge then)
        throw new IllegalArgumentException(
            "B of shape " + Arrays.toString(bc.shape()) + " has no elements");
      }
      Const weight = transB ? bc : OnnxTypes.transpose2(bc); // Linear wants [out, in]
      requireFeatures(a, weight.shape()[1], "B");
      int out = weight.shape()[0];
      float[] wv = weight.floats().clone();
      for (int i = 0; i < wv.length; i++) {
        wv[i] *= alpha;
      }
      ctx.putWeight(name + ".weight", Const.floats(wv, weight.shape()));
      if (c != null) {
        Const cv = c.constant();
        if (cv.size() != out && cv.size() != 1) {
          throw new IllegalArgumentException(
              "Gemm bias C of shape "
                  + Arrays.toString(cv.shape())
                  + " is not supported with a constant B; expected ["
                  + out
                  + "] or a scalar");
        }
        float[] bias = new float[out];
        for (int i = 0; i < out; i++) {
          bias[i] = beta * (float) cv.doubleAt(cv.size() == 1 ? 0 : i);
        }
        ctx.putWeight(name + ".bias", Const.floats(bias, out));
      }
      ctx.define(n, 0, ctx.b.linear(name, a, out, c != null));
      return;
    }
    // General form: alpha·A'·B' + beta·C from MatMul, Mul and Add.
    IrValue av =
        transA
            ? ctx.b.node(ctx.fresh(name + "_ta"), new DataOp.Transpose(new int[] {1, 0}), a)[0]
            : a;
    IrValue bv = ctx.in(n, 1);
    if (transB) {
      bv = ctx.b.node(ctx.fresh(name + "_tb"), new DataOp.Transpose(new int[] {1, 0}), bv)[0];
    }
    IrValue y = ctx.b.node(ctx.fresh(name + "_mm"), new DataOp.MatMul(), av, bv)[0];
    if (alpha != 1f) {
      y =
          ctx.b
              .node(
                  ctx.fresh(name + "_alpha"),
                  new Op.Binary(Arith.MUL),
                  y,
                  ctx.b.constant(ctx.fresh(name + "_a"), Const.floats(new float[] {alpha})))[0];
    }
    if (c != null) {
      IrValue cc = c;
      if (beta != 1f) {
        cc =
            ctx.b
                .node(
                    ctx.fresh(name + "_beta"),
                    new Op.Binary(Arith.MUL),
                    c,
                    ctx.b.constant(ctx.fresh(name + "_b"), Const.floats(new float[] {beta})))[0];
      }
      y = ctx.b.node(name, new Op.Binary(Arith.ADD), y, cc)[0];
    }
    ctx.define(n, 0, y);
  }
}
