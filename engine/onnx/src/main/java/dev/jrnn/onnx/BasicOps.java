package dev.jrnn.onnx;

import dev.jrnn.Activation;
import dev.jrnn.ir.Const;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.IrValue;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.Arith;

/**
 * The ONNX operators that map one-to-one onto a jrnn op: constants, arithmetic, activations,
 * softmax, and the shape and data-movement ops exporters put around the network.
 */
final class BasicOps {

  private final ImportContext ctx;

  BasicOps(ImportContext ctx) {
    this.ctx = ctx;
  }

  /** Adds the jrnn op for {@code n} as node {@code name}; an unknown operator is an error. */
  void map(OnnxProto.Node n, String name) {
    switch (n.opType()) {
      case "Constant" -> ctx.define(n, 0, ctx.b.constant(name, constantAttr(n)));
      case "Identity" -> unary(n, name, new DataOp.Identity());
      case "Add" -> binary(n, name, Arith.ADD);
      case "Sub" -> binary(n, name, Arith.SUB);
      case "Mul" -> binary(n, name, Arith.MUL);
      case "Div" -> binary(n, name, Arith.DIV);
      case "Sigmoid" -> unary(n, name, new Op.Unary(Activation.SIGMOID));
      case "Tanh" -> unary(n, name, new Op.Unary(Activation.TANH));
      case "Relu" -> unary(n, name, new Op.Unary(Activation.RELU));
      case "Softmax", "LogSoftmax" -> softmax(n, name);
      case "Transpose" -> unary(n, name, new DataOp.Transpose(Attributes.intsValue(n, "perm")));
      case "Reshape" ->
          ctx.define(
              n,
              0,
              ctx.b
                  .node(
                      name,
                      new DataOp.Reshape(Attributes.intValue(n, "allowzero", 0) == 1),
                      ctx.in(n, 0),
                      ctx.in(n, 1))[0]);
      case "Squeeze" ->
          ctx.define(
              n,
              0,
              ctx.b
                  .node(
                      name,
                      new DataOp.Squeeze(Attributes.intsValue(n, "axes")),
                      ctx.in(n, 0),
                      ctx.optional(n, 1))[0]);
      case "Unsqueeze" ->
          ctx.define(
              n,
              0,
              ctx.b
                  .node(
                      name,
                      new DataOp.Unsqueeze(Attributes.intsValue(n, "axes")),
                      ctx.in(n, 0),
                      ctx.optional(n, 1))[0]);
      case "Concat" -> {
        IrValue[] ins = new IrValue[n.inputs().size()];
        for (int i = 0; i < ins.length; i++) {
          ins[i] = ctx.in(n, i);
        }
        ctx.define(
            n, 0, ctx.b.node(name, new Op.Concat(Attributes.int32Value(n, "axis", 0)), ins)[0]);
      }
      case "Slice" -> slice(n, name);
      case "Shape" ->
          unary(
              n,
              name,
              new DataOp.Shape(
                  Attributes.clampedIntValue(n, "start", 0),
                  Attributes.clampedIntValue(n, "end", DataOp.Shape.ALL)));
      case "ConstantOfShape" -> {
        OnnxProto.Attribute a = Attributes.get(n, "value", OnnxProto.ATTR_TENSOR);
        Const v = a == null ? Const.floats(new float[] {0f}, 1) : ctx.constant(a.t());
        unary(n, name, new DataOp.ConstantOfShape(v));
      }
      case "Expand" ->
          ctx.define(n, 0, ctx.b.node(name, new DataOp.Expand(), ctx.in(n, 0), ctx.in(n, 1))[0]);
      case "Cast" ->
          unary(
              n,
              name,
              new DataOp.Cast(OnnxTypes.dtype(Attributes.int32Value(n, "to", 1), "Cast 'to'")));
      case "Flatten" -> unary(n, name, new DataOp.Flatten(Attributes.int32Value(n, "axis", 1)));
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

  /** {@code op} on input 0 as output 0. */
  private void unary(OnnxProto.Node n, String name, Op op) {
    ctx.define(n, 0, ctx.b.node(name, op, ctx.in(n, 0))[0]);
  }

  private void binary(OnnxProto.Node n, String name, Arith fn) {
    ctx.define(n, 0, ctx.b.node(name, new Op.Binary(fn), ctx.in(n, 0), ctx.in(n, 1))[0]);
  }

  /** The value of a Constant node: its one {@code value*} attribute. */
  private Const constantAttr(OnnxProto.Node n) {
    if (n.attributes().size() != 1) {
      throw new IllegalArgumentException("Constant needs exactly one value attribute");
    }
    OnnxProto.Attribute a = n.attributes().values().iterator().next();
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
      Attributes.get(n, a.name(), type);
    }
    return switch (a.name()) {
      case "value" -> ctx.constant(a.t());
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

  private void softmax(OnnxProto.Node n, String name) {
    boolean log = n.opType().equals("LogSoftmax");
    IrValue x = ctx.in(n, 0);
    int rank = x.dims().size();
    int def = ctx.opset() >= 13 ? -1 : 1;
    int axis = Attributes.int32Value(n, "axis", def);
    int ax = axis < 0 ? axis + rank : axis;
    if (ctx.opset() < 13 && ax != rank - 1) {
      // Before opset 13 the op flattens from axis on; equal to ours only over the last axis.
      throw new IllegalArgumentException(
          n.opType()
              + " with opset "
              + ctx.opset()
              + " over axis "
              + axis
              + " of rank "
              + rank
              + " (coerced to 2-D) is not supported; only the last axis");
    }
    ctx.define(n, 0, ctx.b.node(name, new Op.Softmax(axis, log), x)[0]);
  }

  private void slice(OnnxProto.Node n, String name) {
    IrValue data = ctx.in(n, 0);
    if (ctx.opset() < 10) { // starts, ends, axes as attributes
      int[] starts = Attributes.intsValue(n, "starts");
      int[] ends = Attributes.intsValue(n, "ends");
      int[] axes = Attributes.intsValue(n, "axes");
      if (starts == null || ends == null) {
        throw new IllegalArgumentException("Slice-1 needs starts and ends");
      }
      IrValue s =
          ctx.b.constant(ctx.fresh(name + "_starts"), Const.vector(OnnxTypes.toLongs(starts)));
      IrValue e = ctx.b.constant(ctx.fresh(name + "_ends"), Const.vector(OnnxTypes.toLongs(ends)));
      IrValue a =
          axes == null
              ? null
              : ctx.b.constant(ctx.fresh(name + "_axes"), Const.vector(OnnxTypes.toLongs(axes)));
      ctx.define(n, 0, ctx.b.node(name, new DataOp.Slice(), data, s, e, a, null)[0]);
      return;
    }
    ctx.define(
        n,
        0,
        ctx.b
            .node(
                name,
                new DataOp.Slice(),
                data,
                ctx.in(n, 1),
                ctx.in(n, 2),
                ctx.optional(n, 3),
                ctx.optional(n, 4))[0]);
  }
}
