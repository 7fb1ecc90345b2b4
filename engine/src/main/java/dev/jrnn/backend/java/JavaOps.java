package dev.jrnn.backend.java;

import dev.jrnn.Node;
import dev.jrnn.Tensor;
import dev.jrnn.kernels.Act;
import dev.jrnn.kernels.Elementwise;
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
      case Op.Unary u -> unary(u.fn());
      case Op.Softmax s -> (in, out, ctx) -> softmax(s, in[0], out[0]);
      case Op.Binary b -> new Binary(b.fn());
      case Op.Concat c -> (in, out, ctx) -> concat(c.axis(), in, out[0]);
      case Op.LastStep l -> (in, out, ctx) -> lastStep(l.batchFirst(), in[0], in[1], out[0]);
      case Op.RecurrentLayer r ->
          throw new IllegalArgumentException("recurrent layers are separate");
      case Op.Input i -> throw new IllegalArgumentException("inputs are not compiled");
      case Op.Reshape r -> JavaOps::copy;
      case Op.Squeeze q -> JavaOps::copy;
      case Op.Unsqueeze q -> JavaOps::copy;
      case Op.Flatten f -> JavaOps::copy;
      case Op.Identity i -> JavaOps::copy;
      case Op.Transpose t -> new Transpose(t);
      // the rarer data-movement ops (Gather, Slice, Expand, Cast…) evaluate generically
      default -> new FoldKernel(node.op());
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

  private static CompiledNode unary(Op.UnaryKind fn) {
    Act act =
        switch (fn) {
          case TANH -> Act.TANH_ACT;
          case SIGMOID -> Act.SIGMOID_ACT;
          case RELU -> Act.RELU_ACT;
        };
    return (in, out, ctx) ->
        Elementwise.activation(act, in[0].segment(), out[0].segment(), in[0].size());
  }

  /** Ops that only relabel the shape: the bytes are the same. */
  private static void copy(Tensor[] in, Tensor[] out, dev.jrnn.spi.ExecContext ctx) {
    MemorySegment.copy(in[0].segment(), 0, out[0].segment(), 0, out[0].byteSize());
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
    if (inner == 1) {
      Elementwise.softmaxRows(x, y, outer, len, s.log());
      return;
    }
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

  /**
   * Element-wise arithmetic with NumPy broadcasting. The output's axes are merged where both
   * operands stay contiguous (or both broadcast), so a bias add {@code [T, N, C] + [C]} becomes T·N
   * vectorized runs of C; scratch lives in the per-call context.
   */
  private static final class Binary implements CompiledNode {
    private final int fn;

    Binary(Op.BinaryKind fn) {
      this.fn =
          switch (fn) {
            case ADD -> Elementwise.ADD;
            case SUB -> Elementwise.SUB;
            case MUL -> Elementwise.MUL;
            case DIV -> Elementwise.DIV;
          };
    }

    private static final class Strides {
      long[] a = new long[0];
      long[] b = new long[0];
      long[] dims = new long[0];
      long[] idx = new long[0];
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, dev.jrnn.spi.ExecContext ctx) {
      Tensor yt = out[0];
      int rank = yt.rank();
      Strides s = ctx.cache(this, k -> new Strides());
      if (s.dims.length < Math.max(rank, 1)) {
        int r = Math.max(rank, 1);
        s.a = new long[r];
        s.b = new long[r];
        s.dims = new long[r];
        s.idx = new long[r];
      }
      // merged axes, innermost last: m axes in s.dims[0..m)
      int m = 0;
      for (int k = 0; k < rank; k++) {
        long d = yt.dim(k);
        long sa = stride(in[0], rank, k);
        long sb = stride(in[1], rank, k);
        if (d == 1) {
          continue;
        }
        if (m > 0 && mergeable(s.a[m - 1], sa, d) && mergeable(s.b[m - 1], sb, d)) {
          s.dims[m - 1] *= d;
          s.a[m - 1] = sa;
          s.b[m - 1] = sb;
          continue;
        }
        s.dims[m] = d;
        s.a[m] = sa;
        s.b[m] = sb;
        m++;
      }
      MemorySegment a = in[0].segment();
      MemorySegment b = in[1].segment();
      MemorySegment y = yt.segment();
      if (m == 0) { // every axis of size 1
        Elementwise.binaryRunScalar(fn, a, 0, 0, b, 0, 0, y, 0, 1);
        return;
      }
      int last = m - 1;
      int n = (int) s.dims[last];
      int as = (int) s.a[last];
      int bs = (int) s.b[last];
      if (as > 1 || bs > 1) { // an operand strided in the innermost axis: one element per run
        n = 1;
        last = m;
        s.dims[m] = 1;
        s.a[m] = 0;
        s.b[m] = 0;
        m++;
      }
      long runs = yt.size() / n;
      for (int k = 0; k < last; k++) {
        s.idx[k] = 0;
      }
      long ia = 0;
      long ib = 0;
      for (long r = 0; r < runs; r++) {
        Elementwise.binaryRun(fn, a, ia, as, b, ib, bs, y, r * n, n);
        for (int k = last - 1; k >= 0; k--) { // odometer over the outer axes
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

    /**
     * Whether axis {@code k} (stride {@code inner}, size {@code d}) folds into the axis before it
     * (stride {@code outer}): both broadcast, or contiguous.
     */
    private static boolean mergeable(long outer, long inner, long d) {
      return (outer == 0 && inner == 0) || (inner != 0 && outer == inner * d);
    }

    /** The element stride of {@code t} along output axis {@code k} (0 where it broadcasts). */
    private static long stride(Tensor t, int outRank, int k) {
      int i = k - (outRank - t.rank());
      if (i < 0 || t.dim(i) == 1) {
        return 0;
      }
      long stride = 1;
      for (int j = i + 1; j < t.rank(); j++) {
        stride *= t.dim(j);
      }
      return stride;
    }
  }

  /**
   * Transpose: size-1 axes dropped and axes that stay adjacent merged, then a plain copy, copies of
   * contiguous runs, or (innermost axis moved) an element-by-element walk.
   */
  private static final class Transpose implements CompiledNode {
    private final Op.Transpose op;

    Transpose(Op.Transpose op) {
      this.op = op;
    }

    private static final class Scratch {
      long[] dims = new long[0];
      long[] strides = new long[0];
      long[] idx = new long[0];
      int[] perm;
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, dev.jrnn.spi.ExecContext ctx) {
      Tensor x = in[0];
      int rank = x.rank();
      Scratch s = ctx.cache(this, k -> new Scratch());
      if (s.dims.length < rank + 1) {
        s.dims = new long[rank + 1];
        s.strides = new long[rank + 1];
        s.idx = new long[rank + 1];
        s.perm = op.permutation(rank);
      }
      int m = 0;
      for (int k = 0; k < rank; k++) {
        int axis = s.perm[k];
        long d = x.dim(axis);
        if (d == 1) {
          continue;
        }
        long st = 1;
        for (int j = axis + 1; j < rank; j++) {
          st *= x.dim(j);
        }
        if (m > 0 && s.strides[m - 1] == st * d) {
          s.dims[m - 1] *= d;
          s.strides[m - 1] = st;
          continue;
        }
        s.dims[m] = d;
        s.strides[m] = st;
        m++;
      }
      MemorySegment src = x.segment();
      MemorySegment dst = out[0].segment();
      if (m <= 1) {
        MemorySegment.copy(src, 0, dst, 0, out[0].byteSize());
        return;
      }
      int last = m - 1;
      long run = s.strides[last] == 1 ? s.dims[last] : 1;
      if (run == 1) { // innermost axis moves: walk every element
        s.dims[m] = 1;
        s.strides[m] = 1;
        last = m;
      }
      for (int k = 0; k < last; k++) {
        s.idx[k] = 0;
      }
      long runs = out[0].size() / run;
      long from = 0;
      for (long r = 0; r < runs; r++) {
        MemorySegment.copy(src, from * 4, dst, r * run * 4, run * 4);
        for (int k = last - 1; k >= 0; k--) {
          from += s.strides[k];
          if (++s.idx[k] < s.dims[k]) {
            break;
          }
          from -= s.strides[k] * s.dims[k];
          s.idx[k] = 0;
        }
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
