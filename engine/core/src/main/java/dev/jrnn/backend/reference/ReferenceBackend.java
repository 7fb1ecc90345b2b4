package dev.jrnn.backend.reference;

import dev.jrnn.Activation;
import dev.jrnn.Options;
import dev.jrnn.Tensor;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.Shapes;
import dev.jrnn.spi.Availability;
import dev.jrnn.spi.Backend;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.FoldKernel;
import dev.jrnn.spi.TrainableNode;
import java.util.Map;

/**
 * The oracle: every op in plain scalar loops with double accumulation. Always available, never
 * fast; the other backends are tested against it.
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
      case Op.Embedding e -> embedding(e, weights.get(name + ".weight").toFloatArray(), node);
      case Op.Linear l ->
          linear(
              l,
              weights.get(name + ".weight").toFloatArray(),
              l.bias() ? weights.get(name + ".bias").toFloatArray() : null);
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

  static CompiledNode embedding(Op.Embedding e, float[] table, Node node) {
    return (in, out, ctx) -> {
      int[] ids = in[0].toIntArray();
      float[] y = new float[ids.length * e.dim()];
      for (int i = 0; i < ids.length; i++) {
        int id = ids[i];
        e.checkId(id, i, node);
        System.arraycopy(table, id * e.dim(), y, i * e.dim(), e.dim());
      }
      out[0].copyFrom(y);
    };
  }

  static CompiledNode linear(Op.Linear l, float[] w, float[] b) {
    return (in, out, ctx) -> {
      float[] x = in[0].toFloatArray();
      int rows = x.length / l.in();
      float[] y = new float[rows * l.out()];
      for (int r = 0; r < rows; r++) {
        for (int o = 0; o < l.out(); o++) {
          double s = b == null ? 0 : b[o];
          for (int i = 0; i < l.in(); i++) {
            s += (double) x[r * l.in() + i] * w[o * l.in() + i];
          }
          y[r * l.out() + o] = (float) s;
        }
      }
      out[0].copyFrom(y);
    };
  }

  static void unary(Activation fn, Tensor x, Tensor y) {
    float[] v = x.toFloatArray();
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) fn.apply(v[i]);
    }
    y.copyFrom(v);
  }

  static void softmax(Op.Softmax s, Tensor x, Tensor y) {
    int[] shape = x.shape();
    int ax = Shapes.axis(s.axis(), shape.length);
    int len = shape[ax];
    int inner = 1;
    for (int i = ax + 1; i < shape.length; i++) {
      inner *= shape[i];
    }
    float[] v = x.toFloatArray();
    int outer = len * inner == 0 ? 0 : v.length / (len * inner);
    for (int o = 0; o < outer; o++) {
      for (int in = 0; in < inner; in++) {
        int base = o * len * inner + in;
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < len; k++) {
          max = Math.max(max, v[base + k * inner]);
        }
        double sum = 0;
        for (int k = 0; k < len; k++) {
          sum += Math.exp(v[base + k * inner] - max);
        }
        for (int k = 0; k < len; k++) {
          double z = v[base + k * inner] - max;
          v[base + k * inner] = (float) (s.log() ? z - Math.log(sum) : Math.exp(z) / sum);
        }
      }
    }
    y.copyFrom(v);
  }

  static void lastStep(boolean batchFirst, Tensor seq, Tensor lengths, Tensor y) {
    int[] s = seq.shape();
    int steps = batchFirst ? s[1] : s[0];
    int batch = batchFirst ? s[0] : s[1];
    int c = s[2];
    float[] v = seq.toFloatArray();
    int[] len = lengths == null ? null : lengths.toIntArray();
    float[] out = new float[batch * c];
    for (int n = 0; n < batch; n++) {
      int t = (len == null ? steps : len[n]) - 1;
      int base = (batchFirst ? n * steps + t : t * batch + n) * c;
      System.arraycopy(v, base, out, n * c, c);
    }
    y.copyFrom(out);
  }
}
