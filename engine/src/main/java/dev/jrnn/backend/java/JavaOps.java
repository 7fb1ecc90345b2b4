package dev.jrnn.backend.java;

import dev.jrnn.Node;
import dev.jrnn.Tensor;
import dev.jrnn.kernels.Sgemm;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.FoldKernel;
import dev.jrnn.spi.Op;
import dev.jrnn.spi.Shapes;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

/** The non-recurrent ops: loops over the tensors' memory that allocate nothing once warm. */
final class JavaOps {

  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;

  private JavaOps() {}

  static CompiledNode compile(Node node, Map<String, Tensor> weights) {
    String name = node.name();
    return switch (node.op()) {
      case Op.Embedding e -> embedding(e, weights.get(name + ".weight").toFloatArray(), node);
      case Op.Linear l -> new Linear(l, weights, name);
      case Op.Unary u ->
          (in, out, ctx) -> unary(u.fn(), in[0].segment(), out[0].segment(), in[0].size());
      case Op.Softmax s -> (in, out, ctx) -> softmax(s, in[0], out[0]);
      case Op.Binary b -> new Binary(b.fn());
      case Op.Concat c -> (in, out, ctx) -> concat(c.axis(), in, out[0]);
      case Op.LastStep l -> (in, out, ctx) -> lastStep(l.batchFirst(), in[0], in[1], out[0]);
      case Op.RecurrentLayer r ->
          throw new IllegalArgumentException("recurrent layers are separate");
      case Op.Input i -> throw new IllegalArgumentException("inputs are not compiled");
      default -> new FoldKernel(node.op()); // the data-movement ops (Gather, Transpose, …)
    };
  }

  private static CompiledNode embedding(Op.Embedding e, float[] table, Node node) {
    return (in, out, ctx) -> {
      MemorySegment ids = in[0].segment();
      MemorySegment y = out[0].segment();
      long count = in[0].size();
      int dim = e.dim();
      for (long i = 0; i < count; i++) {
        int id = ids.getAtIndex(I, i);
        if (id < 0 || id >= e.vocab()) {
          throw new IllegalArgumentException(
              "token id "
                  + id
                  + " at position "
                  + i
                  + " of '"
                  + node.input(0).name()
                  + "' (node '"
                  + node.name()
                  + "') is outside the vocabulary [0, "
                  + e.vocab()
                  + ")");
        }
        MemorySegment.copy(table, id * dim, y, F, i * dim * 4, dim);
      }
    };
  }

  /** y = x · Wᵀ + b on the packed GEMM; rows go through reusable float scratch. */
  private static final class Linear implements CompiledNode {
    private final Op.Linear op;
    private final Sgemm.Panels w;
    private final float[] bias;

    Linear(Op.Linear op, Map<String, Tensor> weights, String name) {
      this.op = op;
      int[] map = new int[op.out()];
      for (int j = 0; j < map.length; j++) {
        map[j] = j;
      }
      this.w =
          Sgemm.packRows(weights.get(name + ".weight").toFloatArray(), 0, op.in(), op.in(), map);
      this.bias = new float[w.columns()];
      if (op.bias()) {
        float[] b = weights.get(name + ".bias").toFloatArray();
        System.arraycopy(b, 0, bias, 0, b.length);
      }
    }

    private static final class Buffers {
      float[] a = new float[0];
      float[] c = new float[0];
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, dev.jrnn.spi.ExecContext ctx) {
      Buffers buf = ctx.cache(this, k -> new Buffers());
      int rows = (int) (in[0].size() / op.in());
      if (buf.a.length < rows * op.in()) {
        buf.a = new float[rows * op.in()];
      }
      int ldc = w.columns();
      if (buf.c.length < rows * ldc) {
        buf.c = new float[rows * ldc];
      }
      MemorySegment.copy(in[0].segment(), F, 0, buf.a, 0, rows * op.in());
      Sgemm.gemm(
          rows, buf.a, 0, op.in(), w, 0, w.panels(), buf.c, 0, ldc, Sgemm.Mode.BIAS, bias, 0);
      MemorySegment y = out[0].segment();
      for (int r = 0; r < rows; r++) {
        MemorySegment.copy(buf.c, r * ldc, y, F, (long) r * op.out() * 4, op.out());
      }
    }
  }

  private static void unary(Op.UnaryKind fn, MemorySegment x, MemorySegment y, long n) {
    for (long i = 0; i < n; i++) {
      double a = x.getAtIndex(F, i);
      double v =
          switch (fn) {
            case TANH -> Math.tanh(a);
            case SIGMOID -> 1 / (1 + Math.exp(-a));
            case RELU -> Math.max(0, a);
          };
      y.setAtIndex(F, i, (float) v);
    }
  }

  private static void softmax(Op.Softmax s, Tensor xt, Tensor yt) {
    int rank = xt.rank();
    int ax = Shapes.axis(s.axis(), rank);
    int len = xt.dim(ax);
    long inner = 1;
    for (int i = ax + 1; i < rank; i++) {
      inner *= xt.dim(i);
    }
    long outer = len * inner == 0 ? 0 : xt.size() / (len * inner);
    MemorySegment x = xt.segment();
    MemorySegment y = yt.segment();
    for (long o = 0; o < outer; o++) {
      for (long in = 0; in < inner; in++) {
        long base = o * len * inner + in;
        float max = Float.NEGATIVE_INFINITY;
        for (int k = 0; k < len; k++) {
          max = Math.max(max, x.getAtIndex(F, base + k * inner));
        }
        double sum = 0;
        for (int k = 0; k < len; k++) {
          sum += Math.exp(x.getAtIndex(F, base + k * inner) - max);
        }
        double logSum = Math.log(sum);
        for (int k = 0; k < len; k++) {
          double z = x.getAtIndex(F, base + k * inner) - max;
          y.setAtIndex(F, base + k * inner, (float) (s.log() ? z - logSum : Math.exp(z) / sum));
        }
      }
    }
  }

  /** Element-wise arithmetic with NumPy broadcasting; index strides kept in per-call scratch. */
  private static final class Binary implements CompiledNode {
    private final Op.BinaryKind fn;

    Binary(Op.BinaryKind fn) {
      this.fn = fn;
    }

    private static final class Strides {
      long[] a = new long[0];
      long[] b = new long[0];
      int[] dims = new int[0];
      int[] idx = new int[0];
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, dev.jrnn.spi.ExecContext ctx) {
      Tensor yt = out[0];
      int rank = yt.rank();
      Strides s = ctx.cache(this, k -> new Strides());
      if (s.dims.length != rank) {
        s.a = new long[rank];
        s.b = new long[rank];
        s.dims = new int[rank];
        s.idx = new int[rank];
      }
      for (int k = 0; k < rank; k++) {
        s.dims[k] = yt.dim(k);
        s.idx[k] = 0;
      }
      strides(in[0], s.dims, s.a);
      strides(in[1], s.dims, s.b);
      MemorySegment a = in[0].segment();
      MemorySegment b = in[1].segment();
      MemorySegment y = yt.segment();
      long n = yt.size();
      long ia = 0;
      long ib = 0;
      for (long i = 0; i < n; i++) {
        float x = a.getAtIndex(F, ia);
        float z = b.getAtIndex(F, ib);
        y.setAtIndex(
            F,
            i,
            switch (fn) {
              case ADD -> x + z;
              case SUB -> x - z;
              case MUL -> x * z;
              case DIV -> x / z;
            });
        for (int k = rank - 1; k >= 0; k--) { // odometer over the output index
          ia += s.a[k];
          ib += s.b[k];
          if (++s.idx[k] < s.dims[k]) {
            break;
          }
          ia -= s.a[k] * s.dims[k];
          ib -= s.b[k] * s.dims[k];
          s.idx[k] = 0;
        }
      }
    }

    private static void strides(Tensor t, int[] out, long[] st) {
      long stride = 1;
      int off = out.length - t.rank();
      for (int k = out.length - 1; k >= 0; k--) {
        int i = k - off;
        int d = i >= 0 ? t.dim(i) : 1;
        st[k] = d == 1 ? 0 : stride;
        stride *= d;
      }
    }
  }

  private static void concat(int axis, Tensor[] in, Tensor y) {
    int rank = y.rank();
    int ax = Shapes.axis(axis, rank);
    long elem = y.dtype().byteSize();
    long inner = elem;
    for (int i = ax + 1; i < rank; i++) {
      inner *= y.dim(i);
    }
    long outer = 1;
    for (int i = 0; i < ax; i++) {
      outer *= y.dim(i);
    }
    long rowOut = y.dim(ax) * inner;
    long offset = 0;
    for (Tensor t : in) {
      long block = t.dim(ax) * inner;
      for (long o = 0; o < outer; o++) {
        MemorySegment.copy(t.segment(), o * block, y.segment(), o * rowOut + offset, block);
      }
      offset += block;
    }
  }

  private static void lastStep(boolean batchFirst, Tensor seq, Tensor lengths, Tensor y) {
    int steps = seq.dim(batchFirst ? 1 : 0);
    int batch = seq.dim(batchFirst ? 0 : 1);
    long c = seq.dim(2);
    for (int n = 0; n < batch; n++) {
      int t = (lengths == null ? steps : lengths.getInt(n)) - 1;
      long src = (batchFirst ? (long) n * steps + t : (long) t * batch + n) * c * 4;
      MemorySegment.copy(seq.segment(), src, y.segment(), n * c * 4, c * 4);
    }
  }
}
