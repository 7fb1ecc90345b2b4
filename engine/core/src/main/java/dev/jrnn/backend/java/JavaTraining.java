package dev.jrnn.backend.java;

import dev.jrnn.Activation;
import dev.jrnn.Tensor;
import dev.jrnn.ir.DataOp;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.Shapes;
import dev.jrnn.kernels.DropoutMask;
import dev.jrnn.kernels.Sgemm;
import dev.jrnn.kernels.SgemmAt;
import dev.jrnn.spi.CompiledNode;
import dev.jrnn.spi.DropoutStreams;
import dev.jrnn.spi.ExecContext;
import dev.jrnn.spi.FoldBackward;
import dev.jrnn.spi.TrainableNode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

/**
 * Training for the ops around the recurrent stack on the {@code java} backend: Linear's three
 * products as GEMMs ({@code dX = dY·W} on {@link Sgemm}, {@code dW += dYᵀ·X} on {@link SgemmAt}),
 * the embedding's sparse row updates, the element-wise derivatives, softmax, lastStep and dropout
 * in single passes. The data-movement ops and arithmetic run forward on their inference kernels and
 * backward through {@link FoldBackward}.
 */
final class JavaTraining {

  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

  private JavaTraining() {}

  /** A trainable node for every op but the recurrent stack, which has its own class. */
  static TrainableNode compile(Node node, Map<String, Tensor> weights, Arena arena) {
    String name = node.name();
    return switch (node.op()) {
      case Op.Linear l -> new Linear(l, name, weights, arena);
      case Op.Embedding e -> new Embedding(node, weights, e);
      case Op.Unary u -> new Unary(JavaOps.compile(node, weights), u.fn());
      case Op.Softmax s -> new Softmax(JavaOps.compile(node, weights), s);
      case Op.LastStep l -> new LastStep(JavaOps.compile(node, weights), l);
      case Op.Dropout d -> new Dropout(d, name);
      case Op.Binary b -> new Routed(JavaOps.compile(node, weights), b);
      case Op.Concat c -> new Routed(JavaOps.compile(node, weights), c);
      case DataOp d -> new Routed(JavaOps.compile(node, weights), d);
      case Op.RecurrentLayer r -> throw new IllegalArgumentException("the stack trains apart");
      case Op.Input i -> throw new IllegalArgumentException("inputs are not compiled");
      case Op.Constant c -> throw new IllegalArgumentException("constants are not trained");
    };
  }

  /** Forward on an inference kernel; nothing saved beyond the inputs and outputs. */
  private abstract static class Stateless implements TrainableNode {
    CompiledNode kernel;

    Stateless(CompiledNode kernel) {
      this.kernel = kernel;
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      kernel.run(in, out, ctx);
    }

    @Override
    public Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx) {
      run(in, out, ctx);
      return null;
    }

    @Override
    public void updateWeights(Map<String, Tensor> weights) {}
  }

  /** Adds {@code g[0 … n)} into a weight gradient tensor. */
  private static void addInto(Tensor into, float[] g, int rows, int cols, int ldg) {
    if (into == null) {
      return;
    }
    MemorySegment s = into.segment();
    for (int r = 0; r < rows; r++) {
      for (int j = 0; j < cols; j++) {
        long at = ((long) r * cols + j) * 4;
        s.set(F, at, s.get(F, at) + g[r * ldg + j]);
      }
    }
  }

  private static float[] grow(float[] a, long n) {
    return a.length >= n ? a : new float[Math.toIntExact(n)];
  }

  private static final class Linear implements TrainableNode {
    private final Op.Linear op;
    private final String name;
    private final String weightName;
    private final String biasName;
    private final JavaOps.Linear forward;
    private final Sgemm.Panels w; // W [out, in] as B [k = out, n = in], for dX = dY·W

    /** Packs into native memory from {@code arena}; updates write into the same memory. */
    Linear(Op.Linear op, String name, Map<String, Tensor> weights, Arena arena) {
      this.op = op;
      this.name = name;
      this.weightName = name + ".weight";
      this.biasName = name + ".bias";
      this.forward = new JavaOps.Linear(op, weights, name, arena);
      this.w = Sgemm.f32Panels(arena, op.out(), op.in());
      packTransposed(weights);
    }

    /** W [out, in] is already B [k = out, n = in] row-major: packed in place from the tensor. */
    private void packTransposed(Map<String, Tensor> weights) {
      Sgemm.packGatheredInto(w, JavaOps.f32(weights, weightName), op.in(), null, op.in());
    }

    @Override
    public void updateWeights(Map<String, Tensor> weights) {
      forward.update(weights);
      packTransposed(weights);
    }

    private static final class Buffers {
      float[] dy = new float[0];
      float[] x = new float[0];
      float[] dx = new float[0];
      float[] xp = new float[0]; // X packed for SgemmAt
      float[] dw = new float[0];
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      forward.run(in, out, ctx);
    }

    @Override
    public Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx) {
      run(in, out, ctx);
      return null;
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
      Buffers b = ctx.cache(this, k -> new Buffers());
      int ni = op.in();
      int no = op.out();
      int rows = ni == 0 ? 0 : Math.toIntExact(in[0].size() / ni);
      b.dy = grow(b.dy, (long) rows * no);
      MemorySegment.copy(gradOut[0].segment(), F, 0, b.dy, 0, rows * no);
      if (gradIn[0] != null) {
        int ldc = w.columns();
        b.dx = grow(b.dx, (long) rows * ldc);
        Sgemm.gemm(
            rows, b.dy, 0, no, w, 0, w.panels(), b.dx, 0, ldc, Sgemm.Mode.OVERWRITE, null, 0);
        MemorySegment dx = gradIn[0].segment();
        for (int r = 0; r < rows; r++) {
          MemorySegment.copy(b.dx, r * ldc, dx, F, (long) r * ni * 4, ni);
        }
      }
      Tensor dW = gw.get(weightName);
      if (dW != null) {
        b.x = grow(b.x, (long) rows * ni);
        MemorySegment.copy(in[0].segment(), F, 0, b.x, 0, rows * ni);
        b.xp = grow(b.xp, SgemmAt.packedSize(rows, ni));
        SgemmAt.pack(b.x, 0, ni, ni, rows, 0, rows, b.xp);
        int panels = SgemmAt.panels(ni);
        int ldc = panels * Sgemm.NR;
        b.dw = grow(b.dw, (long) no * ldc);
        SgemmAt.gemm(0, no, b.dy, 0, no, rows, b.xp, 0, panels, b.dw, 0, ldc, false);
        addInto(dW, b.dw, no, ni, ldc);
      }
      Tensor dB = gw.get(biasName);
      if (dB != null) {
        MemorySegment s = dB.segment();
        for (int o = 0; o < no; o++) {
          double sum = 0;
          for (int r = 0; r < rows; r++) {
            sum += b.dy[r * no + o];
          }
          s.set(F, o * 4L, (float) (s.get(F, o * 4L) + sum));
        }
      }
    }
  }

  private static final class Embedding extends Stateless {
    private final Node node;
    private final Op.Embedding op;
    private final String weight;

    Embedding(Node node, Map<String, Tensor> weights, Op.Embedding op) {
      super(JavaOps.compile(node, weights));
      this.node = node;
      this.op = op;
      this.weight = node.name() + ".weight";
    }

    @Override
    public void updateWeights(Map<String, Tensor> weights) {
      kernel = JavaOps.compile(node, weights);
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
      Tensor dt = gw.get(weight);
      if (dt == null) {
        return;
      }
      MemorySegment ids = in[0].segment();
      MemorySegment dy = gradOut[0].segment();
      MemorySegment t = dt.segment();
      int dim = op.dim();
      long n = in[0].size();
      for (long i = 0; i < n; i++) {
        long row = (long) ids.getAtIndex(ValueLayout.JAVA_INT, i) * dim;
        for (int k = 0; k < dim; k++) {
          long at = (row + k) * 4;
          t.set(F, at, t.get(F, at) + dy.getAtIndex(F, i * dim + k));
        }
      }
    }
  }

  private static final class Unary extends Stateless {
    private final Activation fn;

    Unary(CompiledNode kernel, Activation fn) {
      super(kernel);
      this.fn = fn;
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
      MemorySegment x = in[0].segment();
      MemorySegment y = out[0].segment();
      MemorySegment dy = gradOut[0].segment();
      MemorySegment dx = gradIn[0].segment();
      long n = in[0].size();
      switch (fn.kind()) { // from the output where it says as much, else from the input
        case SIGMOID -> {
          for (long i = 0; i < n; i++) {
            float v = y.getAtIndex(F, i);
            dx.setAtIndex(F, i, dy.getAtIndex(F, i) * v * (1 - v));
          }
        }
        case TANH -> {
          for (long i = 0; i < n; i++) {
            float v = y.getAtIndex(F, i);
            dx.setAtIndex(F, i, dy.getAtIndex(F, i) * (1 - v * v));
          }
        }
        default -> {
          for (long i = 0; i < n; i++) {
            dx.setAtIndex(F, i, (float) (dy.getAtIndex(F, i) * fn.derivative(x.getAtIndex(F, i))));
          }
        }
      }
    }
  }

  private static final class Softmax extends Stateless {
    private final Op.Softmax op;

    Softmax(CompiledNode kernel, Op.Softmax op) {
      super(kernel);
      this.op = op;
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
      int rank = in[0].rank(); // (the dimensions one by one: shape() copies)
      int ax = Shapes.axis(op.axis(), rank);
      int len = in[0].dim(ax);
      long inner = 1;
      for (int i = ax + 1; i < rank; i++) {
        inner *= in[0].dim(i);
      }
      MemorySegment y = out[0].segment();
      MemorySegment dy = gradOut[0].segment();
      MemorySegment dx = gradIn[0].segment();
      long outer = len * inner == 0 ? 0 : in[0].size() / (len * inner);
      for (long o = 0; o < outer; o++) {
        for (long q = 0; q < inner; q++) {
          long base = o * len * inner + q;
          double dot = 0;
          for (int k = 0; k < len; k++) {
            long at = base + k * inner;
            dot += op.log() ? dy.getAtIndex(F, at) : dy.getAtIndex(F, at) * y.getAtIndex(F, at);
          }
          for (int k = 0; k < len; k++) {
            long at = base + k * inner;
            float g = dy.getAtIndex(F, at);
            float v = y.getAtIndex(F, at);
            dx.setAtIndex(F, at, (float) (op.log() ? g - Math.exp(v) * dot : v * (g - dot)));
          }
        }
      }
    }
  }

  private static final class LastStep extends Stateless {
    private final Op.LastStep op;

    LastStep(CompiledNode kernel, Op.LastStep op) {
      super(kernel);
      this.op = op;
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
      boolean bf = op.batchFirst();
      int steps = in[0].dim(bf ? 1 : 0);
      int batch = in[0].dim(bf ? 0 : 1);
      int c = in[0].dim(2);
      Tensor len = in.length > Op.LastStep.LENGTHS ? in[Op.LastStep.LENGTHS] : null;
      gradIn[0].zero();
      MemorySegment dx = gradIn[0].segment();
      MemorySegment dy = gradOut[0].segment();
      for (int n = 0; n < batch; n++) {
        int t = (len == null ? steps : len.getInt(n)) - 1;
        if (t < 0) {
          continue;
        }
        long base = (long) (bf ? n * steps + t : t * batch + n) * c;
        MemorySegment.copy(dy, (long) n * c * 4, dx, base * 4, (long) c * 4);
      }
    }
  }

  private static final class Dropout implements TrainableNode {
    private final Op.Dropout op;
    private final String name;

    Dropout(Op.Dropout op, String name) {
      this.op = op;
      this.name = name;
    }

    /**
     * A forward's mask, as its stream. A closed one goes back to its workspace's spare slot for the
     * next forward to hand out again, so a training step allocates nothing.
     */
    private static final class Mask implements Saved {
      final Spare spare;
      long stream;
      boolean closed = true;

      Mask(Spare spare) {
        this.spare = spare;
      }

      @Override
      public void close() {
        if (!closed) {
          closed = true;
          spare.mask = this;
        }
      }
    }

    /** Per workspace: a closed mask, or null. */
    private static final class Spare {
      Mask mask;
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      out[0].copyFrom(in[0]);
    }

    @Override
    public Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx) {
      long stream = DropoutStreams.node(ctx, name);
      apply(stream, in[0].segment(), out[0].segment(), in[0].size());
      Spare spare = ctx.cache(this, k -> new Spare());
      Mask m = spare.mask != null ? spare.mask : new Mask(spare);
      spare.mask = null;
      m.stream = stream;
      m.closed = false;
      return m;
    }

    /** {@code to = from ⊙ mask}: the mask is a function of the stream, so backward redraws it. */
    private void apply(long stream, MemorySegment from, MemorySegment to, long n) {
      float scale = DropoutMask.scale(op.p());
      for (long i = 0; i < n; i++) {
        to.setAtIndex(
            F, i, DropoutMask.keep(stream, i, op.p()) ? from.getAtIndex(F, i) * scale : 0f);
      }
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
      if (!(saved instanceof Mask m) || m.closed) {
        throw new IllegalStateException("dropout backward needs its forward's open mask");
      }
      apply(m.stream, gradOut[0].segment(), gradIn[0].segment(), in[0].size());
    }

    @Override
    public void updateWeights(Map<String, Tensor> weights) {}
  }

  /** An inference kernel forward, {@link FoldBackward} backward. */
  private static final class Routed extends Stateless {
    private final Op op;

    Routed(CompiledNode kernel, Op op) {
      super(kernel);
      this.op = op;
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
      FoldBackward.run(op, in, gradOut[0], gradIn);
    }
  }
}
