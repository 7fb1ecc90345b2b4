package dev.jrnn.backend.java;

import dev.jrnn.Activation;
import dev.jrnn.DType;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Const;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.Folding;
import dev.jrnn.ir.IrValue;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.Precisions;
import dev.jrnn.ir.Shapes;
import dev.jrnn.ir.TensorType;
import dev.jrnn.kernels.Act;
import dev.jrnn.kernels.Arith;
import dev.jrnn.kernels.Elementwise;
import dev.jrnn.kernels.Sgemm;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.ExecContext;
import dev.jrnn.spi.FoldKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.Objects;

/** The non-recurrent ops: loops over the tensors' memory that allocate nothing once warm. */
final class JavaOps {

  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;

  private JavaOps() {}

  /** A node without packed weight matrices (not a Linear). */
  static CompiledNode compile(Node node, Map<String, Tensor> weights) {
    return compile(node, weights, null);
  }

  /**
   * A node; packed weight matrices (a Linear's) go into {@code arena}, cache-line aligned and freed
   * with it: the kernels are only ever given native panels (see {@link Sgemm.Panels}).
   */
  static CompiledNode compile(Node node, Map<String, Tensor> weights, Arena arena) {
    String name = node.name();
    return switch (node.op()) {
      case Op.Embedding e -> embedding(e, weights.get(name + ".weight").toFloatArray(), node);
      case Op.Linear l -> new Linear(l, weights, name, arena);
      case Op.Unary u -> unary(u.fn());
      case Op.Softmax s -> (in, out, ctx) -> softmax(s, in[0], out[0]);
      case Op.Binary b -> new Binary(b.fn());
      case Op.Concat c -> (in, out, ctx) -> concat(c.axis(), in, out[0]);
      case Op.LastStep l -> (in, out, ctx) -> lastStep(l.batchFirst(), in[0], in[1], out[0]);
      case Op.Dropout d -> JavaOps::copy;
      case Op.RecurrentLayer r ->
          throw new IllegalArgumentException("recurrent layers are separate");
      case Op.Input i -> throw new IllegalArgumentException("inputs are not compiled");
      case Op.Constant c -> new FoldKernel(c);
      case DataOp d -> dataOp(d, node);
    };
  }

  private static CompiledNode dataOp(DataOp op, Node node) {
    return switch (op) {
      case DataOp.Reshape r -> JavaOps::copy;
      case DataOp.Squeeze q -> JavaOps::copy;
      case DataOp.Unsqueeze q -> JavaOps::copy;
      case DataOp.Flatten f -> JavaOps::copy;
      case DataOp.Identity i -> JavaOps::copy;
      case DataOp.Transpose t -> transpose(t);
      case DataOp.Slice sl -> slice(node);
      // rare at run time (shape arithmetic folds when planned): evaluated generically
      case DataOp.Shape sh -> new FoldKernel(op);
      case DataOp.Gather g -> new FoldKernel(op);
      case DataOp.ConstantOfShape c -> new FoldKernel(op);
      case DataOp.Expand e -> new FoldKernel(op);
      case DataOp.Cast c -> new FoldKernel(op);
      case DataOp.MatMul m -> new FoldKernel(op);
    };
  }

  /** The kernels' form of an activation: one exhaustive switch, so a new kind must be mapped. */
  static Act act(Activation a) {
    return switch (a.kind()) {
      case SIGMOID -> Act.sigmoid();
      case TANH -> Act.tanh();
      case RELU -> Act.relu();
      case AFFINE -> Act.affine(a.alpha(), a.beta());
      case LEAKY_RELU -> Act.leakyRelu(a.alpha());
      case THRESHOLDED_RELU -> Act.thresholdedRelu(a.alpha());
      case SCALED_TANH -> Act.scaledTanh(a.alpha(), a.beta());
      case HARD_SIGMOID -> Act.hardSigmoid(a.alpha(), a.beta());
      case ELU -> Act.elu(a.alpha());
      case SOFTSIGN -> Act.softsign();
      case SOFTPLUS -> Act.softplus();
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
        e.checkId(id, i, node);
        MemorySegment.copy(table, id * dim, y, F, i * dim * 4, dim);
      }
    };
  }

  /**
   * Packs weight matrix {@code name} ({@code [*, k]}, row-major) for {@code x · Wᵀ} as {@link
   * Sgemm#packRows} does, in the precision it comes in: F32, BF16, or I8 with its {@code .scale};
   * into {@code arena}'s aligned native memory.
   */
  static Sgemm.Panels packRows(
      Map<String, Tensor> weights, String name, int k, int[] colToRow, Arena arena) {
    Objects.requireNonNull(arena, "packed weights go into the session's arena");
    return packRows(weights, name, k, colToRow).aligned(arena);
  }

  private static Sgemm.Panels packRows(
      Map<String, Tensor> weights, String name, int k, int[] colToRow) {
    Tensor t = weights.get(name);
    return switch (t.dtype()) {
      case F32 -> Sgemm.packRows(t.toFloatArray(), 0, k, k, colToRow);
      case BF16 -> Sgemm.packRowsBf16(Precisions.bf16(t), 0, k, k, colToRow);
      case I8 ->
          Sgemm.packRowsI8(
              Precisions.int8(t),
              0,
              k,
              Precisions.rowScales(name, t, weights.get(Precisions.scaleName(name))),
              0,
              k,
              colToRow);
      case I32 -> throw new IllegalArgumentException("weight '" + name + "' is I32");
    };
  }

  /** Weight {@code name}'s memory, which must be f32 (what training updates), read in place. */
  static MemorySegment f32(Map<String, Tensor> weights, String name) {
    Tensor t = weights.get(name);
    if (t.dtype() != DType.F32) {
      throw new IllegalArgumentException(
          "training needs f32 weights; '" + name + "' is " + t.dtype());
    }
    return t.segment();
  }

  /** y = x · Wᵀ + b on the packed GEMM; rows go through reusable float scratch. */
  static final class Linear implements CompiledNode {
    private final Op.Linear op;
    private final String name;
    private final int[] map; // packed column -> row of the weight
    private final Sgemm.Panels w;
    private final float[] bias;

    /** The packed weights go to {@code arena} (aligned, freed with it). */
    Linear(Op.Linear op, Map<String, Tensor> weights, String name, Arena arena) {
      this.op = op;
      this.name = name;
      this.map = new int[op.out()];
      for (int j = 0; j < map.length; j++) {
        map[j] = j;
      }
      this.w = packRows(weights, name + ".weight", op.in(), map, arena);
      this.bias = new float[w.columns()];
      copyBias(weights);
    }

    /** New values for the weights (same shapes, F32), packed over the old ones in place. */
    void update(Map<String, Tensor> weights) {
      Sgemm.packRowsInto(w, f32(weights, name + ".weight"), op.in(), map);
      copyBias(weights);
    }

    private void copyBias(Map<String, Tensor> weights) {
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
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
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

  private static CompiledNode unary(Activation fn) {
    Act act = act(fn);
    return (in, out, ctx) ->
        Elementwise.activation(act, in[0].segment(), out[0].segment(), in[0].size());
  }

  /** Ops that only relabel the shape: the bytes are the same. */
  private static void copy(Tensor[] in, Tensor[] out, ExecContext ctx) {
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
    private final Arith fn;

    Binary(Arith fn) {
      this.fn = fn;
    }

    private static final class Strides {
      long[] a = new long[0];
      long[] b = new long[0];
      long[] dims = new long[0];
      long[] idx = new long[0];
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
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
   * A dense copy of a strided view: output element {@code (i_0, …)} is source element {@code from +
   * Σ i_k·stride_k}. Axes of size 1 are dropped and axes that stay adjacent merged, so the walk
   * becomes one plain copy, copies of contiguous runs, or (innermost axis strided) element by
   * element. Transpose and Slice are such views; the arrays are reused per call.
   */
  private static final class Strided {
    long[] dims = new long[0];
    long[] strides = new long[0];
    long[] idx = new long[0];
    int[] perm; // Transpose: the permutation, worked out once (the rank is fixed by the graph)
    int m;

    void reset(int rank) {
      if (dims.length < rank + 1) {
        dims = new long[rank + 1];
        strides = new long[rank + 1];
        idx = new long[rank + 1];
      }
      m = 0;
    }

    /** The next output axis: {@code d} elements {@code stride} apart in the source. */
    void axis(long d, long stride) {
      if (d == 1) {
        return;
      }
      if (m > 0 && strides[m - 1] == stride * d) {
        dims[m - 1] *= d;
        strides[m - 1] = stride;
        return;
      }
      dims[m] = d;
      strides[m] = stride;
      m++;
    }

    /** Copies the {@code total} elements (4 bytes each) of the view starting at {@code from}. */
    void copy(MemorySegment src, long from, MemorySegment dst, long total) {
      if (total == 0) {
        return;
      }
      if (m == 0 || (m == 1 && strides[0] == 1)) {
        MemorySegment.copy(src, from * 4, dst, 0, total * 4);
        return;
      }
      int last = m - 1;
      long run = strides[last] == 1 ? dims[last] : 1;
      if (run == 1) { // innermost axis strided: walk every element
        dims[m] = 1;
        strides[m] = 1;
        last = m;
      }
      for (int k = 0; k < last; k++) {
        idx[k] = 0;
      }
      for (long r = 0, runs = total / run; r < runs; r++) {
        MemorySegment.copy(src, from * 4, dst, r * run * 4, run * 4);
        for (int k = last - 1; k >= 0; k--) {
          from += strides[k];
          if (++idx[k] < dims[k]) {
            break;
          }
          from -= strides[k] * dims[k];
          idx[k] = 0;
        }
      }
    }

    /** Row-major element stride of axis {@code axis} of {@code t}. */
    static long stride(Tensor t, int axis) {
      long st = 1;
      for (int j = axis + 1; j < t.rank(); j++) {
        st *= t.dim(j);
      }
      return st;
    }
  }

  private static CompiledNode transpose(DataOp.Transpose op) {
    return (in, out, ctx) -> {
      Tensor x = in[0];
      Strided s = ctx.cache(op, k -> new Strided());
      s.reset(x.rank());
      if (s.perm == null) {
        s.perm = op.permutation(x.rank());
      }
      for (int axis : s.perm) {
        s.axis(x.dim(axis), Strided.stride(x, axis));
      }
      s.copy(x.segment(), 0, out[0].segment(), out[0].size());
    };
  }

  /**
   * Slice whose starts, ends, axes and steps are constants of the graph: the view is worked out per
   * call from the input's shape (ONNX clamping). Other slices evaluate generically.
   */
  private static CompiledNode slice(Node node) {
    TensorType[] types = new TensorType[node.inputCount()];
    Const[] known = new Const[types.length];
    for (int i = 0; i < types.length; i++) {
      IrValue v = node.input(i);
      types[i] = v == null ? null : v.type();
      known[i] = v == null || i == 0 ? null : v.constant();
    }
    int[][] p = DataOp.Slice.params(types, known);
    if (p == null) {
      return new FoldKernel(node.op());
    }
    Op op = node.op();
    return (in, out, ctx) -> {
      Tensor x = in[0];
      int rank = x.rank();
      Strided s = ctx.cache(op, k -> new Strided());
      s.reset(rank);
      long from = 0;
      for (int axis = 0; axis < rank; axis++) {
        int n = x.dim(axis);
        int start = 0;
        int count = n;
        int step = 1;
        for (int i = 0; i < p[0].length; i++) {
          if (Shapes.axis(p[2][i], rank) == axis) {
            step = p[3][i];
            start = Folding.sliceStart(n, p[0][i], step);
            count = Folding.sliceCount(n, p[0][i], p[1][i], step);
          }
        }
        long st = Strided.stride(x, axis);
        from += count == 0 ? 0 : start * st;
        s.axis(count, st * step);
      }
      s.copy(x.segment(), from, out[0].segment(), out[0].size());
    };
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
