package dev.jrnn.backend.reference;

import dev.jrnn.Activation;
import dev.jrnn.Options;
import dev.jrnn.Tensor;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.spi.Availability;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.FoldKernel;
import dev.jrnn.spi.TrainableNode;
import java.util.Map;

/**
 * The oracle: every op in plain scalar loops in double precision ({@link OpMath}, the recurrent
 * stack on a {@link Tape}), rounded to float once per output. Always available, never fast; the
 * other backends are tested against it.
 */
public final class ReferenceBackend implements Backend {

  @Override
  public String name() {
    return "reference";
  }

  @Override
  public Availability availability() {
    return Availability.yes("scalar Java loops");
  }

  @Override
  public int priority() {
    return 0;
  }

  @Override
  public String unsupported(Node node) {
    return null; // every op: the data-movement ops through their fold
  }

  @Override
  public Context open(Options options) {
    return new Context() {
      @Override
      public CompiledNode compile(Node node, Map<String, Tensor> weights) {
        return ReferenceBackend.compile(node, weights);
      }

      @Override
      public TrainableNode compileForTraining(Node node, Map<String, Tensor> weights) {
        return ReferenceTraining.compile(node, weights);
      }

      @Override
      public void close() {}
    };
  }

  @Override
  public String untrainable(Node node) {
    return null; // every op
  }

  static CompiledNode compile(Node node, Map<String, Tensor> weights) {
    String name = node.name();
    return switch (node.op()) {
      case Op.Embedding e -> embedding(e, doubles(weights.get(name + ".weight")), node);
      case Op.Linear l ->
          linear(
              l,
              doubles(weights.get(name + ".weight")),
              l.bias() ? doubles(weights.get(name + ".bias")) : null);
      case Op.Unary u -> (in, out, ctx) -> unary(u.fn(), in[0], out[0]);
      case Op.Softmax s -> (in, out, ctx) -> softmax(s, in[0], out[0]);
      case Op.LastStep l -> (in, out, ctx) -> lastStep(l.batchFirst(), in[0], in[1], out[0]);
      case Op.Dropout d -> (in, out, ctx) -> out[0].copyFrom(in[0]);
      case Op.RecurrentLayer r -> ReferenceTraining.compile(node, weights);
      case Op.Input i -> throw new IllegalArgumentException("inputs are not compiled");
      // arithmetic, concat, constants and the data-movement ops: the planner's own evaluator
      case Op.Binary b -> new FoldKernel(b);
      case Op.Concat c -> new FoldKernel(c);
      case Op.Constant c -> new FoldKernel(c);
      case DataOp d -> new FoldKernel(d);
    };
  }

  /** A tensor's elements, widened to double (exactly). */
  static double[] doubles(Tensor t) {
    float[] v = t.toFloatArray();
    double[] d = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      d[i] = v[i];
    }
    return d;
  }

  /** Writes {@code v} into {@code t}, each element rounded to float once; null: not wanted. */
  static void write(Tensor t, double[] v) {
    if (t == null) {
      return;
    }
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      f[i] = (float) v[i];
    }
    t.copyFrom(f);
  }

  static CompiledNode embedding(Op.Embedding e, double[] table, Node node) {
    return (in, out, ctx) -> {
      int[] ids = in[0].toIntArray();
      for (int i = 0; i < ids.length; i++) {
        e.checkId(ids[i], i, node);
      }
      write(out[0], OpMath.embedding(ids, table, e.dim()));
    };
  }

  static CompiledNode linear(Op.Linear l, double[] w, double[] b) {
    return (in, out, ctx) -> write(out[0], OpMath.linear(doubles(in[0]), w, b, l.in(), l.out()));
  }

  static void unary(Activation fn, Tensor x, Tensor y) {
    write(y, OpMath.unary(fn, doubles(x)));
  }

  static void softmax(Op.Softmax s, Tensor x, Tensor y) {
    write(y, OpMath.softmax(x.shape(), s.axis(), s.log(), doubles(x)));
  }

  static void lastStep(boolean batchFirst, Tensor seq, Tensor lengths, Tensor y) {
    int[] len = lengths == null ? null : lengths.toIntArray();
    write(y, OpMath.lastStep(batchFirst, seq.shape(), doubles(seq), len));
  }
}
