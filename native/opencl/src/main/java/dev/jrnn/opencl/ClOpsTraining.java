package dev.jrnn.opencl;

import dev.jrnn.Activation;
import dev.jrnn.Tensor;
import dev.jrnn.ir.Node;
import dev.jrnn.ir.Op;
import dev.jrnn.ir.Shapes;
import dev.jrnn.kernels.DropoutMask;
import dev.jrnn.spi.DropoutStreams;
import dev.jrnn.spi.ExecContext;
import dev.jrnn.spi.TrainableNode;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import org.jocl.cl_mem;

/**
 * Training of the ops around the recurrent layers on the device: embedding (grouped column sums of
 * dy per id, no atomics), linear ({@code dx = dy·W}, {@code dW = dyᵀ·x}, {@code db = Σ dy}: 2 GEMMs
 * over transposed operands and a row sum), the activations ({@code dx = dy ⊙ f'(x)}), softmax and
 * log-softmax (from the output), last-step (a scatter into zeros) and dropout (the mask redrawn
 * from its stream): one launch each. Their forward keeps nothing but dropout's stream: backward
 * reads the executor's inputs and outputs again.
 */
final class ClOpsTraining {

  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

  private ClOpsTraining() {}

  /** Nothing kept: the executor's input and output tensors suffice. */
  private static final TrainableNode.Saved NOTHING = () -> {};

  /** A linear layer with its weight, the weight transposed (dx's B) and bias on the device. */
  static final class Linear implements TrainableNode {
    private final OpenClContext owner;
    private final Op.Linear op;
    private final String name;
    private final cl_mem w; // [out, in]
    private final cl_mem wt; // [in, out]
    private final cl_mem b; // [out] or null

    Linear(OpenClContext owner, Op.Linear op, String name, Map<String, Tensor> weights) {
      this.owner = owner;
      this.op = op;
      this.name = name;
      float[] v = weights.get(name + ".weight").toFloatArray();
      w = owner.weights(v);
      wt = owner.weights(transpose(v, op.out(), op.in()));
      b = op.bias() ? owner.weights(weights.get(name + ".bias").toFloatArray()) : null;
    }

    private static float[] transpose(float[] m, int rows, int cols) {
      float[] t = new float[m.length];
      for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
          t[j * rows + i] = m[i * cols + j];
        }
      }
      return t;
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      if (out[0].size() == 0) {
        return;
      }
      int rows = (int) (out[0].size() / op.out());
      Lane lane = owner.lane(ctx);
      try {
        cl_mem x = lane.buffer("in", in[0].byteSize());
        lane.upload(in[0], x, 0);
        cl_mem y = lane.buffer("out", out[0].byteSize());
        lane.gemm(
            rows, op.out(), op.in(), x, 0, op.in(), w, 0, op.in(), y, 0, op.out(), b, 0, false);
        lane.download(y, 0, out[0]);
      } finally {
        lane.finish();
      }
    }

    @Override
    public Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx) {
      run(in, out, ctx);
      return NOTHING;
    }

    @Override
    public void backward(
        Saved saved,
        Tensor[] in,
        Tensor[] out,
        Tensor[] gradOut,
        Tensor[] gradIn,
        Map<String, Tensor> gradWeights,
        ExecContext ctx) {
      Tensor dy = gradOut[0];
      Tensor dx = gradIn != null && gradIn.length > 0 ? gradIn[0] : null;
      if (dy == null || dy.size() == 0) {
        if (dx != null) {
          dx.zero();
        }
        return;
      }
      int rows = (int) (dy.size() / op.out());
      int k = op.in();
      int m = op.out();
      Tensor tW = gradWeights.get(name + ".weight");
      Tensor tb = op.bias() ? gradWeights.get(name + ".bias") : null;
      Lane lane = owner.lane(ctx);
      try {
        cl_mem dyb = lane.buffer("l.dy", dy.byteSize());
        lane.upload(dy, dyb, 0);
        if (dx != null) { // dx [rows, in] = dy · W: Wᵀ is the NT GEMM's B
          cl_mem dxb = lane.buffer("l.dx", dx.byteSize());
          lane.gemm(rows, k, m, dyb, 0, m, wt, 0, m, dxb, 0, k, null, 0, false);
          lane.download(dxb, 0, dx);
        }
        if (tW != null || tb != null) {
          cl_mem dyT = lane.buffer("l.dyT", dy.byteSize());
          lane.launch("transpose", new long[] {rows, m}, null, rows, m, dyb, 0, m, dyT);
          if (tW != null) { // dW [out, in] = dyᵀ · x
            cl_mem x = lane.buffer("l.x", in[0].byteSize());
            lane.upload(in[0], x, 0);
            cl_mem xT = lane.buffer("l.xT", in[0].byteSize());
            lane.launch("transpose", new long[] {rows, k}, null, rows, k, x, 0, k, xT);
            cl_mem g = lane.buffer("l.dW", (long) m * k * 4);
            lane.gemm(m, k, rows, dyT, 0, rows, xT, 0, rows, g, 0, k, null, 0, false);
            add(lane, g, tW);
          }
          if (tb != null) {
            cl_mem g = lane.buffer("l.db", (long) m * 4);
            lane.launch("rowSums", new long[] {m}, null, rows, m, dyT, rows, g);
            add(lane, g, tb);
          }
        }
      } finally {
        lane.finish();
      }
    }

    @Override
    public void updateWeights(Map<String, Tensor> weights) {
      float[] v = weights.get(name + ".weight").toFloatArray();
      owner.write(w, v);
      owner.write(wt, transpose(v, op.out(), op.in()));
      if (b != null) {
        owner.write(b, weights.get(name + ".bias").toFloatArray());
      }
    }
  }

  /**
   * A node without weights whose forward is its inference kernel, built once, and which keeps
   * nothing for backward beyond what the executor holds (inputs and outputs).
   */
  abstract static class Weightless implements TrainableNode {
    final OpenClContext owner;
    private final dev.jrnn.spi.CompiledNode forward;

    Weightless(OpenClContext owner, dev.jrnn.spi.CompiledNode forward) {
      this.owner = owner;
      this.forward = forward;
    }

    @Override
    public final void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      forward.run(in, out, ctx);
    }

    @Override
    public final Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx) {
      run(in, out, ctx);
      return NOTHING;
    }

    @Override
    public final void updateWeights(Map<String, Tensor> weights) {}
  }

  /** An element-wise activation: backward from its input, kept by the executor. */
  static final class Unary extends Weightless {
    private final Activation fn;

    Unary(OpenClContext owner, Activation fn) {
      super(owner, ClOps.unary(owner, fn));
      this.fn = fn;
    }

    @Override
    public void backward(
        Saved saved,
        Tensor[] in,
        Tensor[] out,
        Tensor[] gradOut,
        Tensor[] gradIn,
        Map<String, Tensor> gradWeights,
        ExecContext ctx) {
      Tensor dx = gradIn != null && gradIn.length > 0 ? gradIn[0] : null;
      if (dx == null) {
        return;
      }
      Tensor dy = gradOut[0];
      long n = dx.size();
      if (dy == null || n == 0) {
        dx.zero();
        return;
      }
      Lane lane = owner.lane(ctx);
      try {
        cl_mem x = lane.buffer("in", in[0].byteSize());
        lane.upload(in[0], x, 0);
        cl_mem dyb = lane.buffer("u.dy", dy.byteSize());
        lane.upload(dy, dyb, 0);
        cl_mem dxb = lane.buffer("u.dx", dx.byteSize());
        lane.launch(
            "unaryBackward",
            new long[] {n},
            null,
            (int) n,
            fn.kind().ordinal(),
            fn.alpha(),
            fn.beta(),
            x,
            dyb,
            dxb);
        lane.download(dxb, 0, dx);
      } finally {
        lane.finish();
      }
    }
  }

  /** An embedding table on the device: the gather forward, a grouped column sum backward. */
  static final class Embedding implements TrainableNode {
    private final OpenClContext owner;
    private final Op.Embedding op;
    private final Node node;
    private final cl_mem table; // [vocab, dim]

    Embedding(OpenClContext owner, Op.Embedding op, Node node, Map<String, Tensor> weights) {
      this.owner = owner;
      this.op = op;
      this.node = node;
      this.table = owner.weights(weights.get(node.name() + ".weight").toFloatArray());
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      int[] ids = in[0].toIntArray();
      for (int i = 0; i < ids.length; i++) {
        op.checkId(ids[i], i, node); // on the host: the message names the position
      }
      if (out[0].size() == 0) {
        return;
      }
      Lane lane = owner.lane(ctx);
      try {
        cl_mem idBuf = lane.buffer("ids", ids.length * 4L);
        lane.upload(ids, idBuf);
        cl_mem y = lane.buffer("out", out[0].byteSize());
        lane.launch(
            "embeddingGather",
            new long[] {op.dim(), ids.length},
            null,
            ids.length,
            op.dim(),
            idBuf,
            table,
            y);
        lane.download(y, 0, out[0]);
      } finally {
        lane.finish();
      }
    }

    @Override
    public Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx) {
      run(in, out, ctx);
      return NOTHING;
    }

    @Override
    public void backward(
        Saved saved,
        Tensor[] in,
        Tensor[] out,
        Tensor[] gradOut,
        Tensor[] gradIn,
        Map<String, Tensor> gradWeights,
        ExecContext ctx) {
      Tensor tW = gradWeights.get(node.name() + ".weight");
      Tensor dy = gradOut[0];
      if (tW == null || dy == null || dy.size() == 0) {
        return;
      }
      int[] ids = in[0].toIntArray();
      int dim = op.dim();
      // Positions grouped by id (a stable sort), the distinct ids and where each group starts.
      Integer[] order = new Integer[ids.length];
      for (int i = 0; i < order.length; i++) {
        order[i] = i;
      }
      java.util.Arrays.sort(order, (p, q) -> Integer.compare(ids[p], ids[q]));
      int[] pos = new int[ids.length];
      int[] rows = new int[ids.length];
      int[] start = new int[ids.length + 1];
      int u = 0;
      for (int k = 0; k < order.length; k++) {
        pos[k] = order[k];
        if (k == 0 || ids[order[k]] != ids[order[k - 1]]) {
          rows[u] = ids[order[k]];
          start[u++] = k;
        }
      }
      start[u] = ids.length;
      Lane lane = owner.lane(ctx);
      float[] sums = new float[u * dim];
      try (Tensor tmp = Tensor.allocate(dev.jrnn.DType.F32, u, dim)) {
        cl_mem startBuf = lane.buffer("e.start", (u + 1) * 4L);
        lane.upload(java.util.Arrays.copyOf(start, u + 1), startBuf);
        cl_mem posBuf = lane.buffer("e.pos", ids.length * 4L);
        lane.upload(pos, posBuf);
        cl_mem dyb = lane.buffer("e.dy", dy.byteSize());
        lane.upload(dy, dyb, 0);
        cl_mem g = lane.buffer("e.out", (long) u * dim * 4);
        lane.launch(
            "embeddingBackward", new long[] {dim, u}, null, u, dim, startBuf, posBuf, dyb, g);
        lane.download(g, 0, tmp);
        MemorySegment.copy(tmp.segment(), F, 0, sums, 0, sums.length);
      } finally {
        lane.finish();
      }
      MemorySegment w = tW.segment();
      for (int r = 0; r < u; r++) {
        long at = (long) rows[r] * dim;
        for (int d = 0; d < dim; d++) {
          w.setAtIndex(F, at + d, w.getAtIndex(F, at + d) + sums[r * dim + d]);
        }
      }
    }

    @Override
    public void updateWeights(Map<String, Tensor> weights) {
      owner.write(table, weights.get(node.name() + ".weight").toFloatArray());
    }
  }

  /** Softmax or log-softmax along an axis: backward from the output y, one work-item per line. */
  static final class Softmax extends Weightless {
    private final Op.Softmax op;

    Softmax(OpenClContext owner, Op.Softmax op) {
      super(owner, ClOps.softmax(owner, op));
      this.op = op;
    }

    @Override
    public void backward(
        Saved saved,
        Tensor[] in,
        Tensor[] out,
        Tensor[] gradOut,
        Tensor[] gradIn,
        Map<String, Tensor> gradWeights,
        ExecContext ctx) {
      Tensor dx = gradIn != null && gradIn.length > 0 ? gradIn[0] : null;
      if (dx == null) {
        return;
      }
      Tensor dy = gradOut[0];
      if (dy == null || dx.size() == 0) {
        dx.zero();
        return;
      }
      int rank = in[0].rank();
      int ax = Shapes.axis(op.axis(), rank);
      int len = in[0].dim(ax);
      int inner = 1;
      for (int i = ax + 1; i < rank; i++) {
        inner *= in[0].dim(i);
      }
      int outer = (int) (dx.size() / ((long) len * inner));
      Lane lane = owner.lane(ctx);
      try {
        cl_mem y = lane.buffer("s.y", out[0].byteSize());
        lane.upload(out[0], y, 0);
        cl_mem dyb = lane.buffer("s.dy", dy.byteSize());
        lane.upload(dy, dyb, 0);
        cl_mem dxb = lane.buffer("s.dx", dx.byteSize());
        lane.launch(
            "softmaxBackward",
            new long[] {inner, outer},
            null,
            outer,
            len,
            inner,
            op.log() ? 1 : 0,
            y,
            dyb,
            dxb);
        lane.download(dxb, 0, dx);
      } finally {
        lane.finish();
      }
    }
  }

  /** Each row's last valid step: backward scatters dy there, zeros elsewhere. */
  static final class LastStep extends Weightless {
    private final Op.LastStep op;

    LastStep(OpenClContext owner, Op.LastStep op) {
      super(owner, ClOps.lastStep(owner, op));
      this.op = op;
    }

    @Override
    public void backward(
        Saved saved,
        Tensor[] in,
        Tensor[] out,
        Tensor[] gradOut,
        Tensor[] gradIn,
        Map<String, Tensor> gradWeights,
        ExecContext ctx) {
      Tensor dx = gradIn != null && gradIn.length > 0 ? gradIn[0] : null;
      if (dx == null) {
        return;
      }
      Tensor dy = gradOut[0];
      if (dy == null || dy.size() == 0) {
        dx.zero();
        return;
      }
      boolean bf = op.batchFirst();
      Tensor seq = in[0];
      Tensor lengths = in.length > Op.LastStep.LENGTHS ? in[Op.LastStep.LENGTHS] : null;
      int steps = seq.dim(bf ? 1 : 0);
      int batch = seq.dim(bf ? 0 : 1);
      int c = seq.dim(2);
      Lane lane = owner.lane(ctx);
      try {
        cl_mem len = lane.buffer("len", batch * 4L);
        if (lengths != null) {
          lane.upload(lengths, len, 0);
        }
        cl_mem dyb = lane.buffer("ls.dy", dy.byteSize());
        lane.upload(dy, dyb, 0);
        cl_mem dxb = lane.buffer("ls.dx", dx.byteSize());
        lane.zero(dxb, 0, dx.byteSize());
        lane.launch(
            "lastStepScatter",
            new long[] {c, batch},
            null,
            steps,
            batch,
            c,
            bf ? 1 : 0,
            lengths != null ? 1 : 0,
            len,
            dyb,
            dxb);
        lane.download(dxb, 0, dx);
      } finally {
        lane.finish();
      }
    }
  }

  /**
   * Dropout as a node: in training {@code y = x ⊙ mask}, the mask of the node's stream ({@link
   * DropoutStreams#node}, element i of the flat tensor, as java draws it) made on the device; the
   * forward keeps only the stream, backward redraws the mask for {@code dx = dy ⊙ mask}. Inference
   * is the identity, a host copy.
   */
  static final class Dropout implements TrainableNode {
    private final OpenClContext owner;
    private final Op.Dropout op;
    private final String name;

    Dropout(OpenClContext owner, Op.Dropout op, String name) {
      this.owner = owner;
      this.op = op;
      this.name = name;
    }

    /** A forward's mask, as its stream. */
    private static final class Mask implements Saved {
      final long stream;
      volatile boolean closed;

      Mask(long stream) {
        this.stream = stream;
      }

      @Override
      public void close() {
        closed = true;
      }
    }

    @Override
    public void run(Tensor[] in, Tensor[] out, ExecContext ctx) {
      out[0].copyFrom(in[0]);
    }

    @Override
    public Saved forward(Tensor[] in, Tensor[] out, ExecContext ctx) {
      long stream = DropoutStreams.node(ctx, name);
      apply(stream, in[0], out[0], ctx, "d.x", "d.y");
      return new Mask(stream);
    }

    @Override
    public void backward(
        Saved saved,
        Tensor[] in,
        Tensor[] out,
        Tensor[] gradOut,
        Tensor[] gradIn,
        Map<String, Tensor> gradWeights,
        ExecContext ctx) {
      if (!(saved instanceof Mask m) || m.closed) {
        throw new IllegalStateException("dropout backward needs its forward's open mask");
      }
      Tensor dx = gradIn != null && gradIn.length > 0 ? gradIn[0] : null;
      if (dx == null) {
        return;
      }
      if (gradOut[0] == null) {
        dx.zero();
        return;
      }
      apply(m.stream, gradOut[0], dx, ctx, "d.dy", "d.dx");
    }

    /** {@code to = from ⊙ mask} on the device. */
    private void apply(long stream, Tensor from, Tensor to, ExecContext ctx, String a, String b) {
      long n = from.size();
      if (n == 0) {
        return;
      }
      Lane lane = owner.lane(ctx);
      try {
        cl_mem x = lane.buffer(a, from.byteSize());
        lane.upload(from, x, 0);
        cl_mem y = lane.buffer(b, to.byteSize());
        lane.launch(
            "dropoutFlat",
            new long[] {n},
            null,
            (int) n,
            stream,
            threshold(op.p()),
            DropoutMask.scale(op.p()),
            x,
            y);
        lane.download(y, 0, to);
      } finally {
        lane.finish();
      }
    }

    @Override
    public void updateWeights(Map<String, Tensor> weights) {}
  }

  /** What {@link DropoutMask#keep} compares the top 24 bits of a draw with: rint(p·2²⁴). */
  static int threshold(float p) {
    return (int) Math.rint(p * (double) (1 << 24));
  }

  /** {@code t += } the first {@code t.size()} floats of {@code src} (blocking read). */
  static void add(Lane lane, cl_mem src, Tensor t) {
    try (Tensor tmp = Tensor.allocate(t.dtype(), t.shape())) {
      lane.download(src, 0, tmp);
      MemorySegment a = t.segment();
      MemorySegment b = tmp.segment();
      for (long i = 0; i < t.size(); i++) {
        a.setAtIndex(F, i, a.getAtIndex(F, i) + b.getAtIndex(F, i));
      }
    }
  }
}
