package dev.jrnn.backend.reference;

import dev.jrnn.Activation;
import dev.jrnn.Tensor;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.kernels.DropoutMask;
import dev.jrnn.spi.DropoutStreams;
import dev.jrnn.spi.ExecContext;
import dev.jrnn.spi.FoldKernel;
import dev.jrnn.spi.TrainableNode;
import java.util.Map;

/**
 * The reference backward passes, in double precision and plain loops: the gradients every other
 * backend is checked against. The recurrent stack records its forward on a {@link Tape} and walks
 * it back; the other ops run their forward and backward from {@link OpMath}; arithmetic, concat and
 * the data-movement ops go through {@link FoldKernel} and {@code FoldBackward}, in double inside.
 */
final class ReferenceTraining {

  private ReferenceTraining() {}

  static TrainableNode compile(Node node, Map<String, Tensor> weights) {
    String name = node.name();
    return switch (node.op()) {
      case Op.Embedding e -> new Embedding(e, node, weights);
      case Op.Linear l -> new Linear(l, name, weights);
      case Op.Unary u -> new Unary(u.fn());
      case Op.Softmax s -> new Softmax(s);
      case Op.LastStep l -> new LastStep(l);
      case Op.Dropout d -> new Dropout(d, name);
      case Op.RecurrentLayer r -> new Recurrent(new ReferenceRecurrent(r, name, weights));
      case Op.Binary b -> new FoldKernel(b);
      case Op.Concat c -> new FoldKernel(c);
      case DataOp d -> new FoldKernel(d);
      case Op.Input i -> throw new IllegalArgumentException("inputs are not compiled");
      case Op.Constant c -> throw new IllegalArgumentException("constants are not trained");
    };
  }

  /** A node whose forward is the inference kernel and whose backward needs no saved state. */
  private abstract static class Stateless implements TrainableNode {
    @Override
    public Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx) {
      run(in, out, ctx);
      return null;
    }

    @Override
    public void updateWeights(Map<String, Tensor> weights) {}
  }

  /** Adds {@code g} into the tensor {@code into} (a weight gradient), if wanted. */
  static void addInto(Tensor into, double[] g) {
    if (into == null) {
      return;
    }
    float[] v = into.toFloatArray();
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (v[i] + g[i]);
    }
    into.copyFrom(v);
  }

  static void write(Tensor into, double[] g) {
    ReferenceBackend.write(into, g);
  }

  private static double[] doubles(Tensor t) {
    return ReferenceBackend.doubles(t);
  }

  /** A gradient buffer for {@code t}'s gradient, or null when it is not wanted. */
  private static double[] zerosFor(Tensor t) {
    return t == null ? null : new double[Math.toIntExact(t.size())];
  }

  private static final class Embedding extends Stateless {
    private final Op.Embedding op;
    private final Node node;
    private final String weight;
    private double[] table;

    Embedding(Op.Embedding op, Node node, Map<String, Tensor> weights) {
      this.op = op;
      this.node = node;
      this.weight = node.name() + ".weight";
      updateWeights(weights);
    }

    @Override
    public void updateWeights(Map<String, Tensor> weights) {
      table = doubles(weights.get(weight));
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      ReferenceBackend.embedding(op, table, node).run(in, out, ctx);
    }

    @Override
    public void backward(
        Saved s,
        Tensor[] in,
        Tensor[] out,
        Tensor[] gradOut,
        Tensor[] gradIn,
        Map<String, Tensor> gw,
        ExecContext ctx) {
      double[] dt = new double[table.length];
      OpMath.embeddingBackward(in[0].toIntArray(), doubles(gradOut[0]), op.dim(), dt);
      addInto(gw.get(weight), dt);
    }
  }

  private static final class Linear extends Stateless {
    private final Op.Linear op;
    private final String name;
    private double[] w; // [out, in]
    private double[] b; // [out] or null

    Linear(Op.Linear op, String name, Map<String, Tensor> weights) {
      this.op = op;
      this.name = name;
      updateWeights(weights);
    }

    @Override
    public void updateWeights(Map<String, Tensor> weights) {
      w = doubles(weights.get(name + ".weight"));
      b = op.bias() ? doubles(weights.get(name + ".bias")) : null;
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      ReferenceBackend.linear(op, w, b).run(in, out, ctx);
    }

    @Override
    public void backward(
        Saved s,
        Tensor[] in,
        Tensor[] out,
        Tensor[] gradOut,
        Tensor[] gradIn,
        Map<String, Tensor> gw,
        ExecContext ctx) {
      double[] dx = zerosFor(gradIn[0]);
      double[] dw = new double[w.length];
      double[] db = new double[op.out()];
      OpMath.linearBackward(doubles(in[0]), w, doubles(gradOut[0]), op.in(), op.out(), dx, dw, db);
      write(gradIn[0], dx);
      addInto(gw.get(name + ".weight"), dw);
      if (b != null) {
        addInto(gw.get(name + ".bias"), db);
      }
    }
  }

  private static final class Unary extends Stateless {
    private final Activation fn;

    Unary(Activation fn) {
      this.fn = fn;
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      ReferenceBackend.unary(fn, in[0], out[0]);
    }

    @Override
    public void backward(
        Saved s,
        Tensor[] in,
        Tensor[] out,
        Tensor[] gradOut,
        Tensor[] gradIn,
        Map<String, Tensor> gw,
        ExecContext ctx) {
      if (gradIn[0] == null) {
        return; // the input is a constant
      }
      double[] dx = zerosFor(gradIn[0]);
      OpMath.unaryBackward(fn, doubles(in[0]), doubles(gradOut[0]), dx);
      write(gradIn[0], dx);
    }
  }

  private static final class Softmax extends Stateless {
    private final Op.Softmax op;

    Softmax(Op.Softmax op) {
      this.op = op;
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      ReferenceBackend.softmax(op, in[0], out[0]);
    }

    /** From the forward's output computed again in double, not from its rounded f32 copy. */
    @Override
    public void backward(
        Saved s,
        Tensor[] in,
        Tensor[] out,
        Tensor[] gradOut,
        Tensor[] gradIn,
        Map<String, Tensor> gw,
        ExecContext ctx) {
      if (gradIn[0] == null) {
        return; // the input is a constant
      }
      int[] shape = in[0].shape();
      double[] y = OpMath.softmax(shape, op.axis(), op.log(), doubles(in[0]));
      double[] dx = zerosFor(gradIn[0]);
      OpMath.softmaxBackward(shape, op.axis(), op.log(), y, doubles(gradOut[0]), dx);
      write(gradIn[0], dx);
    }
  }

  private static final class LastStep extends Stateless {
    private final Op.LastStep op;

    LastStep(Op.LastStep op) {
      this.op = op;
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      ReferenceBackend.lastStep(op.batchFirst(), in[0], in[1], out[0]);
    }

    @Override
    public void backward(
        Saved s,
        Tensor[] in,
        Tensor[] out,
        Tensor[] gradOut,
        Tensor[] gradIn,
        Map<String, Tensor> gw,
        ExecContext ctx) {
      if (gradIn[0] == null) {
        return; // the input is a constant
      }
      int[] len = in.length > 1 && in[1] != null ? in[1].toIntArray() : null;
      double[] dx = zerosFor(gradIn[0]);
      OpMath.lastStepBackward(op.batchFirst(), in[0].shape(), len, doubles(gradOut[0]), dx);
      write(gradIn[0], dx);
    }
  }

  /** Draws the mask in training forward, keeps it for backward: dx = dy ⊙ mask. */
  private static final class Dropout implements TrainableNode {
    private final Op.Dropout op;
    private final String name;

    Dropout(Op.Dropout op, String name) {
      this.op = op;
      this.name = name;
    }

    private record Mask(float[] values) implements Saved {
      @Override
      public void close() {}
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      out[0].copyFrom(in[0]);
    }

    @Override
    public Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx) {
      float[] m = new float[Math.toIntExact(in[0].size())];
      DropoutMask.fill(DropoutStreams.node(ctx, name), op.p(), 0, m, 0, m.length);
      write(out[0], OpMath.dropout(doubles(in[0]), m));
      return new Mask(m);
    }

    @Override
    public void backward(
        Saved saved,
        Tensor[] in,
        Tensor[] out,
        Tensor[] gradOut,
        Tensor[] gradIn,
        Map<String, Tensor> gw,
        ExecContext ctx) {
      if (gradIn[0] == null) {
        return; // the input is a constant
      }
      double[] dx = zerosFor(gradIn[0]);
      OpMath.dropoutBackward(((Mask) saved).values(), doubles(gradOut[0]), dx);
      write(gradIn[0], dx);
    }

    @Override
    public void updateWeights(Map<String, Tensor> weights) {}
  }

  /** The stack, traced on a tape in training forward; the tape is what backward needs. */
  private static final class Recurrent implements TrainableNode {
    private final ReferenceRecurrent stack;

    Recurrent(ReferenceRecurrent stack) {
      this.stack = stack;
    }

    private record Traced(Tape tape, ReferenceRecurrent.Trace trace) implements Saved {
      @Override
      public void close() {}
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      Tape t = new Tape(false);
      ReferenceRecurrent.write(t, stack.trace(t, in), out);
    }

    @Override
    public Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx) {
      Tape t = new Tape(true);
      ReferenceRecurrent.Trace tr =
          stack.trace(t, in, true, DropoutStreams.node(ctx, stack.node()));
      ReferenceRecurrent.write(t, tr, out);
      return new Traced(t, tr);
    }

    @Override
    public void backward(
        Saved saved,
        Tensor[] in,
        Tensor[] out,
        Tensor[] gradOut,
        Tensor[] gradIn,
        Map<String, Tensor> gw,
        ExecContext ctx) {
      Traced s = (Traced) saved;
      Tape t = s.tape();
      ReferenceRecurrent.Trace tr = s.trace();
      seed(t, tr.y, gradOut, Op.RecurrentLayer.Y);
      seed(t, tr.hN, gradOut, Op.RecurrentLayer.HN);
      seed(t, tr.cN, gradOut, Op.RecurrentLayer.CN);
      t.backward();
      adjoints(t, tr.x, gradIn, Op.RecurrentLayer.X);
      adjoints(t, tr.h0, gradIn, Op.RecurrentLayer.H0);
      adjoints(t, tr.c0, gradIn, Op.RecurrentLayer.C0);
      tr.weights.forEach(
          (k, ids) -> {
            double[] g = new double[ids.length];
            for (int i = 0; i < ids.length; i++) {
              g[i] = t.adj(ids[i]);
            }
            addInto(gw.get(k), g);
          });
    }

    private static void seed(Tape t, int[] ids, Tensor[] gradOut, int slot) {
      if (slot >= gradOut.length || gradOut[slot] == null) {
        return;
      }
      float[] g = gradOut[slot].toFloatArray();
      for (int i = 0; i < ids.length; i++) {
        t.seed(ids[i], g[i]);
      }
    }

    private static void adjoints(Tape t, int[] ids, Tensor[] gradIn, int slot) {
      if (ids == null || slot >= gradIn.length || gradIn[slot] == null) {
        return;
      }
      double[] g = new double[ids.length];
      for (int i = 0; i < ids.length; i++) {
        g[i] = t.adj(ids[i]);
      }
      write(gradIn[slot], g);
    }

    @Override
    public void updateWeights(Map<String, Tensor> weights) {
      stack.update(weights);
    }
  }
}
